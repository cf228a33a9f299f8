/**
 * The `quichex` command line, callable in-process (tests) or from `bin.ts`.
 *
 * @module
 */
import { bench, benchHelp } from './commands/bench.js';
import { connectCommand, connectHelp } from './commands/connect.js';
import { demo, demoHelp } from './commands/demo.js';
import { get, getHelp } from './commands/get.js';
import { serve, serveHelp } from './commands/serve.js';
import { exitCode, explain, UsageError } from './errors.js';
import type { CommandContext } from './options.js';

export { generateLocalCertificate, localCertificateFiles } from './certificates.js';
export { type DemoSummary, formatSummary, runDemo } from './demo.js';
export type { CommandContext } from './options.js';

const commands: Record<
  string,
  { run: (argv: string[], ctx: CommandContext) => Promise<number>; help: string; summary: string }
> = {
  serve: { run: serve, help: serveHelp, summary: 'run a QUIC server (echo, discard or file mode)' },
  connect: {
    run: connectCommand,
    help: connectHelp,
    summary: 'connect to a server, send data, print replies',
  },
  get: {
    run: get,
    help: getHelp,
    summary: 'download a file over hq-interop with progress and SHA-256 check',
  },
  bench: { run: bench, help: benchHelp, summary: 'measure throughput and request/response latency' },
  demo: { run: demo, help: demoHelp, summary: 'run a client and server in-process and summarise' },
};

/** Top-level help. */
export const usage = `Usage: quichex <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`)
  .join('\n')}

Run "quichex <command> --help" for a command's options.
`;

/** Runs the CLI; returns the exit code. Errors become one line on stderr. */
export async function run(
  argv: string[],
  ctx: CommandContext = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    ctx.out.write(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    ctx.err.write(`quichex: unknown command ${JSON.stringify(name)}\n\n${usage}`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    ctx.out.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    ctx.err.write(`quichex ${name}: ${explain(err)}\n`);
    if (err instanceof UsageError) ctx.err.write(`Run "quichex ${name} --help" for usage.\n`);
    return exitCode(err);
  }
}
