/**
 * HTTP/3 (`quiche_h3_*`), used by `@quichex/h3`. The `quiche_h3_send_*`
 * functions take their header list either as an array of
 * {@link H3HeaderInit} objects, which koffi converts at each call, or
 * packed in native memory by an {@link H3HeaderBlock} (about a fifth of
 * the cost).
 *
 * @module
 */
import type {
  H3HeaderArray,
  Pointer,
  QuicheConn,
  QuicheH3Config,
  QuicheH3Conn,
  QuicheH3Event,
  U64,
} from '../handles.js';
import type { H3HeaderInit, H3PriorityInit } from '../native.js';
import { bind } from '../native.js';

/**
 * Allocates an HTTP/3 configuration with default settings; NULL on failure.
 * Free it with `quiche_h3_config_free`.
 */
export const quiche_h3_config_new = bind<() => QuicheH3Config | null>(
  'quiche_h3_config *quiche_h3_config_new()',
);

/** Sets the largest header section, in bytes, this endpoint accepts (SETTINGS_MAX_FIELD_SECTION_SIZE). */
export const quiche_h3_config_set_max_field_section_size = bind<
  (config: QuicheH3Config, v: number | bigint) => void
>('void quiche_h3_config_set_max_field_section_size(quiche_h3_config *config, uint64_t v)');

/** Sets the QPACK dynamic table size offered to the peer's encoder (SETTINGS_QPACK_MAX_TABLE_CAPACITY). */
export const quiche_h3_config_set_qpack_max_table_capacity = bind<
  (config: QuicheH3Config, v: number | bigint) => void
>('void quiche_h3_config_set_qpack_max_table_capacity(quiche_h3_config *config, uint64_t v)');

/** Sets how many streams may wait on QPACK dynamic table updates at once (SETTINGS_QPACK_BLOCKED_STREAMS). */
export const quiche_h3_config_set_qpack_blocked_streams = bind<
  (config: QuicheH3Config, v: number | bigint) => void
>('void quiche_h3_config_set_qpack_blocked_streams(quiche_h3_config *config, uint64_t v)');

/** Advertises (or not) support for extended CONNECT (RFC 9220), as used by WebSockets and WebTransport. */
export const quiche_h3_config_enable_extended_connect = bind<
  (config: QuicheH3Config, enabled: boolean) => void
>('void quiche_h3_config_enable_extended_connect(quiche_h3_config *config, bool enabled)');

/** Caps the payload size of PRIORITY_UPDATE frames accepted from the peer. */
export const quiche_h3_config_set_max_priority_update_size = bind<
  (config: QuicheH3Config, v: number | bigint) => void
>('void quiche_h3_config_set_max_priority_update_size(quiche_h3_config *config, uint64_t v)');

/** Frees an HTTP/3 configuration; call exactly once. It can go as soon as the HTTP/3 connection exists. */
export const quiche_h3_config_free = bind<(config: QuicheH3Config) => void>(
  'void quiche_h3_config_free(quiche_h3_config *config)',
);

/**
 * Starts HTTP/3 on a QUIC connection, opening its control and QPACK streams; NULL on failure.
 * A client must wait until the handshake is established or in early data. Free with `quiche_h3_conn_free`.
 */
export const quiche_h3_conn_new_with_transport = bind<
  (quicheConn: QuicheConn, config: QuicheH3Config) => QuicheH3Conn | null
>('quiche_h3_conn *quiche_h3_conn_new_with_transport(quiche_conn *quiche_conn, quiche_h3_config *config)');

/**
 * Processes received HTTP/3 data; returns the stream ID of the next event and stores its handle in `ev[0]`.
 * Otherwise a negative QUICHE_H3_ERR_* code (DONE when idle), and `ev` is untouched. Free each event.
 */
export const quiche_h3_conn_poll = bind<
  (conn: QuicheH3Conn, quicConn: QuicheConn, ev: BigUint64Array) => number | bigint
>('int64_t quiche_h3_conn_poll(quiche_h3_conn *conn, quiche_conn *quic_conn, void *ev)');

/** The kind of an HTTP/3 event (`QuicheH3EventType`). */
export const quiche_h3_event_type = bind<(ev: QuicheH3Event) => number>(
  'int quiche_h3_event_type(quiche_h3_event *ev)',
);

/**
 * Calls `cb(name, nameLen, value, valueLen, argp)` for each header of a HEADERS event.
 * A non-zero result stops the walk and is returned. Aborts the process for any other event type.
 * If the JS callback throws, koffi returns 0 to quiche, which means continue.
 */
export const quiche_h3_event_for_each_header = bind<
  (
    ev: QuicheH3Event,
    cb: (name: Pointer, nameLen: number, value: Pointer, valueLen: number, argp: Pointer | null) => number,
    argp: Pointer | null,
  ) => number
>('int quiche_h3_event_for_each_header(quiche_h3_event *ev, quiche_h3_header_cb *cb, void *argp)');

/**
 * Calls `cb(id, value, argp)` for each setting the peer sent; a non-zero result stops and is returned.
 * Returns -1 while the peer's SETTINGS frame has not arrived.
 */
export const quiche_h3_for_each_setting = bind<
  (
    conn: QuicheH3Conn,
    cb: (identifier: U64, value: U64, argp: Pointer | null) => number,
    argp: Pointer | null,
  ) => number
>('int quiche_h3_for_each_setting(quiche_h3_conn *conn, quiche_h3_setting_cb *cb, void *argp)');

/**
 * For a HEADERS event, whether body data or trailers follow on that stream.
 * Aborts the process for any other event type.
 */
export const quiche_h3_event_headers_has_more_frames = bind<(ev: QuicheH3Event) => boolean>(
  'bool quiche_h3_event_headers_has_more_frames(quiche_h3_event *ev)',
);

/** Whether the peer advertised extended CONNECT support. */
export const quiche_h3_extended_connect_enabled_by_peer = bind<(conn: QuicheH3Conn) => boolean>(
  'bool quiche_h3_extended_connect_enabled_by_peer(quiche_h3_conn *conn)',
);

/** Frees an event from `quiche_h3_conn_poll`; call exactly once. */
export const quiche_h3_event_free = bind<(ev: QuicheH3Event) => void>(
  'void quiche_h3_event_free(quiche_h3_event *ev)',
);

/**
 * Opens a request stream and sends the header list on it; `fin` ends the request without a body.
 * Returns the new stream ID or a negative QUICHE_H3_ERR_* code; STREAM_BLOCKED: retry when there is room.
 */
export const quiche_h3_send_request = bind<
  (
    conn: QuicheH3Conn,
    quicConn: QuicheConn,
    headers: readonly H3HeaderInit[] | H3HeaderArray,
    headersLen: number,
    fin: boolean,
  ) => number | bigint
>(
  'int64_t quiche_h3_send_request(quiche_h3_conn *conn, quiche_conn *quic_conn, const quiche_h3_header *headers, size_t headers_len, bool fin)',
);

/**
 * Sends the response header list on a request stream, with default priority.
 * Returns 0 or a negative QUICHE_H3_ERR_* code.
 */
export const quiche_h3_send_response = bind<
  (
    conn: QuicheH3Conn,
    quicConn: QuicheConn,
    streamId: number | bigint,
    headers: readonly H3HeaderInit[] | H3HeaderArray,
    headersLen: number,
    fin: boolean,
  ) => number
>(
  'int quiche_h3_send_response(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_header *headers, size_t headers_len, bool fin)',
);

/**
 * Sends the response header list on a request stream and gives the stream the stated priority.
 * Returns 0 or a negative QUICHE_H3_ERR_* code.
 */
export const quiche_h3_send_response_with_priority = bind<
  (
    conn: QuicheH3Conn,
    quicConn: QuicheConn,
    streamId: number | bigint,
    headers: readonly H3HeaderInit[] | H3HeaderArray,
    headersLen: number,
    priority: H3PriorityInit,
    fin: boolean,
  ) => number
>(
  'int quiche_h3_send_response_with_priority(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_header *headers, size_t headers_len, const quiche_h3_priority *priority, bool fin)',
);

/**
 * Sends a further header section on a stream that already has one, e.g. trailers (`isTrailerSection`).
 * Returns 0 or a negative QUICHE_H3_ERR_* code.
 */
export const quiche_h3_send_additional_headers = bind<
  (
    conn: QuicheH3Conn,
    quicConn: QuicheConn,
    streamId: number | bigint,
    headers: readonly H3HeaderInit[] | H3HeaderArray,
    headersLen: number,
    isTrailerSection: boolean,
    fin: boolean,
  ) => number
>(
  'int quiche_h3_send_additional_headers(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_header *headers, size_t headers_len, bool is_trailer_section, bool fin)',
);

/**
 * Sends body bytes on a stream; may take fewer than offered. Returns the bytes taken or a negative code.
 * For a bare FIN pass a 1-byte buffer with length 0: koffi turns an empty array into NULL.
 */
export const quiche_h3_send_body = bind<
  (
    conn: QuicheH3Conn,
    quicConn: QuicheConn,
    streamId: number | bigint,
    body: Uint8Array,
    bodyLen: number,
    fin: boolean,
  ) => number
>(
  'ssize_t quiche_h3_send_body(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const void *body, size_t body_len, bool fin)',
);

/**
 * Reads body bytes of a stream into `out`, typically after a DATA event.
 * Returns the bytes read, or a negative QUICHE_H3_ERR_* code (DONE when nothing is buffered).
 */
export const quiche_h3_recv_body = bind<
  (
    conn: QuicheH3Conn,
    quicConn: QuicheConn,
    streamId: number | bigint,
    out: Uint8Array,
    outLen: number,
  ) => number
>(
  'ssize_t quiche_h3_recv_body(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, void *out, size_t out_len)',
);

/**
 * Sends GOAWAY to begin a graceful shutdown; on a server `id` is the last request stream it will handle.
 * A later GOAWAY may not raise it. The QUIC connection stays open: close it yourself. Returns 0 or < 0.
 */
export const quiche_h3_send_goaway = bind<
  (conn: QuicheH3Conn, quicConn: QuicheConn, id: number | bigint) => number
>('int quiche_h3_send_goaway(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t id)');

/**
 * Parses a `priority` field value such as `u=2, i` into the 2-byte `quiche_h3_priority` at `parsed`.
 * Returns 0 or a negative QUICHE_H3_ERR_* code. Present only in builds with the `sfv` feature.
 */
export const quiche_h3_parse_extensible_priority = bind<
  (priority: Uint8Array, priorityLen: number, parsed: Uint8Array) => number
>('int quiche_h3_parse_extensible_priority(void *priority, size_t priority_len, void *parsed)');

/**
 * Client only: sends a PRIORITY_UPDATE frame asking the server to reprioritise a request stream.
 * Returns 0 or a negative QUICHE_H3_ERR_* code.
 */
export const quiche_h3_send_priority_update_for_request = bind<
  (conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, priority: H3PriorityInit) => number
>(
  'int quiche_h3_send_priority_update_for_request(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_priority *priority)',
);

/**
 * Passes the newest PRIORITY_UPDATE value for a stream to `cb(value, len, argp)` once, then drops it.
 * Returns 0, the callback's non-zero result, or a negative QUICHE_H3_ERR_* code (DONE if there is none).
 */
export const quiche_h3_take_last_priority_update = bind<
  (
    conn: QuicheH3Conn,
    prioritizedElementId: number | bigint,
    cb: (value: Pointer, valueLen: U64, argp: Pointer | null) => number,
    argp: Pointer | null,
  ) => number
>(
  'int quiche_h3_take_last_priority_update(quiche_h3_conn *conn, uint64_t prioritized_element_id, quiche_h3_priority_cb *cb, void *argp)',
);

/**
 * Whether HTTP/3 datagrams are usable: the peer's SETTINGS allow them and the QUIC connection has DATAGRAMs.
 */
export const quiche_h3_dgram_enabled_by_peer = bind<(conn: QuicheH3Conn, quicConn: QuicheConn) => boolean>(
  'bool quiche_h3_dgram_enabled_by_peer(quiche_h3_conn *conn, quiche_conn *quic_conn)',
);

/**
 * Fills `out` with the 16-byte `quiche_h3_stats` (QPACK stream byte counters); read it with `decodeH3Stats`.
 */
export const quiche_h3_conn_stats = bind<(conn: QuicheH3Conn, out: Uint8Array) => void>(
  'void quiche_h3_conn_stats(const quiche_h3_conn *conn, void *out)',
);

/** Frees an HTTP/3 connection; call exactly once, and before freeing the QUIC connection it runs on. */
export const quiche_h3_conn_free = bind<(conn: QuicheH3Conn) => void>(
  'void quiche_h3_conn_free(quiche_h3_conn *conn)',
);
