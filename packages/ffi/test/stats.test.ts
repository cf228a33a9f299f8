/**
 * Connection and path statistics read through raw buffers and the decoders,
 * checked against what the in-memory pair actually moved.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePathStats,
  decodeStats,
  type QuicheConn,
  QuicheError,
  QuichePathValidationState,
  quiche_conn_path_stats,
  quiche_conn_stats,
  type Stats,
  StructSize,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { CLIENT_ADDR, Pair, SERVER_ADDR, streamRecv, streamSend } from './support/pair.js';

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.free();
});

function establishedPair(): Pair {
  const pair = new Pair({ client: { verifyCa: certs.caCert }, server: { identity: certs } });
  pairs.push(pair);
  pair.pump();
  return pair;
}

function stats(conn: QuicheConn): Stats {
  const buf = new Uint8Array(StructSize.quiche_stats).fill(0xcc);
  quiche_conn_stats(conn, buf);
  return decodeStats(buf);
}

function pathStatsRaw(conn: QuicheConn, idx: number, fill: number): { rc: number; buf: Uint8Array } {
  const buf = new Uint8Array(StructSize.quiche_path_stats).fill(fill);
  return { rc: quiche_conn_path_stats(conn, idx, buf), buf };
}

describe('quiche_conn_stats', () => {
  it('counts the handshake packets and bytes consistently on both sides', () => {
    const pair = establishedPair();
    const c = stats(pair.client);
    const s = stats(pair.srv);
    expect(c.sent).toBeGreaterThan(0);
    expect(c.recv).toBeGreaterThan(0);
    // Several QUIC packets can share one datagram, never the reverse.
    expect(c.sent).toBeGreaterThanOrEqual(pair.packetsSent.client);
    expect(s.sent).toBeGreaterThanOrEqual(pair.packetsSent.server);
    // Nothing is lost in memory, so what one side sent the other received.
    expect(c.recv).toBe(s.sent);
    expect(s.recv).toBe(c.sent);
    expect(s.recv_bytes).toBe(c.sent_bytes);
    expect(c.recv_bytes).toBe(s.sent_bytes);
    // Packet bytes exclude datagram padding, so they are at most the wire bytes.
    expect(c.sent_bytes).toBeGreaterThan(0);
    expect(Number(c.sent_bytes)).toBeLessThanOrEqual(pair.bytesSent.client);
    expect(Number(s.sent_bytes)).toBeLessThanOrEqual(pair.bytesSent.server);
    expect({ lost: c.lost, retrans: c.retrans, paths: c.paths_count }).toEqual({
      lost: 0,
      retrans: 0,
      paths: 1,
    });
    expect(c.tx_buffered_inconsistent).toBe(false);
  });

  it('grows sent_bytes by at least the stream data sent', () => {
    const pair = establishedPair();
    const before = stats(pair.client);
    const body = new Uint8Array(10_000);
    expect(streamSend(pair.client, 0, body, true).rc).toBe(body.length);
    pair.pump();
    expect(streamRecv(pair.srv, 0, 20_000).data.length).toBe(body.length);
    const after = stats(pair.client);
    const grown = Number(after.sent_bytes) - Number(before.sent_bytes);
    expect(grown).toBeGreaterThanOrEqual(body.length);
    expect(grown).toBeLessThan(body.length * 1.2);
    expect(Number(after.acked_bytes)).toBeGreaterThan(Number(before.acked_bytes));
  });
});

describe('quiche_conn_path_stats', () => {
  it('describes the one path with the addresses the pair used and a measured RTT', () => {
    const pair = establishedPair();
    const { rc, buf } = pathStatsRaw(pair.client, 0, 0);
    expect(rc).toBe(0);
    const ps = decodePathStats(buf);
    expect(ps.local_addr).toEqual(CLIENT_ADDR);
    expect(ps.peer_addr).toEqual(SERVER_ADDR);
    expect(ps.validation_state).toBe(QuichePathValidationState.VALIDATED);
    expect(ps.active).toBe(true);
    expect(Number(ps.rtt)).toBeGreaterThan(0);
    expect(Number(ps.min_rtt)).toBeGreaterThan(0);
    expect(Number(ps.min_rtt)).toBeLessThanOrEqual(Number(ps.rtt));
    expect(ps.max_rtt).toBe(0); // never written by quiche; 0 from the zeroed buffer
    expect(ps.cwnd).toBeGreaterThan(0);
    expect(ps.pmtu).toBeGreaterThanOrEqual(1200);
    // A single path carries everything the connection counted.
    const c = stats(pair.client);
    expect({ sent: ps.sent, recv: ps.recv, sent_bytes: ps.sent_bytes }).toEqual({
      sent: c.sent,
      recv: c.recv,
      sent_bytes: c.sent_bytes,
    });

    const server = decodePathStats(pathStatsRaw(pair.srv, 0, 0).buf);
    expect(server.local_addr).toEqual(SERVER_ADDR);
    expect(server.peer_addr).toEqual(CLIENT_ADDR);
  });

  it('leaves max_rtt unwritten (whatever the buffer held stays there)', () => {
    const pair = establishedPair();
    const { rc, buf } = pathStatsRaw(pair.client, 0, 0xff);
    expect(rc).toBe(0);
    const ps = decodePathStats(buf);
    expect(ps.max_rtt).toBe(0xffff_ffff_ffff_ffffn);
    // ... while its neighbours were written.
    expect(ps.rtt).not.toBe(0xffff_ffff_ffff_ffffn);
    expect(ps.rttvar).not.toBe(0xffff_ffff_ffff_ffffn);
  });

  it('returns an error for a path index that does not exist', () => {
    const pair = establishedPair();
    expect(pathStatsRaw(pair.client, 1, 0).rc).toBe(QuicheError.QUICHE_ERR_DONE);
  });
});
