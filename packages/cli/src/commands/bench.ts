/** `quichex bench`: throughput and request/response latency against `quichex serve`. */
import { type Connection, connect } from 'quichex';
import { parseHostPort } from '../errors.js';
import { type CommandContext, intOption, parse, sizeOption } from '../options.js';
import { clientConfig } from './connect.js';

export const benchHelp = `Usage: quichex bench HOST:PORT [options]

Measures against a quichex server (quichex serve; --mode discard for uploads,
--mode echo for --rr). Prints throughput, latency percentiles and the
connection's statistics.

Options:
  --bytes SIZE       bytes to upload, e.g. 100M (default 64M)
  --streams N        parallel streams sharing the upload (default 1)
  --duration SEC     upload for SEC seconds instead of a fixed size
  --rr N             N request/response round trips of 32 bytes on one stream
                     (needs an echo server) instead of an upload
  --alpn LIST        ALPN (default quichex)
  --ca FILE          CA or self-signed certificate to trust (PEM)
  --insecure         do not verify the server certificate (testing only)
  -h, --help         this help
`;

/** Percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function bench(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    bytes: { type: 'string' },
    streams: { type: 'string' },
    duration: { type: 'string' },
    rr: { type: 'string' },
    alpn: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
  });
  const { host, port } = parseHostPort(positionals[0]);
  const config = clientConfig(values, 'quichex');
  const conn = await connect({ host, port, config });
  try {
    if (values.rr !== undefined) {
      await roundTrips(conn, intOption('--rr', values.rr, 1000, 1, 10_000_000), ctx);
    } else {
      const streams = intOption('--streams', values.streams, 1, 1, 1000);
      const durationSec =
        values.duration === undefined ? null : intOption('--duration', values.duration, 10, 1, 3600);
      await upload(conn, sizeOption('--bytes', values.bytes, 64 * 1024 * 1024), streams, durationSec, ctx);
    }
    const st = conn.stats();
    const path = conn.pathStats()[0];
    ctx.out.write(
      `connection: ${st.sent} packets sent, ${st.recv} received, ${st.lost} lost; ` +
        `RTT ${(Number(path?.rtt ?? 0) / 1e6).toFixed(3)} ms, cwnd ${path?.cwnd ?? 0} bytes\n`,
    );
    await conn.close();
    return 0;
  } finally {
    conn.destroy();
    config.free();
  }
}

async function upload(
  conn: Connection,
  bytes: number,
  streams: number,
  durationSec: number | null,
  ctx: CommandContext,
): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const deadline = durationSec === null ? Number.POSITIVE_INFINITY : performance.now() + durationSec * 1000;
  const perStream = Math.ceil(bytes / streams);
  const t0 = performance.now();
  const sent = await Promise.all(
    Array.from({ length: streams }, async () => {
      const s = await conn.openStream();
      const drained = s.readAll();
      let n = 0;
      while (
        (durationSec === null ? n < perStream : performance.now() < deadline) &&
        n < Number.MAX_SAFE_INTEGER
      ) {
        const len = durationSec === null ? Math.min(chunk.length, perStream - n) : chunk.length;
        await s.write(len === chunk.length ? chunk : chunk.subarray(0, len));
        n += len;
      }
      await s.end();
      await drained; // the server ends its side once it has read everything
      return n;
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const total = sent.reduce((a, b) => a + b, 0);
  ctx.out.write(
    `upload: ${(total / 1e6).toFixed(1)} MB on ${streams} stream(s) in ${secs.toFixed(2)} s = ${(total / 1e6 / secs).toFixed(1)} MB/s (${((total * 8) / 1e6 / secs).toFixed(0)} Mbit/s)\n`,
  );
}

async function roundTrips(conn: Connection, count: number, ctx: CommandContext): Promise<void> {
  const s = await conn.openStream();
  const msg = Buffer.alloc(32, 0x62);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await s.write(msg);
    let got = 0;
    while (got < msg.length) {
      const c = await s.read();
      if (c === null) throw new Error('the server ended the stream: is it in echo mode?');
      got += c.length;
    }
    samples.push((performance.now() - t) * 1000);
  }
  await s.end();
  samples.sort((a, b) => a - b);
  const f = (p: number): string => `${percentile(samples, p).toFixed(0)} µs`;
  ctx.out.write(
    `request/response (${count} × 32 B): p50 ${f(50)}, p90 ${f(90)}, p99 ${f(99)}, max ${f(100)}\n`,
  );
}
