/**
 * Retry tokens under attack, against a `retry: true` listener in a child
 * process. A genuine token is captured (a raw client follows the Retry; its
 * token-bearing Initial is held back), then sent: from another source port
 * (tokens bind address AND port), with the token truncated, bit-flipped,
 * forged (well-formed, current timestamp, made-up MAC), stale-looking
 * (a timestamp 60 s old, which nobody can re-MAC without the key), empty of
 * its MAC, and extended. Each is refused: `badTokens` and `initialsRefused`
 * count it, and no connection is created. The genuine packet from its own
 * port is then admitted, which shows the token itself was good. (Expiry of
 * a genuine token is in retry-expiry.test.ts: it takes 10 s.)
 *
 * Memory bound: refusing a bad token allocates nothing that outlives the
 * packet (a header parse and an HMAC). Had each of 5000 forged-token
 * Initials cost a quiche connection (~27 KiB), that would be ~130 MiB; the
 * server's RSS may grow by at most 20 MiB (of which ~8-10 MiB is the V8
 * young generation and allocator regrowing after the baseline GC, measured
 * the same with no attack at all) and its heap by 5 MiB; nothing is held,
 * so connections stay 0.
 */
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, MiB, mib, paced, report, serverIdentity, sleep, visit } from './support/common.js';
import { bindUdp, closeUdp, HOST, withToken } from './support/raw.js';
import { ServerProcess, type ServerSample } from './support/server-process.js';
import { captureTokenInitial } from './support/tokens.js';

const RSS_BOUND = 20 * MiB;
const HEAP_BOUND = 5 * MiB;

let server: ServerProcess | null = null;
let sockets: dgram.Socket[] = [];
const cleanups: Array<() => void> = [];

afterEach(() => {
  server?.kill();
  server = null;
  for (const s of sockets) closeUdp(s);
  sockets = [];
  for (const c of cleanups.splice(0)) c();
});

/** A forged token in our layout: `issuedAtMs (8) | odcidLen (1) | odcid | mac (16)`. */
function forge(
  issuedAtMs: number,
  odcid: Uint8Array = randomBytes(16),
  mac: Uint8Array = randomBytes(16),
): Buffer {
  const issued = Buffer.alloc(8);
  issued.writeBigUInt64BE(BigInt(issuedAtMs));
  return Buffer.concat([issued, Buffer.from([odcid.length]), odcid, mac]);
}

function flipBit(token: Buffer, bit: number): Buffer {
  const t = Buffer.from(token);
  t[bit >> 3] = t[bit >> 3]! ^ (1 << (bit & 7));
  return t;
}

describe('Retry tokens', () => {
  it('a token from another port, truncated, bit-flipped or forged is refused and creates nothing; the genuine one is admitted', async () => {
    const srv = await ServerProcess.start({
      ...serverIdentity(),
      listen: { retry: true, handshakeTimeout: 500 },
    });
    server = srv;
    expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
    await srv.until((s) => s.connections === 0, 5000, 'the warm-up connection to close');
    const captured = await captureTokenInitial(srv.port);
    cleanups.push(() => captured.peer.free());
    const { packet, token } = captured;
    const other = await bindUdp();
    sockets.push(other);
    const send = (socket: dgram.Socket, p: Uint8Array): Promise<void> =>
      new Promise((resolve, reject) => socket.send(p, srv.port, HOST, (e) => (e ? reject(e) : resolve())));
    const before = await srv.sample();

    const cases: Array<[string, Buffer]> = [
      ['truncated by one byte', withToken(packet, token.subarray(0, token.length - 1))],
      ['truncated to its timestamp', withToken(packet, token.subarray(0, 8))],
      ['MAC removed', withToken(packet, token.subarray(0, token.length - 16))],
      ['one byte appended', withToken(packet, Buffer.concat([token, Buffer.from([0])]))],
      ['bit flipped in the timestamp', withToken(packet, flipBit(token, 60))],
      ['bit flipped in the ODCID length', withToken(packet, flipBit(token, 64))],
      ['bit flipped in the ODCID', withToken(packet, flipBit(token, 72 + 3))],
      ['bit flipped in the MAC', withToken(packet, flipBit(token, token.length * 8 - 1))],
      [
        'forged (made-up MAC, now)',
        withToken(packet, forge(Date.now(), token.subarray(9, token.length - 16))),
      ],
      ['forged, 60 s old', withToken(packet, forge(Date.now() - 60_000))],
      ['forged, issued in the future', withToken(packet, forge(Date.now() + 60_000))],
      ['random bytes', withToken(packet, randomBytes(token.length))],
      ['a 300-byte token', withToken(packet, randomBytes(300))],
    ];
    const results: Record<string, number> = {};
    let expected = 0;
    // The genuine token, from another port of the same address.
    await send(other, packet);
    expected++;
    let s: ServerSample = await srv.until(
      (x) => x.stats.badTokens >= expected,
      2000,
      'the replay to be refused',
    );
    results['genuine, from another port'] = s.stats.badTokens - before.stats.badTokens;
    expect(s.connections).toBe(0);
    for (const [name, p] of cases) {
      await send(other, p);
      expected++;
      s = await srv.until((x) => x.stats.badTokens >= expected, 2000, `the ${name} token to be refused`);
      results[name] = s.stats.badTokens;
      expect(s.connections, name).toBe(0);
    }
    const refused = await srv.sample();
    // The same packet from the port it was minted for is admitted (the token was good).
    captured.peer.replay(packet);
    const admitted = await srv.until(
      (x) => x.stats.accepted > refused.stats.accepted,
      2000,
      'the genuine token',
    );
    report('retry tokens', {
      tokenBytes: token.length,
      badTokensAfterEachCase: results,
      refused: refused.stats,
    });

    expect(refused.stats.badTokens - before.stats.badTokens).toBe(cases.length + 1);
    expect(refused.stats.initialsRefused - before.stats.initialsRefused).toBe(cases.length + 1);
    expect(refused.stats.accepted).toBe(before.stats.accepted);
    expect(refused.resources.connections).toBe(before.resources.connections);
    expect(admitted.stats.badTokens).toBe(refused.stats.badTokens);
    // The admitted, never-continued connection is dropped by the handshake timeout.
    const drained = await srv.until(
      (x) => x.connections === 0 && x.stats.handshaking === 0,
      5000,
      'the admitted connection to time out',
    );
    expect(drained.stats.handshakeTimeouts).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('5000 forged-token Initials from 50 ports: all refused, no state, bounded memory, legit clients still served', async () => {
    const srv = await ServerProcess.start({ ...serverIdentity(), listen: { retry: true } });
    server = srv;
    expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
    await srv.until((x) => x.connections === 0, 5000, 'the warm-up connection to close');
    const captured = await captureTokenInitial(srv.port);
    cleanups.push(() => captured.peer.free());
    const base = await srv.gc();
    await srv.peakReset();
    const forged = Array.from({ length: 5000 }, (_, i) =>
      withToken(
        captured.packet,
        forge(Date.now() - (i % 20_000), captured.token.subarray(9, captured.token.length - 16)),
      ),
    );
    for (let i = 0; i < 50; i++) sockets.push(await bindUdp());
    const flood = paced(sockets, forged, srv.port, 1000);
    await sleep(300);
    const during = await visit(srv.port, clientConfig(), 'during');
    await flood;
    const end = await srv.until((x) => x.stats.badTokens >= 4900, 5000, 'the forged tokens to be counted');
    await sleep(200);
    const settled = await srv.sample();
    report('retry tokens, 5000 forged', {
      badTokens: settled.stats.badTokens,
      statsAtEnd: settled.stats,
      legitJoinMsDuring: Math.round(during.joinMs),
      peakRssGrowth: mib(end.peak.rss - base.rss),
      peakHeapGrowth: mib(end.peak.heapUsed - base.heapUsed),
      peakConnections: end.peak.connections,
    });

    expect(during.echoed).toBe('during');
    // Some datagrams may be lost on loopback under load; every one that arrived was refused.
    expect(settled.stats.badTokens).toBeGreaterThanOrEqual(4900);
    expect(settled.stats.badTokens).toBeLessThanOrEqual(5000);
    expect(settled.stats.accepted).toBe(base.stats.accepted + 1); // only the legitimate client
    expect(settled.peak.connections).toBeLessThanOrEqual(1);
    expect(settled.peak.rss - base.rss).toBeLessThan(RSS_BOUND);
    expect(settled.peak.heapUsed - base.heapUsed).toBeLessThan(HEAP_BOUND);
    const drained = await srv.until((x) => x.connections === 0, 5000, 'the legitimate connection to close');
    expect(drained.resources.connections).toBe(base.resources.connections);
  }, 30_000);
});
