/**
 * Stream data over the in-memory pair: bidirectional and unidirectional
 * streams with FIN, partial writes against flow control, capacity and
 * writability, RESET_STREAM and STOP_SENDING with their codes, the readable
 * and writable iterators, stream limits, and the error codes quiche returns
 * for misuse.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeStats,
  type QuicheConn,
  QuicheError,
  QuicheShutdown,
  quiche_conn_peer_streams_left_bidi,
  quiche_conn_peer_streams_left_uni,
  quiche_conn_readable,
  quiche_conn_stats,
  quiche_conn_stream_capacity,
  quiche_conn_stream_finished,
  quiche_conn_stream_priority,
  quiche_conn_stream_readable,
  quiche_conn_stream_readable_next,
  quiche_conn_stream_recv,
  quiche_conn_stream_shutdown,
  quiche_conn_stream_writable,
  quiche_conn_stream_writable_next,
  quiche_conn_writable,
  type Stats,
  StructSize,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { collectStreams } from './support/conn.js';
import { type ConfigOptions, Pair, streamRecv, streamSend, text, utf8 } from './support/pair.js';

const {
  QUICHE_ERR_DONE,
  QUICHE_ERR_INVALID_STREAM_STATE,
  QUICHE_ERR_STREAM_LIMIT,
  QUICHE_ERR_STREAM_RESET,
  QUICHE_ERR_STREAM_STOPPED,
} = QuicheError;
const { QUICHE_SHUTDOWN_READ, QUICHE_SHUTDOWN_WRITE } = QuicheShutdown;

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.free();
});

/** An established pair; `server` options set the limits the client must respect. */
function established(
  server: ConfigOptions = {},
  client: ConfigOptions = {},
): { pair: Pair; client: QuicheConn; server: QuicheConn } {
  const pair = new Pair({
    client: { verifyCa: certs.caCert, ...client },
    server: { identity: certs, ...server },
  });
  pairs.push(pair);
  pair.pump();
  if (pair.recvErrors.client.length + pair.recvErrors.server.length > 0) throw new Error('handshake failed');
  return { pair, client: pair.client, server: pair.srv };
}

function stats(conn: QuicheConn): Stats {
  const buf = new Uint8Array(StructSize.quiche_stats);
  quiche_conn_stats(conn, buf);
  return decodeStats(buf);
}

describe('bidirectional streams', () => {
  it('carries a request and a response, each ended by FIN', () => {
    const { pair, client, server } = established();
    expect(streamSend(client, 0, utf8('hello'), true)).toEqual({ rc: 5, errorCode: 0n });
    pair.pump();

    expect(collectStreams(quiche_conn_readable(server))).toEqual([0]);
    expect(quiche_conn_stream_readable(server, 0)).toBe(true);
    const req = streamRecv(server, 0);
    expect(text(req.data)).toBe('hello');
    expect(req.fin).toBe(true);
    expect(quiche_conn_stream_finished(server, 0)).toBe(true);

    expect(streamSend(server, 0, utf8('world'), true).rc).toBe(5);
    pair.pump();
    const res = streamRecv(client, 0);
    expect({ data: text(res.data), fin: res.fin }).toEqual({ data: 'world', fin: true });
    expect(collectStreams(quiche_conn_readable(client))).toEqual([]);
  });

  it('delivers a large body intact across many packets, as the congestion window allows', () => {
    const { pair, client, server } = established();
    const body = new Uint8Array(randomBytes(200_000));
    let off = 0;
    const received: Uint8Array[] = [];
    let fin = false;
    for (let i = 0; i < 500 && !fin; i++) {
      if (off < body.length) {
        const r = streamSend(client, 4, body.subarray(off), true);
        expect(r.rc === QUICHE_ERR_DONE || r.rc >= 0).toBe(true);
        if (r.rc > 0) off += r.rc;
      }
      pair.pump();
      const r = streamRecv(server, 4, 16_384);
      received.push(r.data);
      fin = r.fin;
    }
    expect(fin).toBe(true);
    expect(Buffer.concat(received).equals(body)).toBe(true);
  });

  it('reports a FIN sent on its own after the data', () => {
    const { pair, client, server } = established();
    expect(streamSend(client, 0, utf8('abc'), false).rc).toBe(3);
    pair.pump();
    const first = streamRecv(server, 0);
    expect({ data: text(first.data), fin: first.fin, rc: first.rc }).toEqual({
      data: 'abc',
      fin: false,
      rc: QUICHE_ERR_DONE,
    });
    expect(quiche_conn_stream_finished(server, 0)).toBe(false);

    // A zero-length send with fin: koffi passes NULL for the empty array, which stream_send allows.
    expect(streamSend(client, 0, new Uint8Array(0), true).rc).toBe(0);
    pair.pump();
    const buf = new Uint8Array(16);
    const fin = new Uint8Array(1);
    const err = new BigUint64Array(1);
    expect(quiche_conn_stream_recv(server, 0, buf, buf.length, fin, err)).toBe(0);
    expect(fin[0]).toBe(1);
    expect(quiche_conn_stream_finished(server, 0)).toBe(true);
  });

  it('lists readable streams with stream_readable_next until it returns -1', () => {
    const { pair, client, server } = established();
    for (const id of [0, 4, 8]) streamSend(client, id, utf8(`s${id}`), true);
    pair.pump();
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const id = Number(quiche_conn_stream_readable_next(server));
      if (id < 0) break;
      ids.push(id);
    }
    expect(ids.sort((a, b) => a - b)).toEqual([0, 4, 8]);
    expect(quiche_conn_stream_readable_next(server)).toBe(-1);
  });
});

describe('unidirectional streams', () => {
  it('carries data one way with FIN, in both directions', () => {
    const { pair, client, server } = established();
    expect(streamSend(client, 2, utf8('from client'), true).rc).toBe(11);
    expect(streamSend(server, 3, utf8('from server'), true).rc).toBe(11);
    pair.pump();
    const atServer = streamRecv(server, 2);
    const atClient = streamRecv(client, 3);
    expect({ data: text(atServer.data), fin: atServer.fin }).toEqual({ data: 'from client', fin: true });
    expect({ data: text(atClient.data), fin: atClient.fin }).toEqual({ data: 'from server', fin: true });
  });

  it('cannot be written by the receiving side nor read by the sending side', () => {
    const { pair, client, server } = established();
    streamSend(client, 2, utf8('x'), false);
    pair.pump();
    expect(streamSend(server, 2, utf8('back'), false).rc).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
    expect(streamRecv(client, 2).rc).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
  });
});

describe('flow control', () => {
  it('writes partially up to the peer stream window, then resumes once the peer reads', () => {
    const { pair, client, server } = established({ maxStreamDataBidiRemote: 5000 });
    const body = new Uint8Array(randomBytes(12_000));
    const sent = streamSend(client, 0, body, false);
    expect(sent.rc).toBe(5000);
    expect(quiche_conn_stream_capacity(client, 0)).toBe(0);
    // Not writable for even one byte; writable (trivially) for zero.
    expect(quiche_conn_stream_writable(client, 0, 1)).toBe(0);
    expect(quiche_conn_stream_writable(client, 0, 0)).toBe(1);
    expect(collectStreams(quiche_conn_writable(client))).toEqual([]);
    expect(quiche_conn_stream_writable_next(client)).toBe(-1);

    pair.pump();
    const first = streamRecv(server, 0);
    expect(first.data.length).toBe(5000);
    expect(first.rc).toBe(QUICHE_ERR_DONE);
    pair.pump(); // carries MAX_STREAM_DATA back

    expect(quiche_conn_stream_capacity(client, 0)).toBe(5000);
    expect(quiche_conn_stream_writable(client, 0, 1)).toBe(1);
    expect(collectStreams(quiche_conn_writable(client))).toEqual([0]);
    expect(quiche_conn_stream_writable_next(client)).toBe(0);
    expect(quiche_conn_stream_writable_next(client)).toBe(-1);

    // The rest goes through in window-sized pieces.
    let off = sent.rc;
    const got: Uint8Array[] = [first.data];
    for (let i = 0; i < 20 && off < body.length; i++) {
      const r = streamSend(client, 0, body.subarray(off), true);
      if (r.rc > 0) off += r.rc;
      pair.pump();
      got.push(streamRecv(server, 0).data);
      pair.pump();
    }
    expect(off).toBe(body.length);
    got.push(streamRecv(server, 0).data);
    expect(Buffer.concat(got).equals(body)).toBe(true);
    expect(stats(client).stream_data_blocked_sent_count).toBeGreaterThanOrEqual(1);
  });

  it('limits the number of bidirectional streams to what the peer allows', () => {
    const { client } = established({ maxStreamsBidi: 2, maxStreamsUni: 1 });
    expect(quiche_conn_peer_streams_left_bidi(client)).toBe(2);
    expect(quiche_conn_peer_streams_left_uni(client)).toBe(1);
    expect(streamSend(client, 0, utf8('a'), false).rc).toBe(1);
    expect(streamSend(client, 4, utf8('b'), false).rc).toBe(1);
    expect(streamSend(client, 8, utf8('c'), false).rc).toBe(QUICHE_ERR_STREAM_LIMIT);
    expect(quiche_conn_peer_streams_left_bidi(client)).toBe(0);
    expect(streamSend(client, 2, utf8('d'), false).rc).toBe(1);
    expect(streamSend(client, 6, utf8('e'), false).rc).toBe(QUICHE_ERR_STREAM_LIMIT);
  });
});

describe('shutdown', () => {
  it('shutdown(WRITE) resets the stream: the peer reads QUICHE_ERR_STREAM_RESET with the code', () => {
    const { pair, client, server } = established();
    streamSend(client, 4, utf8('partial'), false);
    pair.pump();
    expect(quiche_conn_stream_shutdown(client, 4, QUICHE_SHUTDOWN_WRITE, 42)).toBe(0);
    pair.pump();
    expect(collectStreams(quiche_conn_readable(server))).toEqual([4]);
    const r = streamRecv(server, 4);
    expect(r.rc).toBe(QUICHE_ERR_STREAM_RESET);
    expect(r.errorCode).toBe(42n);
    expect(stats(client).reset_stream_count_local).toBe(1);
    expect(stats(server).reset_stream_count_remote).toBe(1);
  });

  it('shutdown(READ) sends STOP_SENDING: the writer gets QUICHE_ERR_STREAM_STOPPED with the code', () => {
    const { pair, client, server } = established();
    streamSend(client, 8, utf8('x'), false);
    pair.pump();
    expect(quiche_conn_stream_shutdown(server, 8, QUICHE_SHUTDOWN_READ, 77)).toBe(0);
    pair.pump();
    // The stopped stream is reported writable so that the writer notices.
    expect(collectStreams(quiche_conn_writable(client))).toContain(8);
    const r = streamSend(client, 8, utf8('more'), false);
    expect(r).toEqual({ rc: QUICHE_ERR_STREAM_STOPPED, errorCode: 77n });
    expect(stats(server).stopped_stream_count_local).toBe(1);
    expect(stats(client).stopped_stream_count_remote).toBe(1);
    // quiche answers STOP_SENDING with a RESET_STREAM of its own.
    pair.pump();
    expect(stats(client).reset_stream_count_local).toBe(1);
    expect(stats(server).reset_stream_count_remote).toBe(1);
  });

  it('returns QUICHE_ERR_DONE for a stream that does not exist', () => {
    const { client } = established();
    expect(quiche_conn_stream_shutdown(client, 40, QUICHE_SHUTDOWN_WRITE, 1)).toBe(QUICHE_ERR_DONE);
  });
});

describe('misuse error codes', () => {
  it('stream_recv on a never-opened stream is QUICHE_ERR_INVALID_STREAM_STATE', () => {
    const { client, server } = established();
    // local bidi, local uni, peer bidi, peer uni: none has been opened.
    for (const id of [4, 2, 1, 3])
      expect(streamRecv(client, id).rc, `stream ${id}`).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
    expect(streamRecv(server, 0).rc).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
    expect(quiche_conn_stream_readable(client, 4)).toBe(false);
  });

  it("stream_send on a peer's stream that was never opened is QUICHE_ERR_INVALID_STREAM_STATE", () => {
    const { client, server } = established();
    expect(streamSend(client, 3, utf8('x'), false).rc).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
    expect(streamSend(server, 0, utf8('x'), false).rc).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
  });

  it('stream_capacity of an unknown stream is QUICHE_ERR_INVALID_STREAM_STATE', () => {
    const { client } = established();
    expect(quiche_conn_stream_capacity(client, 4)).toBe(QUICHE_ERR_INVALID_STREAM_STATE);
  });

  it('stream_priority creates the local stream it names', () => {
    const { client } = established();
    expect(quiche_conn_stream_priority(client, 4, 3, true)).toBe(0);
    expect(quiche_conn_stream_capacity(client, 4)).toBeGreaterThan(0);
  });
});
