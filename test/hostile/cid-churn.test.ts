/**
 * Connection-ID churn and path probes from many addresses: a raw quiche
 * client (@quichex/ffi) on an established connection to a default echo
 * server in a child process.
 * 1. 300 rounds of CID churn: a new source CID with `retire_if_needed` (so
 *    NEW_CONNECTION_ID's Retire Prior To keeps moving and the server must
 *    retire what it holds) and the retirement of one of the server's CIDs
 *    (RETIRE_CONNECTION_ID, so the server must issue another).
 * 2. Real path probes (`quiche_conn_probe_path`, PATH_CHALLENGE) from new
 *    local ports until quiche runs out of connection IDs for more.
 * 3. 300 packets, each ack-eliciting and each from the next of 64 other
 *    local ports: to the server, a peer whose address changes at every
 *    packet (NAT rebinding as an attack).
 *
 * (2 and 3 run apart: quiche's client re-sends a lost NEW_CONNECTION_ID
 * with the Retire Prior To of the moment, which can exceed its sequence
 * number — a FRAME_ENCODING_ERROR the server rightly closes on — and the
 * address changes of 3 make the server drop packets.)
 *
 * The bound: quiche keeps at most `activeConnectionIdLimit` (default 8)
 * CIDs of the peer and as many paths (its PathMap evicts unused ones);
 * quichex keeps 2 spare CIDs of its own issued and routed, and forgets the
 * retired ones. So the server's `pathStats().length` stays ≤ 8 and its
 * memory flat: the churn may grow its RSS by at most 20 MiB (~10 MiB of
 * which is young-generation and allocator regrowth after the baseline GC)
 * and its heap by 10 MiB. The churned connection still echoes afterwards,
 * and a legitimate client is served during the churn.
 */
import { randomBytes } from 'node:crypto';
import * as q from '@quichex/ffi';
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, MiB, mib, report, serverIdentity, sleep, visit } from './support/common.js';
import { HOST, RawPeer } from './support/raw.js';
import { ServerProcess } from './support/server-process.js';

const ROUNDS = 300;
const SOCKETS = 64;
const ACTIVE_CID_LIMIT = 8; // quichex's default activeConnectionIdLimit
const RSS_BOUND = 20 * MiB;
const HEAP_BOUND = 10 * MiB;

let server: ServerProcess | null = null;
let peer: RawPeer | null = null;

afterEach(() => {
  peer?.free();
  peer = null;
  server?.kill();
  server = null;
});

describe('connection-ID churn and path probes', () => {
  it('300 rounds of NEW/RETIRE_CONNECTION_ID, path probes, 300 packets from 64 changing ports: CIDs and paths stay bounded, the connection still works', async () => {
    const srv = await ServerProcess.start(serverIdentity());
    server = srv;
    expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
    await srv.until((s) => s.connections === 0, 5000, 'the warm-up connection to close');
    const base = await srv.gc();
    await srv.peakReset();

    const p = await RawPeer.open(srv.port, {
      activeConnectionIdLimit: ACTIVE_CID_LIMIT,
      idleTimeoutMs: 30_000,
    });
    peer = p;
    await p.waitEstablished();
    expect((await p.echo(0, Buffer.from('before'))).toString()).toBe('before');
    const server4 = q.encodeSockaddr(HOST, srv.port);
    const seq = new BigUint64Array(1);
    const counts = { probes: 0, newScid: 0, newScidFailed: 0, retired: 0, retireSkipped: 0, rebinds: 0 };
    let maxPaths = 0;
    const samplePaths = async (): Promise<void> => {
      const s = await srv.sample();
      maxPaths = Math.max(maxPaths, ...s.paths);
    };

    // 1. CID churn both ways: a new CID of ours each round (quiche retires the
    // oldest once the server's limit is reached) and one of the server's retired.
    const retiredSeqs = new Set<number>();
    let lowest = 0;
    let legitJoinMs = -1;
    for (let round = 0; round < ROUNDS && !p.closed; round++) {
      if (q.quiche_conn_new_scid(p.conn, randomBytes(16), 16, randomBytes(16), true, seq) >= 0)
        counts.newScid++;
      else counts.newScidFailed++;
      // Retire the oldest of the server's CIDs while a spare is there to move
      // to: the server must replace it.
      while (retiredSeqs.has(lowest)) retiredSeqs.delete(lowest++);
      let retired = false;
      if (q.quiche_conn_available_dcids(p.conn) > 0) {
        for (let s = lowest; s < lowest + 8 && !retired; s++) {
          if (retiredSeqs.has(s) || q.quiche_conn_retire_dcid(p.conn, s) !== 0) continue;
          retiredSeqs.add(s);
          retired = true;
        }
      }
      if (retired) counts.retired++;
      else counts.retireSkipped++;
      p.flush();
      await sleep(3);
      if (round % 25 === 0) await samplePaths();
      if (round === ROUNDS / 2) legitJoinMs = (await visit(srv.port, clientConfig(), 'during')).joinMs;
    }
    await sleep(100);
    expect((await p.echo(8, Buffer.from('after CID churn'))).toString()).toBe('after CID churn');

    // 2. Real probes from new ports, as many as the CIDs allow (bounded: 16).
    for (let i = 0; i < 16; i++) {
      q.quiche_conn_new_scid(p.conn, randomBytes(16), 16, randomBytes(16), false, seq);
      const local = q.encodeSockaddr(HOST, await p.addSocket());
      if (q.quiche_conn_probe_path(p.conn, local.buf, local.len, server4.buf, server4.len, seq) !== 0) break;
      counts.probes++;
      p.flush();
      await sleep(10);
    }
    await sleep(100);
    await samplePaths();
    const pathsAfterProbes = maxPaths;

    // 3. A peer whose address changes at every packet: an ack-eliciting packet
    // from each of 64 other local ports in turn (quiche's client knows one path).
    const ports: number[] = [];
    for (let i = 0; i < SOCKETS; i++) ports.push(await p.addSocket({ asPrimary: true }));
    for (let round = 0; round < ROUNDS && !p.closed; round++) {
      if (q.quiche_conn_scids_left(p.conn) > 0)
        q.quiche_conn_new_scid(p.conn, randomBytes(16), 16, randomBytes(16), false, seq);
      q.quiche_conn_send_ack_eliciting(p.conn);
      p.flush(ports[round % SOCKETS]!);
      counts.rebinds++;
      await sleep(3);
      if (round % 25 === 0) await samplePaths();
    }
    await sleep(200);
    const after = await srv.sample();
    maxPaths = Math.max(maxPaths, ...after.paths);
    const stillEchoes = (await p.echo(4, Buffer.from('after churn'))).toString();
    report('cid churn and path probes', {
      rounds: ROUNDS,
      ...counts,
      pathsAfterProbes,
      peerDatagrams: p.counts,
      serverPathsMax: maxPaths,
      serverPathsAtEnd: after.paths,
      peakRssGrowth: mib(after.peak.rss - base.rss),
      peakHeapGrowth: mib(after.peak.heapUsed - base.heapUsed),
      legitJoinMsDuring: Math.round(legitJoinMs),
    });

    expect(p.closed).toBe(false);
    expect(stillEchoes).toBe('after churn');
    expect(counts.probes).toBeGreaterThan(0);
    expect(pathsAfterProbes).toBeGreaterThan(1); // the probes did make paths on the server …
    expect(counts.newScid).toBe(ROUNDS);
    expect(counts.retired).toBeGreaterThan(ROUNDS / 2);
    expect(maxPaths).toBeLessThanOrEqual(ACTIVE_CID_LIMIT); // … never more than the limit
    expect(after.connections).toBe(1);
    expect(legitJoinMs).toBeGreaterThan(0);
    expect(after.peak.rss - base.rss).toBeLessThan(RSS_BOUND);
    expect(after.peak.heapUsed - base.heapUsed).toBeLessThan(HEAP_BOUND);

    await p.close();
    peer = null;
    const drained = await srv.until(
      (s) => s.connections === 0 && s.resources.connections === base.resources.connections,
      5000,
      'the churned connection to be freed',
    );
    expect(drained.stats.handshaking).toBe(0);
  }, 30_000);
});
