/** `quichex connect`: talk to a QUIC server from the terminal. */
import { createWriteStream, readFileSync } from 'node:fs';
import { Config, type Connection, connect } from 'quichex';
import { parseHostPort, UsageError } from '../errors.js';
import { type CommandContext, intOption, parse } from '../options.js';

export const connectHelp = `Usage: quichex connect HOST:PORT [options]

Connects, sends data on one or more bidi streams, and prints (or saves) what
comes back. Without --send, sends nothing and just reports the handshake.

Options:
  --alpn LIST        comma-separated ALPN protocols (default quichex)
  --ca FILE          CA or self-signed certificate to trust (PEM)
  --insecure         do not verify the server certificate (testing only)
  --server-name NAME TLS server name (default: HOST when it is a name)
  --send FILE|-      data to send on each stream ("-" reads stdin)
  --out FILE         write what comes back to FILE (default stdout)
  --streams N        send the data on N concurrent streams (default 1)
  --datagram TEXT    send TEXT as a datagram and print the echo
  --timeout MS       handshake timeout (default 10000)
  -h, --help         this help
`;

/** A client config from the common --alpn/--ca/--insecure options. */
export function clientConfig(
  values: { alpn?: string; ca?: string; insecure?: boolean },
  defaultAlpn: string,
): Config {
  const alpn = (values.alpn ?? defaultAlpn).split(',').filter(Boolean);
  if (values.ca && values.insecure) throw new UsageError('--ca and --insecure exclude each other');
  return new Config({
    alpn,
    dgram: true,
    ...(values.ca ? { ca: readFileSync(values.ca) } : {}),
    ...(values.insecure ? { verifyPeer: false } : {}),
  });
}

export async function connectCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    alpn: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    'server-name': { type: 'string' },
    send: { type: 'string' },
    out: { type: 'string' },
    streams: { type: 'string' },
    datagram: { type: 'string' },
    timeout: { type: 'string' },
  });
  const { host, port } = parseHostPort(positionals[0]);
  const streams = intOption('--streams', values.streams, 1, 1, 10_000);
  const config = clientConfig(values, 'quichex');
  let conn: Connection | undefined;
  try {
    conn = await connect({
      host,
      port,
      config,
      serverName: values['server-name'],
      handshakeTimeout: intOption('--timeout', values.timeout, 10_000, 1, 3_600_000),
    });
    const info = conn.info();
    ctx.err.write(`connected to ${info.remoteAddress}:${info.remotePort} (ALPN ${info.alpn})\n`);
    if (values.datagram !== undefined) {
      const echo = conn.receiveDatagram({ signal: AbortSignal.timeout(2000) }).catch(() => null);
      conn.sendDatagram(values.datagram);
      const d = await echo;
      ctx.out.write(
        d ? `datagram echo: ${Buffer.from(d).toString()}\n` : 'datagram echo: (none within 2 s)\n',
      );
    }
    if (values.send !== undefined) {
      const data = values.send === '-' ? await readAll(process.stdin) : readFileSync(values.send);
      const sink = values.out ? createWriteStream(values.out) : ctx.out;
      const c = conn;
      const replies = await Promise.all(
        Array.from({ length: streams }, async () => {
          const s = await c.openStream();
          const reply = s.readAll();
          await s.end(data);
          return reply;
        }),
      );
      for (const r of replies) sink.write(r);
      if (values.out)
        await new Promise<void>((resolve) => (sink as ReturnType<typeof createWriteStream>).end(resolve));
      ctx.err.write(
        `sent ${data.length} bytes on ${streams} stream(s), received ${replies.reduce((n, r) => n + r.length, 0)} bytes\n`,
      );
    }
    await conn.close();
    return 0;
  } finally {
    conn?.destroy();
    config.free();
  }
}

async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}
