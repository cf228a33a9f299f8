/** `quichex serve`: an echo, discard or file server. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { Config, type Connection, listen, type Stream } from 'quichex';
import { localCertificateFiles } from '../certificates.js';
import { UsageError } from '../errors.js';
import { serveH3 } from '../h3.js';
import { HQ_ALPN, serveFileStream } from '../hq.js';
import { type CommandContext, intOption, parse } from '../options.js';

export const serveHelp = `Usage: quichex serve [options]

Runs a QUIC server until interrupted (Ctrl-C closes every connection gracefully).

Options:
  --host ADDR        address to bind (default ::, dual-stack)
  --port N           UDP port (default 4433; 0 picks a free one)
  --cert FILE        certificate chain (PEM); without it a self-signed certificate
                     for localhost is generated once and reused
  --key FILE         private key (PEM), with --cert
  --alpn LIST        comma-separated ALPN protocols (default: quichex, or hq-interop
                     in file mode)
  --mode MODE        echo (default): streams and datagrams come back
                     discard: data is read and dropped (for upload benchmarks)
                     file: hq-interop file server (GET /path) rooted at --root
  --root DIR         directory served in file mode (default .)
  --h3               HTTP/3 static file server for --dir (GET and HEAD, content
                     types and lengths, 404 and 405); --alpn and --mode do not apply
  --dir DIR          directory served with --h3 (default .; same as --root)
  --retry            require address validation with a Retry round-trip
  --max-connections N  refuse clients beyond N live connections
  --qlog-dir DIR     write one qlog file per connection into DIR
  -h, --help         this help
`;

export async function serve(argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    alpn: { type: 'string' },
    mode: { type: 'string' },
    root: { type: 'string' },
    retry: { type: 'boolean' },
    'max-connections': { type: 'string' },
    'qlog-dir': { type: 'string' },
    h3: { type: 'boolean' },
    dir: { type: 'string' },
  });
  const mode = values.mode ?? 'echo';
  if (mode !== 'echo' && mode !== 'discard' && mode !== 'file') {
    throw new UsageError(`bad --mode ${JSON.stringify(mode)}: use echo, discard or file`);
  }
  if (Boolean(values.cert) !== Boolean(values.key)) throw new UsageError('--cert and --key go together');
  const port = intOption('--port', values.port, 4433, 0, 65535);
  const root = path.resolve(values.dir ?? values.root ?? '.');
  let certChainFile = values.cert;
  let privKeyFile = values.key;
  if (!certChainFile || !privKeyFile) {
    const dir = path.join(process.env.XDG_CONFIG_HOME ?? path.join(homedir(), '.config'), 'quichex');
    const local = await localCertificateFiles(dir);
    certChainFile = local.certFile;
    privKeyFile = local.keyFile;
    ctx.err.write(
      `${local.created ? 'generated' : 'using'} self-signed certificate ${local.certFile}\n` +
        `  SHA-256 fingerprint ${local.fingerprint}\n  clients: --ca ${local.certFile} (or --insecure)\n`,
    );
  }
  if (values.h3) {
    await serveH3(
      {
        host: values.host,
        port,
        cert: readFileSync(certChainFile),
        key: readFileSync(privKeyFile),
        root,
        qlogDir: values['qlog-dir'],
      },
      ctx,
      stopSignal(ctx),
    );
    return 0;
  }
  const alpn = (values.alpn ?? (mode === 'file' ? HQ_ALPN : 'quichex')).split(',').filter(Boolean);
  const config = new Config({
    alpn,
    certChainFile,
    privKeyFile,
    dgram: true,
    earlyData: true,
    initialMaxStreamsBidi: 1000,
    initialMaxStreamsUni: 100,
  });
  const listener = await listen({
    host: values.host,
    port,
    config,
    retry: values.retry ?? false,
    maxConnections:
      values['max-connections'] === undefined
        ? undefined
        : intOption('--max-connections', values['max-connections'], 0, 0, 10_000_000),
    qlogDir: values['qlog-dir'],
    onConnection: (conn) => handle(conn, mode, root, ctx),
  });
  const a = listener.address();
  ctx.out.write(
    `listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port} (mode ${mode}, ALPN ${alpn.join(',')})\n`,
  );
  await stopSignal(ctx);
  ctx.err.write('closing: waiting for connections to close\n');
  await listener.close();
  config.free();
  return 0;
}

/** Resolves on SIGINT, SIGTERM or the context's abort. */
function stopSignal(ctx: CommandContext): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    ctx.signal?.addEventListener('abort', stop, { once: true });
  });
}

async function handle(
  conn: Connection,
  mode: 'echo' | 'discard' | 'file',
  root: string,
  ctx: CommandContext,
): Promise<void> {
  const peer = conn.remoteAddress;
  ctx.err.write(`connection from ${peer.address}:${peer.port} (${conn.info().alpn})\n`);
  conn.on('datagram', (d) => {
    if (mode !== 'echo') return;
    try {
      conn.sendDatagram(d);
    } catch {
      // best effort, like the datagram itself
    }
  });
  void conn.closed.then((info) =>
    ctx.err.write(`connection from ${peer.address}:${peer.port} closed: ${info.code} ${info.errorCode}\n`),
  );
  for await (const stream of conn.streams())
    void serveStream(conn, stream, mode, root).catch(() => undefined);
}

async function serveStream(
  conn: Connection,
  stream: Stream,
  mode: 'echo' | 'discard' | 'file',
  root: string,
): Promise<void> {
  if (mode === 'file') {
    if (stream.direction === 'bidi') await serveFileStream(stream, root);
    return;
  }
  if (mode === 'discard') {
    for await (const _ of stream) {
      // dropped
    }
    if (stream.direction === 'bidi') await stream.end();
    return;
  }
  const out = stream.direction === 'bidi' ? stream : await conn.openUniStream();
  for await (const chunk of stream) await out.write(chunk);
  await out.end();
}
