/**
 * DATAGRAM frames (RFC 9221) over the in-memory pair: sizes, queues, order,
 * buffer errors, the purge callback, and what happens when the peer did not
 * enable them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeStats,
  type QuicheConn,
  QuicheError,
  quiche_conn_dgram_max_writable_len,
  quiche_conn_dgram_purge_outgoing,
  quiche_conn_dgram_recv,
  quiche_conn_dgram_recv_front_len,
  quiche_conn_dgram_recv_queue_byte_size,
  quiche_conn_dgram_recv_queue_len,
  quiche_conn_dgram_send,
  quiche_conn_dgram_send_queue_byte_size,
  quiche_conn_dgram_send_queue_len,
  quiche_conn_is_dgram_recv_queue_full,
  quiche_conn_is_dgram_send_queue_full,
  quiche_conn_stats,
  readString,
  StructSize,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { Pair, text, utf8 } from './support/pair.js';

const { QUICHE_ERR_DONE, QUICHE_ERR_BUFFER_TOO_SHORT, QUICHE_ERR_INVALID_STATE } = QuicheError;

/** makeConfig's queue lengths for enable_dgram. */
const QUEUE_LEN = 16;

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.free();
});

function newPair(serverDgram = true): Pair {
  const pair = new Pair({
    client: { verifyCa: certs.caCert, dgram: true },
    server: { identity: certs, dgram: serverDgram },
  });
  pairs.push(pair);
  return pair;
}

function send(conn: QuicheConn, s: string): number {
  const b = utf8(s);
  return quiche_conn_dgram_send(conn, b, b.length);
}

function recv(conn: QuicheConn): string | number {
  const buf = new Uint8Array(2048);
  const n = quiche_conn_dgram_recv(conn, buf, buf.length);
  return n < 0 ? n : text(buf.subarray(0, n));
}

describe('datagrams', () => {
  it('are refused before the handshake and sized from the peer transport parameters after it', () => {
    const pair = newPair();
    expect(quiche_conn_dgram_max_writable_len(pair.client)).toBe(QUICHE_ERR_DONE);
    expect(send(pair.client, 'early')).toBe(QUICHE_ERR_INVALID_STATE);
    pair.pump();
    const max = quiche_conn_dgram_max_writable_len(pair.client);
    // One 1200-byte packet minus the short header, AEAD tag and frame header.
    expect(max).toBeGreaterThan(1000);
    expect(max).toBeLessThan(1200);
    const tooBig = new Uint8Array(max + 1);
    expect(quiche_conn_dgram_send(pair.client, tooBig, tooBig.length)).toBe(QUICHE_ERR_BUFFER_TOO_SHORT);
    const justRight = new Uint8Array(max).fill(9);
    expect(quiche_conn_dgram_send(pair.client, justRight, justRight.length)).toBe(max);
    pair.pump();
    expect(quiche_conn_dgram_recv_front_len(pair.srv)).toBe(max);
  });

  it('are queued, sent, received in order and counted', () => {
    const pair = newPair();
    pair.pump();
    // Success returns the datagram's length.
    expect(send(pair.client, 'ping1')).toBe(5);
    expect(send(pair.client, 'ping2!')).toBe(6);
    expect(quiche_conn_dgram_send_queue_len(pair.client)).toBe(2);
    expect(quiche_conn_dgram_send_queue_byte_size(pair.client)).toBe(11);
    pair.pump();
    expect(quiche_conn_dgram_send_queue_len(pair.client)).toBe(0);
    const server = pair.srv;
    expect(quiche_conn_dgram_recv_queue_len(server)).toBe(2);
    expect(quiche_conn_dgram_recv_queue_byte_size(server)).toBe(11);
    expect(quiche_conn_dgram_recv_front_len(server)).toBe(5);
    expect(recv(server)).toBe('ping1');
    expect(recv(server)).toBe('ping2!');
    expect(recv(server)).toBe(QUICHE_ERR_DONE);
    expect(quiche_conn_dgram_recv_front_len(server)).toBe(QUICHE_ERR_DONE);

    const buf = new Uint8Array(StructSize.quiche_stats);
    quiche_conn_stats(pair.client, buf);
    expect(decodeStats(buf).dgram_sent).toBe(2);
    quiche_conn_stats(server, buf);
    expect(decodeStats(buf).dgram_recv).toBe(2);
  });

  it('report BUFFER_TOO_SHORT when the receive buffer is smaller than the datagram', () => {
    const pair = newPair();
    pair.pump();
    send(pair.client, 'twelve bytes');
    pair.pump();
    const small = new Uint8Array(4);
    expect(quiche_conn_dgram_recv(pair.srv, small, small.length)).toBe(QUICHE_ERR_BUFFER_TOO_SHORT);
  });

  it('fill the send queue at its configured length', () => {
    const pair = newPair();
    pair.pump();
    for (let i = 0; i < QUEUE_LEN; i++) expect(send(pair.client, `d${i % 10}`)).toBe(2);
    expect(quiche_conn_is_dgram_send_queue_full(pair.client)).toBe(true);
    expect(send(pair.client, 'one too many')).toBe(QUICHE_ERR_DONE);
    pair.pump();
    expect(quiche_conn_is_dgram_recv_queue_full(pair.srv)).toBe(true);
    expect(quiche_conn_dgram_recv_queue_len(pair.srv)).toBe(QUEUE_LEN);
  });

  it('can be purged from the send queue by a callback that sees each one', () => {
    const pair = newPair();
    pair.pump();
    for (let i = 0; i < 6; i++) send(pair.client, i % 2 === 0 ? `keep${i}` : `drop${i}`);
    const seen: string[] = [];
    quiche_conn_dgram_purge_outgoing(pair.client, (ptr, len) => {
      const s = readString(ptr, len);
      seen.push(s);
      return s.startsWith('drop');
    });
    expect(seen).toEqual(['keep0', 'drop1', 'keep2', 'drop3', 'keep4', 'drop5']);
    expect(quiche_conn_dgram_send_queue_len(pair.client)).toBe(3);
    pair.pump();
    expect([recv(pair.srv), recv(pair.srv), recv(pair.srv), recv(pair.srv)]).toEqual([
      'keep0',
      'keep2',
      'keep4',
      QUICHE_ERR_DONE,
    ]);
  });

  it('cannot be sent to a peer that did not enable them', () => {
    const pair = newPair(false);
    pair.pump();
    expect(quiche_conn_dgram_max_writable_len(pair.client)).toBe(QUICHE_ERR_DONE);
    expect(send(pair.client, 'x')).toBe(QUICHE_ERR_INVALID_STATE);
    expect(recv(pair.srv)).toBe(QUICHE_ERR_DONE);
  });
});
