/**
 * Timers, close, identifiers and connection state queries.
 *
 * @module
 */
import type { QuicheConn, QuicheConnectionIdIter, U64 } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_conn_max_send_udp_payload_size */
export const quiche_conn_max_send_udp_payload_size = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_max_send_udp_payload_size(const quiche_conn *conn)',
);

/** TODO quiche_conn_timeout_as_nanos */
export const quiche_conn_timeout_as_nanos = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_timeout_as_nanos(const quiche_conn *conn)',
);

/** TODO quiche_conn_timeout_as_millis */
export const quiche_conn_timeout_as_millis = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_timeout_as_millis(const quiche_conn *conn)',
);

/** TODO quiche_conn_on_timeout */
export const quiche_conn_on_timeout = bind<(conn: QuicheConn) => void>(
  'void quiche_conn_on_timeout(quiche_conn *conn)',
);

/** TODO quiche_conn_close */
export const quiche_conn_close = bind<(conn: QuicheConn, app: boolean, err: number | bigint, reason: Uint8Array | null, reasonLen: number) => number>(
  'int quiche_conn_close(quiche_conn *conn, bool app, uint64_t err, const void *reason, size_t reason_len)',
);

/** TODO quiche_conn_trace_id */
export const quiche_conn_trace_id = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_trace_id(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_source_id */
export const quiche_conn_source_id = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_source_id(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_source_ids */
export const quiche_conn_source_ids = bind<(conn: QuicheConn) => QuicheConnectionIdIter | null>(
  'quiche_connection_id_iter *quiche_conn_source_ids(quiche_conn *conn)',
);

/** TODO quiche_connection_id_iter_next */
export const quiche_connection_id_iter_next = bind<(iter: QuicheConnectionIdIter, out: BigUint64Array, outLen: BigUint64Array) => boolean>(
  'bool quiche_connection_id_iter_next(quiche_connection_id_iter *iter, void *out, void *out_len)',
);

/** TODO quiche_connection_id_iter_free */
export const quiche_connection_id_iter_free = bind<(iter: QuicheConnectionIdIter) => void>(
  'void quiche_connection_id_iter_free(quiche_connection_id_iter *iter)',
);

/** TODO quiche_conn_destination_id */
export const quiche_conn_destination_id = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_destination_id(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_application_proto */
export const quiche_conn_application_proto = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_application_proto(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_peer_cert */
export const quiche_conn_peer_cert = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_peer_cert(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_session */
export const quiche_conn_session = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_session(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_server_name */
export const quiche_conn_server_name = bind<(conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void>(
  'void quiche_conn_server_name(const quiche_conn *conn, void *out, void *out_len)',
);

/** TODO quiche_conn_is_established */
export const quiche_conn_is_established = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_established(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_resumed */
export const quiche_conn_is_resumed = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_resumed(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_in_early_data */
export const quiche_conn_is_in_early_data = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_in_early_data(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_readable */
export const quiche_conn_is_readable = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_readable(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_draining */
export const quiche_conn_is_draining = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_draining(const quiche_conn *conn)',
);

/** TODO quiche_conn_peer_streams_left_bidi */
export const quiche_conn_peer_streams_left_bidi = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_peer_streams_left_bidi(const quiche_conn *conn)',
);

/** TODO quiche_conn_peer_streams_left_uni */
export const quiche_conn_peer_streams_left_uni = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_peer_streams_left_uni(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_closed */
export const quiche_conn_is_closed = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_closed(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_timed_out */
export const quiche_conn_is_timed_out = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_timed_out(const quiche_conn *conn)',
);

/** TODO quiche_conn_peer_error */
export const quiche_conn_peer_error = bind<(conn: QuicheConn, isApp: Uint8Array, errorCode: BigUint64Array, reason: BigUint64Array, reasonLen: BigUint64Array) => boolean>(
  'bool quiche_conn_peer_error(const quiche_conn *conn, void *is_app, void *error_code, void *reason, void *reason_len)',
);

/** TODO quiche_conn_local_error */
export const quiche_conn_local_error = bind<(conn: QuicheConn, isApp: Uint8Array, errorCode: BigUint64Array, reason: BigUint64Array, reasonLen: BigUint64Array) => boolean>(
  'bool quiche_conn_local_error(const quiche_conn *conn, void *is_app, void *error_code, void *reason, void *reason_len)',
);
