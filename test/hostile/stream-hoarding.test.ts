/**
 * A peer that opens every stream it may (bidi and uni), sends on each as
 * fast as flow control lets it, and never reads a byte of the echoes,
 * against an echo server in a child process. The server's echo of each
 * stream blocks once the peer's windows are full, so it stops reading, and
 * flow control then stops the peer: the server's memory is bounded by its
 * windows × its stream limits, whatever the peer tries to send (here 1 MiB
 * per stream, 200 MiB in all).
 *
 * The bound, per variant (streams S = initialMaxStreamsBidi +
 * initialMaxStreamsUni = 200; the attacker's own windows are 16 KiB per
 * stream and 1 MiB per connection):
 * - receive side (quiche's stream buffers): at most
 *   min(S × per-stream window, connection window), the windows being the
 *   server's initialMaxStreamDataBidiRemote / initialMaxStreamDataUni and
 *   initialMaxData as auto-tuned by quiche up to maxStreamWindow /
 *   maxConnectionWindow;
 * - send side: what the echo handed quiche and the peer did not ACK, at
 *   most the peer's credit (1 MiB here);
 * - JS: one chunk in flight per echoing stream, at most min(window, 64 KiB)
 *   each (the read buffer is 64 KiB).
 * - small windows: 200 × 32 KiB = 6.25 MiB received, ≤ 1 MiB to send,
 *   ≤ 200 × 32 KiB = 6.25 MiB of chunks: ~14 MiB; RSS bound 30 MiB (with
 *   ~10 MiB of allocator and young-generation regrowth after the GC that
 *   precedes each round), heap bound 15 MiB.
 * - defaults (1 MiB per stream, 10 MiB per connection auto-tuned up to
 *   quiche's 24 MiB cap): ≤ 24 MiB received, ≤ 1 MiB to send, ≤ 200 ×
 *   64 KiB = 12.5 MiB of chunks: ~38 MiB; RSS bound 64 MiB, heap bound
 *   25 MiB. Without flow control it would be the 200 MiB sent.
 */
import { Buffer } from 'node:buffer';
import { type Connection, connect, type Stream } from 'quichex';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clientConfig,
  KiB,
  MiB,
  mib,
  report,
  serverIdentity,
  sleep,
  type Visit,
  visit,
  within,
} from './support/common.js';
import { HOST } from './support/raw.js';
import { ServerProcess, type ServerSample } from './support/server-process.js';

let server: ServerProcess | null = null;
let attacker: Connection | null = null;

afterEach(async () => {
  attacker?.destroy();
  attacker = null;
  server?.kill();
  server = null;
});

interface Variant {
  name: string;
  config: Record<string, unknown>;
  rssBound: number;
  heapBound: number;
}

const variants: Variant[] = [
  {
    name: 'small windows (32 KiB per stream)',
    config: {
      initialMaxStreamDataBidiRemote: 32 * KiB,
      initialMaxStreamDataUni: 32 * KiB,
      maxStreamWindow: 32 * KiB,
    },
    rssBound: 30 * MiB,
    heapBound: 15 * MiB,
  },
  { name: 'default windows', config: {}, rssBound: 64 * MiB, heapBound: 25 * MiB },
];

const PER_STREAM = 1 * MiB;

describe('a peer that opens every stream, sends on each and never reads', () => {
  for (const v of variants) {
    it(`${v.name}: server memory bounded by windows × streams; others served; all freed`, async () => {
      const srv = await ServerProcess.start({ ...serverIdentity(), config: v.config });
      server = srv;
      expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
      await srv.until((s) => s.connections === 0, 5000, 'the warm-up connection to close');
      const base = await srv.gc();
      await srv.peakReset();

      const rounds: Round[] = [];
      // Two rounds: the second is bounded the same way, and nothing of either is kept.
      for (let r = 0; r < 2; r++) rounds.push(await hoard(srv, base));
      const final = await srv.gc();
      for (const [i, round] of rounds.entries())
        report(`stream hoarding, ${v.name}, round ${i + 1}`, {
          opened: round.opened,
          serverStreams: round.full.streams,
          attackerSentBytes: round.sentBytes,
          peakRssGrowth: mib(round.full.peak.rss - round.before.rss),
          peakHeapGrowth: mib(round.full.peak.heapUsed - round.before.heapUsed),
          arrayBuffersGrowth: mib(round.full.arrayBuffers - round.before.arrayBuffers),
          legitJoinMs: Math.round(round.legit.joinMs),
        });
      report(`stream hoarding, ${v.name}, after`, {
        rssAfterCloseAndGc: mib(final.rss - base.rss),
        heapAfterCloseAndGc: mib(final.heapUsed - base.heapUsed),
        arrayBuffersAfterCloseAndGc: mib(final.arrayBuffers - base.arrayBuffers),
      });

      for (const { opened, before, full, legit, drained } of rounds) {
        expect(opened).toEqual({ bidi: 100, uni: 100 });
        // Every stream reached the server (bidi in, uni in, and the uni streams of the echo).
        expect(full.streams[0]).toBeGreaterThanOrEqual(200);
        expect(full.peak.rss - before.rss).toBeLessThan(v.rssBound);
        expect(full.peak.heapUsed - before.heapUsed).toBeLessThan(v.heapBound);
        expect(legit.echoed).toBe('while hoarded');
        expect(drained.stats.handshaking).toBe(0);
      }
      // Nothing of either round is kept: no JS objects (Streams, chunks) and no buffers survive a GC.
      // (RSS itself stays near its high-water mark: the allocator keeps freed pages; a run of 4000
      // connections in a row plateaus at +25 MiB, so that is not a leak.)
      expect(final.heapUsed - base.heapUsed).toBeLessThan(2 * MiB);
      expect(final.arrayBuffers - base.arrayBuffers).toBeLessThan(1 * MiB);
      expect(final.connections).toBe(0);
      expect(final.handlerErrors).toBe(0);
    }, 30_000);
  }
});

interface Round {
  opened: { bidi: number; uni: number };
  sentBytes: number;
  /** The server just before the round (after a GC). */
  before: ServerSample;
  full: ServerSample;
  legit: Visit;
  drained: ServerSample;
}

/** One attack: open every stream, send on each, never read; then close and wait for the server to free it. */
async function hoard(srv: ServerProcess, base: ServerSample): Promise<Round> {
  const before = await srv.gc();
  await srv.peakReset();
  const conn = await connect({
    host: HOST,
    port: srv.port,
    serverName: 'localhost',
    config: clientConfig({
      initialMaxData: 1 * MiB,
      initialMaxStreamDataBidiLocal: 16 * KiB,
      initialMaxStreamDataUni: 16 * KiB,
    }),
  });
  attacker = conn;
  const payload = Buffer.alloc(PER_STREAM, 0x61);
  const opened = { bidi: 0, uni: 0 };
  const streams: Stream[] = [];
  // Open until the server's limits say no (bounded: 1000 attempts of each kind).
  for (const kind of ['bidi', 'uni'] as const) {
    for (let i = 0; i < 1000; i++) {
      try {
        streams.push(
          kind === 'bidi'
            ? await conn.openStream({ wait: false })
            : await conn.openUniStream({ wait: false }),
        );
      } catch {
        break;
      }
      opened[kind]++;
    }
  }
  // A little on every stream first (so each one reaches the server), then 1 MiB more on each.
  await within(
    Promise.all(streams.map((s) => s.write(payload.subarray(0, 8 * KiB)))),
    5000,
    'the first 8 KiB on every stream',
  );
  const writes = streams.map((s) => s.write(payload).catch(() => undefined));
  // Let the server fill up: it plateaus once every window is full (at most 4 s).
  let last = await srv.sample();
  for (let i = 0; i < 40; i++) {
    await sleep(100);
    const s = await srv.sample();
    if (i >= 10 && Math.abs(s.rss - last.rss) < 256 * KiB) break;
    last = s;
  }
  const full = await srv.sample();
  const legit = await visit(srv.port, clientConfig(), 'while hoarded');
  const sentBytes = Number(conn.stats().sentBytes ?? 0);
  await conn.close({ errorCode: 0, reason: 'done' });
  attacker = null;
  await Promise.all(writes);
  const drained = await srv.until(
    (s) => s.connections === 0 && s.resources.connections === base.resources.connections,
    5000,
    'the server to free the hoarding connection',
  );
  return { opened, sentBytes, before, full, legit, drained };
}
