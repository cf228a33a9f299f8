/**
 * HTTP/3 (`quiche_h3_*`). Bound for completeness; the high-level API does not use it.
 *
 * @module
 */
import type { QuicheConn, QuicheH3Config, QuicheH3Conn, QuicheH3Event, Pointer, U64 } from '../handles.js';
import type { H3HeaderInit, H3PriorityInit } from '../native.js';
import { bind } from '../native.js';

/** TODO quiche_h3_config_new */
export const quiche_h3_config_new = bind<() => QuicheH3Config | null>(
  'quiche_h3_config *quiche_h3_config_new()',
);

/** TODO quiche_h3_config_set_max_field_section_size */
export const quiche_h3_config_set_max_field_section_size = bind<(config: QuicheH3Config, v: number | bigint) => void>(
  'void quiche_h3_config_set_max_field_section_size(quiche_h3_config *config, uint64_t v)',
);

/** TODO quiche_h3_config_set_qpack_max_table_capacity */
export const quiche_h3_config_set_qpack_max_table_capacity = bind<(config: QuicheH3Config, v: number | bigint) => void>(
  'void quiche_h3_config_set_qpack_max_table_capacity(quiche_h3_config *config, uint64_t v)',
);

/** TODO quiche_h3_config_set_qpack_blocked_streams */
export const quiche_h3_config_set_qpack_blocked_streams = bind<(config: QuicheH3Config, v: number | bigint) => void>(
  'void quiche_h3_config_set_qpack_blocked_streams(quiche_h3_config *config, uint64_t v)',
);

/** TODO quiche_h3_config_enable_extended_connect */
export const quiche_h3_config_enable_extended_connect = bind<(config: QuicheH3Config, enabled: boolean) => void>(
  'void quiche_h3_config_enable_extended_connect(quiche_h3_config *config, bool enabled)',
);

/** TODO quiche_h3_config_set_max_priority_update_size */
export const quiche_h3_config_set_max_priority_update_size = bind<(config: QuicheH3Config, v: number | bigint) => void>(
  'void quiche_h3_config_set_max_priority_update_size(quiche_h3_config *config, uint64_t v)',
);

/** TODO quiche_h3_config_free */
export const quiche_h3_config_free = bind<(config: QuicheH3Config) => void>(
  'void quiche_h3_config_free(quiche_h3_config *config)',
);

/** TODO quiche_h3_conn_new_with_transport */
export const quiche_h3_conn_new_with_transport = bind<(quicheConn: QuicheConn, config: QuicheH3Config) => QuicheH3Conn | null>(
  'quiche_h3_conn *quiche_h3_conn_new_with_transport(quiche_conn *quiche_conn, quiche_h3_config *config)',
);

/** TODO quiche_h3_conn_poll */
export const quiche_h3_conn_poll = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, ev: BigUint64Array) => number | bigint>(
  'int64_t quiche_h3_conn_poll(quiche_h3_conn *conn, quiche_conn *quic_conn, void *ev)',
);

/** TODO quiche_h3_event_type */
export const quiche_h3_event_type = bind<(ev: QuicheH3Event) => number>(
  'int quiche_h3_event_type(quiche_h3_event *ev)',
);

/** TODO quiche_h3_event_for_each_header */
export const quiche_h3_event_for_each_header = bind<(ev: QuicheH3Event, cb: (name: Pointer, nameLen: number, value: Pointer, valueLen: number, argp: Pointer | null) => number, argp: Pointer | null) => number>(
  'int quiche_h3_event_for_each_header(quiche_h3_event *ev, quiche_h3_header_cb *cb, void *argp)',
);

/** TODO quiche_h3_for_each_setting */
export const quiche_h3_for_each_setting = bind<(conn: QuicheH3Conn, cb: (identifier: U64, value: U64, argp: Pointer | null) => number, argp: Pointer | null) => number>(
  'int quiche_h3_for_each_setting(quiche_h3_conn *conn, quiche_h3_setting_cb *cb, void *argp)',
);

/** TODO quiche_h3_event_headers_has_more_frames */
export const quiche_h3_event_headers_has_more_frames = bind<(ev: QuicheH3Event) => boolean>(
  'bool quiche_h3_event_headers_has_more_frames(quiche_h3_event *ev)',
);

/** TODO quiche_h3_extended_connect_enabled_by_peer */
export const quiche_h3_extended_connect_enabled_by_peer = bind<(conn: QuicheH3Conn) => boolean>(
  'bool quiche_h3_extended_connect_enabled_by_peer(quiche_h3_conn *conn)',
);

/** TODO quiche_h3_event_free */
export const quiche_h3_event_free = bind<(ev: QuicheH3Event) => void>(
  'void quiche_h3_event_free(quiche_h3_event *ev)',
);

/** TODO quiche_h3_send_request */
export const quiche_h3_send_request = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, headers: readonly H3HeaderInit[], headersLen: number, fin: boolean) => number | bigint>(
  'int64_t quiche_h3_send_request(quiche_h3_conn *conn, quiche_conn *quic_conn, const quiche_h3_header *headers, size_t headers_len, bool fin)',
);

/** TODO quiche_h3_send_response */
export const quiche_h3_send_response = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, headers: readonly H3HeaderInit[], headersLen: number, fin: boolean) => number>(
  'int quiche_h3_send_response(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_header *headers, size_t headers_len, bool fin)',
);

/** TODO quiche_h3_send_response_with_priority */
export const quiche_h3_send_response_with_priority = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, headers: readonly H3HeaderInit[], headersLen: number, priority: H3PriorityInit, fin: boolean) => number>(
  'int quiche_h3_send_response_with_priority(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_header *headers, size_t headers_len, const quiche_h3_priority *priority, bool fin)',
);

/** TODO quiche_h3_send_additional_headers */
export const quiche_h3_send_additional_headers = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, headers: readonly H3HeaderInit[], headersLen: number, isTrailerSection: boolean, fin: boolean) => number>(
  'int quiche_h3_send_additional_headers(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_header *headers, size_t headers_len, bool is_trailer_section, bool fin)',
);

/** TODO quiche_h3_send_body */
export const quiche_h3_send_body = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, body: Uint8Array, bodyLen: number, fin: boolean) => number>(
  'ssize_t quiche_h3_send_body(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const void *body, size_t body_len, bool fin)',
);

/** TODO quiche_h3_recv_body */
export const quiche_h3_recv_body = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, out: Uint8Array, outLen: number) => number>(
  'ssize_t quiche_h3_recv_body(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, void *out, size_t out_len)',
);

/** TODO quiche_h3_send_goaway */
export const quiche_h3_send_goaway = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, id: number | bigint) => number>(
  'int quiche_h3_send_goaway(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t id)',
);

/** TODO quiche_h3_parse_extensible_priority */
export const quiche_h3_parse_extensible_priority = bind<(priority: Uint8Array, priorityLen: number, parsed: Uint8Array) => number>(
  'int quiche_h3_parse_extensible_priority(void *priority, size_t priority_len, void *parsed)',
);

/** TODO quiche_h3_send_priority_update_for_request */
export const quiche_h3_send_priority_update_for_request = bind<(conn: QuicheH3Conn, quicConn: QuicheConn, streamId: number | bigint, priority: H3PriorityInit) => number>(
  'int quiche_h3_send_priority_update_for_request(quiche_h3_conn *conn, quiche_conn *quic_conn, uint64_t stream_id, const quiche_h3_priority *priority)',
);

/** TODO quiche_h3_take_last_priority_update */
export const quiche_h3_take_last_priority_update = bind<(conn: QuicheH3Conn, prioritizedElementId: number | bigint, cb: (value: Pointer, valueLen: U64, argp: Pointer | null) => number, argp: Pointer | null) => number>(
  'int quiche_h3_take_last_priority_update(quiche_h3_conn *conn, uint64_t prioritized_element_id, quiche_h3_priority_cb *cb, void *argp)',
);

/** TODO quiche_h3_dgram_enabled_by_peer */
export const quiche_h3_dgram_enabled_by_peer = bind<(conn: QuicheH3Conn, quicConn: QuicheConn) => boolean>(
  'bool quiche_h3_dgram_enabled_by_peer(quiche_h3_conn *conn, quiche_conn *quic_conn)',
);

/** TODO quiche_h3_conn_stats */
export const quiche_h3_conn_stats = bind<(conn: QuicheH3Conn, out: Uint8Array) => void>(
  'void quiche_h3_conn_stats(const quiche_h3_conn *conn, void *out)',
);

/** TODO quiche_h3_conn_free */
export const quiche_h3_conn_free = bind<(conn: QuicheH3Conn) => void>(
  'void quiche_h3_conn_free(quiche_h3_conn *conn)',
);
