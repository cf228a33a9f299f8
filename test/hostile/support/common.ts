/**
 * What every hostile-peer test shares: certificates, the legitimate client
 * (a real `connect()` and an echo), memory figures, and a paced UDP sender.
 */
import type dgram from 'node:dgram';
import { Config, type Connection, connect } from 'quichex';
import { testCerts } from '../../support/certs.js';
import { within } from '../../support/within.js';

export { testCerts, within };

import { HOST } from './raw.js';

export const MiB = 1024 * 1024;
export const KiB = 1024;

/** The cert/key pair for `ServerProcess.start`. */
export function serverIdentity(): { cert: string; key: string } {
  const c = testCerts();
  return { cert: c.cert, key: c.key };
}

/** A client config trusting the test CA. */
export function clientConfig(options: ConstructorParameters<typeof Config>[0] = {}): Config {
  return new Config({ alpn: ['test'], caFile: testCerts().caCert, ...options });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a bidi stream, sends `text` with FIN and returns what came back. */
export async function echo(conn: Connection, text: string): Promise<string> {
  const stream = await conn.openStream();
  await stream.end(text);
  return (await within(stream.readAll(), 5000, `the echo of ${JSON.stringify(text)}`)).toString();
}

/** A legitimate client's visit: connect (timed), echo, close. */
export interface Visit {
  /** Milliseconds from `connect()` to an established connection. */
  joinMs: number;
  /** What came back from the echo. */
  echoed: string;
}

/** Connects to 127.0.0.1:`port` with a real client, echoes `text`, closes; at most `ms` in all. */
export async function visit(port: number, config: Config, text = 'legit', ms = 10_000): Promise<Visit> {
  const t0 = performance.now();
  const conn = await within(
    connect({ host: HOST, port, config, serverName: 'localhost' }),
    ms,
    'a legitimate connection',
  );
  const joinMs = performance.now() - t0;
  try {
    return { joinMs, echoed: await echo(conn, text) };
  } finally {
    await conn.close();
  }
}

/** Sends `packets` round-robin from `sockets` to 127.0.0.1:`port`, evenly over `ms`, in 5 ms ticks. */
export async function paced(
  sockets: readonly dgram.Socket[],
  packets: readonly Uint8Array[],
  port: number,
  ms: number,
): Promise<{ sent: number; elapsedMs: number }> {
  const t0 = performance.now();
  let sent = 0;
  // Bounded: each tick sends what the schedule says is due; the loop ends when all are out.
  for (let tick = 0; sent < packets.length && tick < 100_000; tick++) {
    const due = Math.min(packets.length, Math.ceil(((performance.now() - t0 + 5) / ms) * packets.length));
    for (; sent < due; sent++) sockets[sent % sockets.length]!.send(packets[sent]!, port, HOST);
    await sleep(5);
  }
  return { sent, elapsedMs: performance.now() - t0 };
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Prints a figure line the report can quote. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  console.log(`[hostile] ${scenario}: ${JSON.stringify(figures)}`);
}
