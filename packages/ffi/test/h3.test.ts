/**
 * HTTP/3 over the in-memory pair: a GET with headers, a response with a body,
 * the events each side polls, header iteration through a JS callback,
 * SETTINGS, GOAWAY, and the priority parser. Every event is freed, and the
 * h3 connections are freed before their QUIC connections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeH3Stats,
  H3HeaderBlock,
  type H3HeaderInit,
  QUICHE_H3_APPLICATION_PROTOCOL,
  type QuicheConn,
  type QuicheH3Conn,
  QuicheH3Error,
  type QuicheH3Event,
  QuicheH3EventType,
  quiche_conn_application_proto,
  quiche_h3_config_enable_extended_connect,
  quiche_h3_config_free,
  quiche_h3_config_new,
  quiche_h3_config_set_max_field_section_size,
  quiche_h3_conn_free,
  quiche_h3_conn_new_with_transport,
  quiche_h3_conn_poll,
  quiche_h3_conn_stats,
  quiche_h3_dgram_enabled_by_peer,
  quiche_h3_event_for_each_header,
  quiche_h3_event_free,
  quiche_h3_event_headers_has_more_frames,
  quiche_h3_event_type,
  quiche_h3_extended_connect_enabled_by_peer,
  quiche_h3_for_each_setting,
  quiche_h3_parse_extensible_priority,
  quiche_h3_recv_body,
  quiche_h3_send_body,
  quiche_h3_send_goaway,
  quiche_h3_send_request,
  quiche_h3_send_response,
  readString,
  registerH3HeaderCallback,
  StructSize,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { borrowed } from './support/conn.js';
import { Pair, text, utf8 } from './support/pair.js';

const { QUICHE_H3_EVENT_HEADERS, QUICHE_H3_EVENT_DATA, QUICHE_H3_EVENT_FINISHED, QUICHE_H3_EVENT_GOAWAY } =
  QuicheH3EventType;
const SETTINGS_MAX_FIELD_SECTION_SIZE = 0x6;
const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

/** An established "h3" pair with an h3 connection on each side. */
interface H3Pair {
  pair: Pair;
  client: QuicheConn;
  server: QuicheConn;
  clientH3: QuicheH3Conn;
  serverH3: QuicheH3Conn;
}

const open: H3Pair[] = [];
afterEach(() => {
  for (const p of open.splice(0)) {
    // h3 state first: it refers to its QUIC connection.
    quiche_h3_conn_free(p.clientH3);
    quiche_h3_conn_free(p.serverH3);
    p.pair.free();
  }
});

function h3Pair(): H3Pair {
  const h3 = [QUICHE_H3_APPLICATION_PROTOCOL.slice(1)];
  const pair = new Pair({
    client: { verifyCa: certs.caCert, alpn: h3 },
    server: { identity: certs, alpn: h3 },
  });
  try {
    pair.pump();
    const clientCfg = quiche_h3_config_new();
    const serverCfg = quiche_h3_config_new();
    if (clientCfg === null || serverCfg === null) throw new Error('quiche_h3_config_new returned NULL');
    quiche_h3_config_set_max_field_section_size(serverCfg, 12_345);
    quiche_h3_config_enable_extended_connect(serverCfg, true);
    const clientH3 = quiche_h3_conn_new_with_transport(pair.client, clientCfg);
    const serverH3 = quiche_h3_conn_new_with_transport(pair.srv, serverCfg);
    // The h3 connections copy what they need: the configs can go now.
    quiche_h3_config_free(clientCfg);
    quiche_h3_config_free(serverCfg);
    if (clientH3 === null || serverH3 === null)
      throw new Error('quiche_h3_conn_new_with_transport returned NULL');
    const p = { pair, client: pair.client, server: pair.srv, clientH3, serverH3 };
    open.push(p);
    return p;
  } catch (err) {
    pair.free();
    throw err;
  }
}

function headers(list: Array<[string, string]>): H3HeaderInit[] {
  return list.map(([n, v]) => {
    const name = utf8(n);
    const value = utf8(v);
    return { name, name_len: name.length, value, value_len: value.length };
  });
}

function readHeaders(ev: QuicheH3Event): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const rc = quiche_h3_event_for_each_header(
    ev,
    (name, nameLen, value, valueLen) => {
      out.push([readString(name, nameLen), readString(value, valueLen)]);
      return 0;
    },
    null,
  );
  if (rc !== 0) throw new Error(`for_each_header returned ${rc}`);
  return out;
}

/** Polls the first event (on stream 0), hands it to `use`, and frees it. */
function withFirstEvent(h3: QuicheH3Conn, conn: QuicheConn, use: (ev: QuicheH3Event) => void): void {
  const evOut = new BigUint64Array(1);
  expect(Number(quiche_h3_conn_poll(h3, conn, evOut))).toBe(0);
  const ev = evOut[0] as QuicheH3Event;
  try {
    use(ev);
  } finally {
    quiche_h3_event_free(ev);
  }
}

/** One polled event, read and freed. */
interface PolledEvent {
  streamId: number;
  type: number;
  headers?: Array<[string, string]>;
  moreFrames?: boolean;
  body?: string;
}

/** Polls until QUICHE_H3_ERR_DONE (bounded), reading bodies of DATA events and freeing every event. */
function pollAll(h3: QuicheH3Conn, conn: QuicheConn): PolledEvent[] {
  const events: PolledEvent[] = [];
  const evOut = new BigUint64Array(1);
  for (let i = 0; i < 100; i++) {
    const id = Number(quiche_h3_conn_poll(h3, conn, evOut));
    if (id === QuicheH3Error.QUICHE_H3_ERR_DONE) return events;
    if (id < 0) throw new Error(`quiche_h3_conn_poll returned ${id}`);
    const ev = evOut[0] as QuicheH3Event;
    try {
      const type = quiche_h3_event_type(ev);
      const e: PolledEvent = { streamId: id, type };
      if (type === QUICHE_H3_EVENT_HEADERS) {
        e.headers = readHeaders(ev);
        e.moreFrames = quiche_h3_event_headers_has_more_frames(ev);
      } else if (type === QUICHE_H3_EVENT_DATA) {
        const buf = new Uint8Array(4096);
        const parts: string[] = [];
        for (let j = 0; j < 100; j++) {
          const n = quiche_h3_recv_body(h3, conn, id, buf, buf.length);
          if (n < 0) break;
          parts.push(text(buf.subarray(0, n)));
        }
        e.body = parts.join('');
      }
      events.push(e);
    } finally {
      quiche_h3_event_free(ev);
    }
  }
  throw new Error('h3 poll did not reach DONE');
}

const REQUEST: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'localhost'],
  [':path', '/hello'],
  ['user-agent', 'quichex-ffi-test'],
];

describe('HTTP/3', () => {
  it('negotiates the "h3" ALPN', () => {
    const { client } = h3Pair();
    expect(text(borrowed(quiche_conn_application_proto, client))).toBe('h3');
  });

  it('carries a GET and a response with a body, as HEADERS, DATA and FINISHED events', () => {
    const { pair, client, server, clientH3, serverH3 } = h3Pair();
    const req = headers(REQUEST);
    const streamId = Number(quiche_h3_send_request(clientH3, client, req, req.length, true));
    expect(streamId).toBe(0);
    pair.pump();

    const atServer = pollAll(serverH3, server);
    expect(atServer).toEqual([
      { streamId: 0, type: QUICHE_H3_EVENT_HEADERS, headers: REQUEST, moreFrames: false },
      { streamId: 0, type: QUICHE_H3_EVENT_FINISHED },
    ]);

    const res = headers([
      [':status', '200'],
      ['content-type', 'text/plain'],
    ]);
    expect(quiche_h3_send_response(serverH3, server, streamId, res, res.length, false)).toBe(0);
    const body = utf8('hello over h3');
    expect(quiche_h3_send_body(serverH3, server, streamId, body, body.length, true)).toBe(body.length);
    pair.pump();

    const atClient = pollAll(clientH3, client);
    expect(atClient).toEqual([
      {
        streamId: 0,
        type: QUICHE_H3_EVENT_HEADERS,
        headers: [
          [':status', '200'],
          ['content-type', 'text/plain'],
        ],
        moreFrames: true,
      },
      { streamId: 0, type: QUICHE_H3_EVENT_DATA, body: 'hello over h3' },
      { streamId: 0, type: QUICHE_H3_EVENT_FINISHED },
    ]);
  });

  it('stops header iteration when the callback returns non-zero, and returns that value', () => {
    const { pair, client, server, clientH3, serverH3 } = h3Pair();
    const req = headers(REQUEST);
    quiche_h3_send_request(clientH3, client, req, req.length, true);
    pair.pump();
    withFirstEvent(serverH3, server, (ev) => {
      expect(quiche_h3_event_type(ev)).toBe(QUICHE_H3_EVENT_HEADERS);
      let calls = 0;
      const rc = quiche_h3_event_for_each_header(
        ev,
        () => {
          calls++;
          return 7;
        },
        null,
      );
      expect({ rc, calls }).toEqual({ rc: 7, calls: 1 });
    });
    pollAll(serverH3, server); // drain (and free) the rest
  });

  it('walks headers with a registered callback: latin1 strings, and a throw stops the walk', () => {
    const { pair, client, server, clientH3, serverH3 } = h3Pair();
    const req = headers([...REQUEST, ['x-latin1', 'caf\u00e9']]);
    // The value's bytes are UTF-8 ('é' is two bytes): read as latin1, each byte is one character.
    quiche_h3_send_request(clientH3, client, req, req.length, true);
    pair.pump();
    withFirstEvent(serverH3, server, (ev) => {
      const seen: [string, string][] = [];
      let fail = false;
      const cb = registerH3HeaderCallback((name, value) => {
        if (fail) throw new Error('stop');
        seen.push([name, value]);
        return 0;
      });
      expect(quiche_h3_event_for_each_header(ev, cb as never, null)).toBe(0);
      expect(seen.find(([n]) => n === 'x-latin1')?.[1]).toBe(Buffer.from('caf\u00e9').toString('latin1'));
      expect(seen.find(([n]) => n === ':method')?.[1]).toBe('GET');
      fail = true;
      expect(quiche_h3_event_for_each_header(ev, cb as never, null)).toBe(-1);
    });
    pollAll(serverH3, server);
  });

  it("exposes the peer's SETTINGS once received", () => {
    const { pair, client, clientH3, server, serverH3 } = h3Pair();
    // Before the control streams have been exchanged there is nothing to iterate.
    expect(quiche_h3_for_each_setting(clientH3, () => 0, null)).toBeLessThan(0);
    pair.pump();
    pollAll(clientH3, client);
    pollAll(serverH3, server);
    const settings = new Map<bigint, bigint>();
    expect(
      quiche_h3_for_each_setting(
        clientH3,
        (id, value) => {
          settings.set(BigInt(id), BigInt(value));
          return 0;
        },
        null,
      ),
    ).toBe(0);
    expect(settings.get(BigInt(SETTINGS_MAX_FIELD_SECTION_SIZE))).toBe(12_345n);
    expect(settings.get(BigInt(SETTINGS_ENABLE_CONNECT_PROTOCOL))).toBe(1n);
    expect(quiche_h3_extended_connect_enabled_by_peer(clientH3)).toBe(true);
    expect(quiche_h3_extended_connect_enabled_by_peer(serverH3)).toBe(false);
    expect(quiche_h3_dgram_enabled_by_peer(clientH3, client)).toBe(false);

    const stats = new Uint8Array(StructSize.quiche_h3_stats).fill(0xff);
    quiche_h3_conn_stats(clientH3, stats);
    // No dynamic QPACK table is configured, so nothing arrives on its streams.
    expect(decodeH3Stats(stats)).toEqual({
      qpack_encoder_stream_recv_bytes: 0,
      qpack_decoder_stream_recv_bytes: 0,
    });
  });

  it('delivers a server GOAWAY as an event carrying the last stream ID', () => {
    const { pair, client, clientH3, server, serverH3 } = h3Pair();
    pair.pump();
    pollAll(clientH3, client);
    expect(quiche_h3_send_goaway(serverH3, server, 4)).toBe(0);
    pair.pump();
    expect(pollAll(clientH3, client)).toEqual([{ streamId: 4, type: QUICHE_H3_EVENT_GOAWAY }]);
  });

  it('parses an Extensible Priority field value', () => {
    const parsed = new Uint8Array(2);
    const field = utf8('u=5, i');
    expect(quiche_h3_parse_extensible_priority(field, field.length, parsed)).toBe(0);
    expect(Array.from(parsed)).toEqual([5, 1]);
    const defaults = utf8('x=1');
    expect(quiche_h3_parse_extensible_priority(defaults, defaults.length, parsed)).toBe(0);
    expect(Array.from(parsed)).toEqual([3, 0]); // urgency 3, not incremental
  });

  it('sends header lists packed in an H3HeaderBlock, latin1 bytes included; a list too large for the block is refused', () => {
    const { pair, client, server, clientH3, serverH3 } = h3Pair();
    const block = new H3HeaderBlock(1024);
    try {
      const request: Array<[string, string]> = [
        ...REQUEST,
        ['x-latin1', 'caf\u00e9 \u00ff'],
        ['x-empty', ''],
      ];
      const n = block.pack(request);
      expect(n).toBe(request.length);
      expect(Number(quiche_h3_send_request(clientH3, client, block.headers, n, true))).toBe(0);
      // The block is reused at once: quiche kept no pointer into it.
      block.pack([['x-other', 'overwritten']]);
      pair.pump();
      const walked: Array<[string, string]> = [];
      const cb = registerH3HeaderCallback((name, value) => {
        walked.push([name, value]);
        return 0;
      });
      withFirstEvent(serverH3, server, (ev) => quiche_h3_event_for_each_header(ev, cb as never, null));
      expect(walked).toEqual(request);

      const status = block.pack([[':status', '204']]);
      expect(quiche_h3_send_response(serverH3, server, 0, block.headers, status, true)).toBe(0);
      pair.pump();
      expect(pollAll(clientH3, client)[0]).toMatchObject({
        headers: [[':status', '204']],
        moreFrames: false,
      });

      // 2 entries (64 bytes) and 961 bytes of names and values: one byte over.
      expect(
        block.pack([
          ['a', 'x'.repeat(959)],
          ['b', ''],
        ]),
      ).toBe(-1);
      expect(
        block.pack([
          ['a', 'x'.repeat(958)],
          ['b', ''],
        ]),
      ).toBe(2);
    } finally {
      block.free();
      block.free();
    }
    expect(() => block.pack(REQUEST)).toThrow(/freed/);
    expect(() => new H3HeaderBlock(30)).toThrow(RangeError);
    expect(() => new H3HeaderBlock(1001)).toThrow(RangeError);
  });
});
