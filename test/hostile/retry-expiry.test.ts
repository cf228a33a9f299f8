/**
 * An expired Retry token: tokens live 10 s (`RetryTokens`, retry.ts), and
 * only the listener's key can re-MAC a timestamp, so the one honest way to
 * get an expired token is to wait. This file mostly sleeps (no CPU) and runs
 * alongside the others.
 *
 * The genuine token-bearing Initial is admitted from its own port while the
 * token is young (the connection is then dropped by the 500 ms handshake
 * timeout); the same packet from the same port 10.5 s after minting is
 * refused as a bad token and creates nothing.
 *
 * Memory bound: one half-open connection at a time; the server's RSS may
 * grow by at most 20 MiB (the V8 young generation regrowing after the
 * baseline GC accounts for ~8-10 MiB of that on its own).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, MiB, mib, report, serverIdentity, sleep, visit } from './support/common.js';
import { ServerProcess } from './support/server-process.js';
import { captureTokenInitial } from './support/tokens.js';

const TOKEN_LIFETIME_MS = 10_000;

let server: ServerProcess | null = null;
const cleanups: Array<() => void> = [];

afterEach(() => {
  server?.kill();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

describe('Retry tokens', () => {
  it('a genuine token is refused once it is older than 10 s', async () => {
    const srv = await ServerProcess.start({
      ...serverIdentity(),
      listen: { retry: true, handshakeTimeout: 500 },
    });
    server = srv;
    expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
    await srv.until((s) => s.connections === 0, 5000, 'the warm-up connection to close');
    const base = await srv.gc();
    await srv.peakReset();
    const captured = await captureTokenInitial(srv.port);
    cleanups.push(() => captured.peer.free());

    captured.peer.replay(captured.packet);
    const young = await srv.until((s) => s.stats.accepted > base.stats.accepted, 2000, 'the young token');
    await srv.until((s) => s.connections === 0, 3000, 'the half-open connection to time out');

    await sleep(Math.max(0, captured.mintedAt + TOKEN_LIFETIME_MS + 500 - Date.now()));
    captured.peer.replay(captured.packet);
    const old = await srv.until((s) => s.stats.badTokens > young.stats.badTokens, 2000, 'the expired token');
    await sleep(100);
    const after = await srv.sample();
    const legit = await visit(srv.port, clientConfig(), 'after');
    report('retry token expiry', {
      youngAccepted: young.stats.accepted - base.stats.accepted,
      expiredBadTokens: old.stats.badTokens - young.stats.badTokens,
      stats: after.stats,
      peakRssGrowth: mib(after.peak.rss - base.rss),
    });

    expect(young.stats.badTokens).toBe(base.stats.badTokens);
    expect(after.stats.badTokens - young.stats.badTokens).toBe(1);
    expect(after.stats.accepted).toBe(young.stats.accepted); // the expired token made nothing
    expect(after.connections).toBe(0);
    expect(after.peak.rss - base.rss).toBeLessThan(20 * MiB);
    expect(legit.echoed).toBe('after');
    const drained = await srv.until((s) => s.connections === 0, 5000, 'the legitimate connection to close');
    expect(drained.resources.connections).toBe(base.resources.connections);
  }, 30_000);
});
