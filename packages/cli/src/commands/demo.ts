/** `quichex demo`. */
import { formatSummary, runDemo } from '../demo.js';
import { type CommandContext, intOption, parse, sizeOption } from '../options.js';

export { demoHelp } from '../demo.js';

export async function demo(argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { bytes: { type: 'string' }, streams: { type: 'string' } });
  const summary = await runDemo({
    bulkBytes: sizeOption('--bytes', values.bytes, 32 * 1024 * 1024),
    streams: intOption('--streams', values.streams, 8, 1, 1000),
  });
  ctx.out.write(`${formatSummary(summary)}\n`);
  return summary.bulkSha256Match ? 0 : 1;
}
