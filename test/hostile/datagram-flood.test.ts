/**
 * A DATAGRAM flood faster than the application reads: the server enables
 * datagrams (default queues: 1000) and never reads them (no `datagrams()`
 * iteration, no `'datagram'` listener); the peer, a quichex client, sends
 * 50 000 datagrams of the largest size it may (~60 MB in all) as fast as
 * its send queue lets it.
 *
 * The bound: quichex drains quiche's receive queue into the connection's
 * datagram queue, which keeps at most `dgramRecvQueueLen` (1000) and drops
 * the oldest beyond; quiche's own queue is bounded by the same length. So
 * the server holds at most 2 × 1000 × ~1.3 KB ≈ 2.6 MB of datagrams:
 * after a GC with the connection still open, its ArrayBuffer memory may
 * exceed the baseline by at most 1000 × datagram size + 1 MiB. Every
 * datagram read is a new Uint8Array, so until the GC runs the dropped ones
 * are garbage outside the heap, which V8 collects under external-memory
 * pressure: the RSS peak bound is 50 MiB (measured ~26 MiB), the heap bound
 * 10 MiB. Without the queue bound the server would hold the ~65 MB sent.
 */
import { type Connection, connect } from 'quichex';
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, MiB, mib, report, serverIdentity, sleep, visit } from './support/common.js';
import { HOST } from './support/raw.js';
import { ServerProcess } from './support/server-process.js';

const DATAGRAMS = 50_000;
const RSS_BOUND = 50 * MiB;
const HEAP_BOUND = 10 * MiB;

let server: ServerProcess | null = null;
let attacker: Connection | null = null;

afterEach(() => {
  attacker?.destroy();
  attacker = null;
  server?.kill();
  server = null;
});

describe('datagram flood', () => {
  it('50 000 datagrams nobody reads: server memory bounded by dgramRecvQueueLen; others served; all freed', async () => {
    const srv = await ServerProcess.start({ ...serverIdentity(), config: { dgram: true } });
    server = srv;
    expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
    await srv.until((s) => s.connections === 0, 5000, 'the warm-up connection to close');
    const base = await srv.gc();
    await srv.peakReset();

    const conn = await connect({
      host: HOST,
      port: srv.port,
      serverName: 'localhost',
      config: clientConfig({ dgram: true }),
    });
    attacker = conn;
    const size = conn.maxDatagramSize;
    expect(size).toBeGreaterThan(1000);
    const payload = new Uint8Array(size!).fill(0x62);
    let sent = 0;
    let full = 0;
    const t0 = performance.now();
    // Bounded: 50 000 datagrams or 10 s, whichever comes first; yield when the send queue is full.
    while (sent < DATAGRAMS && performance.now() - t0 < 10_000) {
      try {
        conn.sendDatagram(payload);
        sent++;
        if (sent % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      } catch {
        full++;
        await sleep(1);
      }
    }
    const floodMs = performance.now() - t0;
    await sleep(300);
    const during = await srv.sample();
    const retained = await srv.gc(); // what the open connection holds
    const legit = await visit(srv.port, clientConfig(), 'during');
    const attackerStats = conn.stats();
    await conn.close();
    attacker = null;
    const drained = await srv.until(
      (s) => s.connections === 0 && s.resources.connections === base.resources.connections,
      5000,
      'the server to free the flooding connection',
    );
    const final = await srv.gc();
    report('datagram flood', {
      sent,
      datagramBytes: size,
      sentMB: +((sent * size!) / 1e6).toFixed(1),
      sendQueueFullRetries: full,
      floodMs: Math.round(floodMs),
      datagramsPerSecond: Math.round(sent / (floodMs / 1000)),
      attackerDatagramsSent: attackerStats.dgramSent,
      attackerPacketsLost: attackerStats.lost,
      peakRssGrowth: mib(during.peak.rss - base.rss),
      peakHeapGrowth: mib(during.peak.heapUsed - base.heapUsed),
      arrayBuffersGrowth: mib(during.arrayBuffers - base.arrayBuffers),
      arrayBuffersRetainedAfterGc: mib(retained.arrayBuffers - base.arrayBuffers),
      heapRetainedAfterGc: mib(retained.heapUsed - base.heapUsed),
      heapAfterGc: mib(final.heapUsed - base.heapUsed),
      legitJoinMs: Math.round(legit.joinMs),
    });

    expect(sent).toBe(DATAGRAMS);
    expect(during.peak.rss - base.rss).toBeLessThan(RSS_BOUND);
    expect(during.peak.heapUsed - base.heapUsed).toBeLessThan(HEAP_BOUND);
    expect(retained.connections).toBe(1);
    expect(retained.arrayBuffers - base.arrayBuffers).toBeLessThan(1000 * size! + 1 * MiB);
    expect(legit.echoed).toBe('during');
    expect(drained.stats.handshaking).toBe(0);
    expect(final.connections).toBe(0);
    expect(final.arrayBuffers - base.arrayBuffers).toBeLessThan(1 * MiB);
  }, 30_000);
});
