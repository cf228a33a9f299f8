/**
 * Half-open clients: raw quiche clients (@quichex/ffi) that start a
 * handshake and never finish it — some go silent after their first flight,
 * others keep sending (PTO probes and replays of their first Initial). They
 * follow the server's Retry (their addresses are real), so admission bounds
 * them by `maxHandshakes`, and the handshake timeout drops them.
 *
 * Server: `retryThreshold` 16, `maxHandshakes` 32, no per-address bound
 * (every peer is on 127.0.0.1), `handshakeTimeout` 500 ms.
 *
 * Memory bound: at most 32 half-open connections at once, ~27 KiB each
 * (under 1 MiB), plus socket buffers and the garbage of a few thousand
 * parsed packets: the server's RSS may grow by at most 20 MiB and its heap
 * by 10 MiB while under attack (the measured figures are printed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, MiB, mib, report, serverIdentity, sleep, visit } from './support/common.js';
import { LongType, longLayout, longType, RawPeer } from './support/raw.js';
import { ServerProcess } from './support/server-process.js';

const MAX_HANDSHAKES = 32;
const HANDSHAKE_TIMEOUT = 500;
const RSS_BOUND = 20 * MiB;
const HEAP_BOUND = 10 * MiB;

let server: ServerProcess | null = null;
let peers: RawPeer[] = [];

afterEach(() => {
  server?.kill();
  server = null;
  for (const p of peers) p.free();
  peers = [];
});

async function startServer(): Promise<ServerProcess> {
  const srv = await ServerProcess.start({
    ...serverIdentity(),
    listen: {
      retryThreshold: 16,
      maxHandshakes: MAX_HANDSHAKES,
      maxHandshakesPerAddress: 1_000_000,
      handshakeTimeout: HANDSHAKE_TIMEOUT,
    },
  });
  server = srv;
  // Warm-up, then the baseline after a GC.
  expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
  await srv.until((s) => s.connections === 0, 5000, 'the warm-up connection to close');
  await srv.gc();
  await srv.peakReset();
  return srv;
}

/** Feeds a Retry; drops everything else (the peer then never answers the server). */
const retryOnly = (packet: Buffer): Buffer | null => (longType(packet) === LongType.Retry ? packet : null);

/** Feeds a Retry, and the server's Initial packet cut from its datagram (its Handshake packets dropped). */
function initialOnly(packet: Buffer): Buffer | null {
  const type = longType(packet);
  if (type === LongType.Retry) return packet;
  if (type !== LongType.Initial) return null;
  const layout = longLayout(packet);
  return layout ? packet.subarray(0, layout.end) : null;
}

describe('half-open clients', () => {
  it('200 that go silent after their first flight: at most maxHandshakes held, all dropped after handshakeTimeout', async () => {
    const srv = await startServer();
    const base = await srv.sample();
    peers = await Promise.all(
      Array.from({ length: 200 }, () => RawPeer.open(srv.port, { inbound: retryOnly, timers: false })),
    );
    const opened = performance.now();
    // A legitimate client arrives while every handshake slot is taken.
    const legit = visit(srv.port, clientConfig(), 'legit during', 10_000);
    await sleep(100);
    const held = await srv.sample();
    // The silent peers never send again: every slot they hold frees within the timeout.
    await srv.until((s) => s.stats.handshaking === 0, 5000, 'the half-open connections to time out');
    const dropMs = performance.now() - opened;
    // Dropped without another packet: nothing reaches the peers once their connections are gone.
    const heard = (): number => peers.reduce((n, p) => n + p.counts.received + p.counts.dropped, 0);
    const heardAtDrop = heard();
    await sleep(300);
    const heardAfterDrop = heard() - heardAtDrop;
    const legitVisit = await legit;
    const dropped = await srv.until(
      (s) =>
        s.stats.handshaking === 0 &&
        s.connections === 0 &&
        s.resources.connections === base.resources.connections,
      5000,
      'every connection to be freed',
    );
    const after = await visit(srv.port, clientConfig(), 'after');
    await srv.until((s) => s.connections === 0, 5000, 'the last legitimate connection to close');
    const final = await srv.gc();
    report('half-open, silent', {
      peers: peers.length,
      sentByPeers: peers.reduce((n, p) => n + p.counts.sent, 0),
      peakHandshaking: dropped.peak.handshaking,
      heldAt100ms: held.stats.handshaking,
      statsWhileHeld: held.stats,
      statsDropped: dropped.stats,
      handshakingZeroAfterMs: Math.round(dropMs),
      datagramsToPeersAfterDrop: heardAfterDrop,
      legitJoinMsDuring: Math.round(legitVisit.joinMs),
      legitJoinMsAfter: Math.round(after.joinMs),
      peakRssGrowth: mib(dropped.peak.rss - base.rss),
      peakHeapGrowth: mib(dropped.peak.heapUsed - base.heapUsed),
      rssAfterGc: mib(final.rss - base.rss),
    });

    expect(dropped.peak.handshaking).toBeLessThanOrEqual(MAX_HANDSHAKES);
    expect(dropped.peak.handshaking).toBe(MAX_HANDSHAKES); // the bound was reached, never passed
    // Past the slots, Initials were refused; every admitted stranger timed out.
    expect(dropped.stats.initialsRefused).toBeGreaterThan(0);
    expect(dropped.stats.retriesSent).toBeGreaterThanOrEqual(200 - 16);
    expect(dropped.stats.handshakeTimeouts).toBeGreaterThanOrEqual(MAX_HANDSHAKES);
    expect(dropMs).toBeLessThan(HANDSHAKE_TIMEOUT + 1000);
    expect(heardAfterDrop).toBe(0);
    expect(legitVisit.echoed).toBe('legit during');
    expect(after.echoed).toBe('after');
    expect(dropped.peak.rss - base.rss).toBeLessThan(RSS_BOUND);
    expect(dropped.peak.heapUsed - base.heapUsed).toBeLessThan(HEAP_BOUND);
    expect(final.connections).toBe(0);
  }, 30_000);

  it('50 that keep sending (PTO probes, replayed Initials) for 2 s: bounded, counted, dropped, the server still serves', async () => {
    const srv = await startServer();
    const base = await srv.sample();
    for (let i = 0; i < 50; i++) peers.push(await RawPeer.open(srv.port, { inbound: initialOnly }));
    const joins: number[] = [];
    // 2 s of chatter: every 100 ms each peer replays its first Initial (its timers send PTO probes).
    for (let round = 0; round < 20; round++) {
      await sleep(100);
      for (const p of peers) if (p.firstPacket) p.replay(p.firstPacket);
      if (round % 5 === 2) {
        const v = await visit(srv.port, clientConfig(), `during ${round}`, 10_000);
        expect(v.echoed).toBe(`during ${round}`);
        joins.push(Math.round(v.joinMs));
      }
    }
    const during = await srv.sample();
    const sentByPeers = peers.reduce((n, p) => n + p.counts.sent, 0);
    for (const p of peers) p.free();
    peers = [];
    const dropped = await srv.until(
      (s) =>
        s.stats.handshaking === 0 &&
        s.connections === 0 &&
        s.resources.connections === base.resources.connections,
      5000,
      'the half-open connections to be dropped',
    );
    const after = await visit(srv.port, clientConfig(), 'after');
    await srv.until((s) => s.connections === 0, 5000, 'the last legitimate connection to close');
    const final = await srv.gc();
    report('half-open, chatty', {
      sentByPeers,
      peakHandshaking: dropped.peak.handshaking,
      statsDuring: during.stats,
      statsDropped: dropped.stats,
      legitJoinMsDuring: joins,
      legitJoinMsAfter: Math.round(after.joinMs),
      peakRssGrowth: mib(dropped.peak.rss - base.rss),
      peakHeapGrowth: mib(dropped.peak.heapUsed - base.heapUsed),
      rssAfterGc: mib(final.rss - base.rss),
    });

    expect(sentByPeers).toBeGreaterThan(50 * 20);
    expect(dropped.peak.handshaking).toBeLessThanOrEqual(MAX_HANDSHAKES);
    expect(dropped.stats.handshakeTimeouts).toBeGreaterThanOrEqual(50);
    expect(after.echoed).toBe('after');
    expect(dropped.peak.rss - base.rss).toBeLessThan(RSS_BOUND);
    expect(dropped.peak.heapUsed - base.heapUsed).toBeLessThan(HEAP_BOUND);
    expect(final.connections).toBe(0);
  }, 30_000);
});
