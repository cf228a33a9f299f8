/** `quichex get`: download a file from `quichex serve --mode file` (or any hq-interop server). */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { connect } from 'quichex';
import { parseHostPort, UsageError } from '../errors.js';
import { getH3 } from '../h3.js';
import { request } from '../hq.js';
import { type CommandContext, intOption, parse } from '../options.js';
import { Progress } from '../progress.js';
import { clientConfig } from './connect.js';

export const getHelp = `Usage: quichex get HOST:PORT/PATH --out FILE [options]
       quichex get --h3 https://HOST:PORT/PATH --out FILE [options]

Downloads PATH over hq-interop (GET /PATH) with a progress bar, and checks the
SHA-256 of the result against the server's when the server is quichex. With
--h3, downloads over HTTP/3 (any HTTP/3 server) and checks the length against
content-length.

Options:
  --out FILE         where to write the file (required; "-" for stdout)
  --h3               HTTP/3 (the address may be a full https:// URL)
  --alpn LIST        ALPN (default hq-interop)
  --ca FILE          CA or self-signed certificate to trust (PEM)
  --insecure         do not verify the server certificate (testing only)
  --server-name NAME TLS server name (default: HOST when it is a name)
  --timeout MS       handshake timeout (default 10000)
  -h, --help         this help
`;

export async function get(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string' },
    alpn: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    'server-name': { type: 'string' },
    timeout: { type: 'string' },
    h3: { type: 'boolean' },
  });
  if (values.h3) {
    if (!values.out) throw new UsageError('missing --out FILE');
    const target = positionals[0] ?? '';
    const url = target.startsWith('https://') ? target : `https://${target}`;
    try {
      new URL(url);
    } catch {
      throw new UsageError(`bad URL ${JSON.stringify(target)}`);
    }
    return getH3(
      url,
      {
        out: values.out,
        ca: values.ca ? readFileSync(values.ca) : undefined,
        insecure: values.insecure ?? false,
      },
      ctx,
    );
  }
  const { host, port, rest } = parseHostPort(positionals[0], 'HOST:PORT/PATH');
  if (!rest || rest === '/') throw new UsageError('missing /PATH after HOST:PORT');
  if (!values.out) throw new UsageError('missing --out FILE');
  const config = clientConfig(values, 'hq-interop');
  const conn = await connect({
    host,
    port,
    config,
    serverName: values['server-name'],
    handshakeTimeout: intOption('--timeout', values.timeout, 10_000, 1, 3_600_000),
  });
  try {
    // quichex servers describe the file first (size for the ETA, digest to verify).
    let meta: { size: number; sha256: string } | null = null;
    try {
      const head = await request(conn, 'HEAD', rest);
      const text = (await head.readAll()).toString();
      meta = text ? (JSON.parse(text) as { size: number; sha256: string }) : null;
    } catch {
      // Not a quichex server (HEAD is our extension; others reset it): no
      // size for the ETA, no digest to compare. GET decides whether it exists.
      meta = null;
    }
    const stream = await request(conn, 'GET', rest);
    const out = values.out === '-' ? ctx.out : createWriteStream(values.out);
    const progress = new Progress(ctx.err, meta?.size ?? null);
    const hash = createHash('sha256');
    try {
      for await (const chunk of stream) {
        hash.update(chunk);
        progress.add(chunk.length);
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } catch (err) {
      if ((err as { errorCode?: bigint }).errorCode === 404n)
        throw new UsageError(`${rest}: not found on the server`);
      throw err;
    }
    progress.done();
    if (values.out !== '-')
      await new Promise<void>((resolve, reject) =>
        (out as ReturnType<typeof createWriteStream>).end((e?: Error) => (e ? reject(e) : resolve())),
      );
    const digest = hash.digest('hex');
    if (meta) {
      if (digest !== meta.sha256 || progress.bytes !== meta.size) {
        ctx.err.write(
          `SHA-256 MISMATCH: got ${digest} (${progress.bytes} bytes), server has ${meta.sha256} (${meta.size} bytes)\n`,
        );
        return 1;
      }
      ctx.err.write(`SHA-256 ${digest} verified (${progress.bytes} bytes)\n`);
    } else {
      ctx.err.write(`SHA-256 ${digest} (${progress.bytes} bytes; server gave no digest to compare)\n`);
    }
    await conn.close();
    return 0;
  } finally {
    conn.destroy();
    config.free();
  }
}
