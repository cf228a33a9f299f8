/**
 * Datagrams for state that goes stale: a client streams position updates
 * (sequence number + x, y) as unreliable datagrams; the server keeps only
 * the newest state and counts gaps instead of waiting for retransmissions.
 * Losing an update costs nothing because the next one replaces it.
 *
 * Run: `node packages/examples/dist/datagrams.js`.
 */
import { type Connection, connect, listen } from 'quichex';
import { isMain, localConfigs } from './shared.js';

/** What the server saw. */
export interface TelemetryReport {
  readonly sent: number;
  readonly received: number;
  readonly gaps: number;
  readonly reordered: number;
  readonly lastSeq: number;
  readonly last: { x: number; y: number } | null;
}

/** Encodes one update: u32 sequence, f32 x, f32 y. */
export function encodeUpdate(seq: number, x: number, y: number): Uint8Array {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(seq, 0);
  b.writeFloatBE(x, 4);
  b.writeFloatBE(y, 8);
  return b;
}

/** Sends `count` updates at `intervalMs` and returns what the server observed. */
export async function runTelemetry(count = 200, intervalMs = 1): Promise<TelemetryReport> {
  const configs = await localConfigs('telemetry', { dgram: true });
  let received = 0;
  let gaps = 0;
  let reordered = 0;
  let lastSeq = -1;
  let last: { x: number; y: number } | null = null;
  const track = (conn: Connection): void => {
    conn.on('datagram', (d) => {
      const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      const seq = b.readUInt32BE(0);
      received++;
      if (seq <= lastSeq) {
        reordered++; // older than what we have: stale, ignore it
        return;
      }
      gaps += seq - lastSeq - 1;
      lastSeq = seq;
      last = { x: b.readFloatBE(4), y: b.readFloatBE(8) };
    });
  };
  const listener = await listen({ host: '127.0.0.1', port: 0, config: configs.server, onConnection: track });
  try {
    const conn = await connect({ host: 'localhost', port: listener.address().port, config: configs.client });
    for (let seq = 0; seq < count; seq++) {
      const t = seq / 20;
      try {
        conn.sendDatagram(encodeUpdate(seq, Math.cos(t) * 100, Math.sin(t) * 100));
      } catch {
        // A full send queue drops this update: the next one supersedes it.
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    // Give the last datagrams a moment; there is no acknowledgement to wait for.
    for (let i = 0; i < 50 && lastSeq < count - 1; i++) await new Promise((r) => setTimeout(r, 10));
    await conn.close();
    return { sent: count, received, gaps, reordered, lastSeq, last };
  } finally {
    await listener.close();
    configs.free();
  }
}

if (isMain(import.meta.url)) {
  runTelemetry().then((r) => {
    console.log(`sent ${r.sent} updates, received ${r.received}, gaps ${r.gaps}, stale ${r.reordered}`);
    console.log(`latest state: seq ${r.lastSeq} at (${r.last?.x.toFixed(1)}, ${r.last?.y.toFixed(1)})`);
  });
}
