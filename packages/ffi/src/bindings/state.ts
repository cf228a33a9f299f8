/**
 * Timers, close, identifiers and connection state queries.
 *
 * @module
 */
import type { QuicheConn, QuicheConnectionIdIter, U64 } from '../handles.js';
import { bind } from '../native.js';

/** The largest UDP payload the connection will currently write; size `quiche_conn_send` buffers from it. */
export const quiche_conn_max_send_udp_payload_size = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_max_send_udp_payload_size(const quiche_conn *conn)',
);

/**
 * Nanoseconds until the connection's next timer fires; UINT64_MAX (a bigint) when no timer is armed.
 * When it expires call `quiche_conn_on_timeout`, then send. Round up to whole milliseconds for Node timers.
 */
export const quiche_conn_timeout_as_nanos = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_timeout_as_nanos(const quiche_conn *conn)',
);

/**
 * Like `quiche_conn_timeout_as_nanos` but in milliseconds, rounded down, so a 0.9 ms deadline reads as 0.
 * A timer loop built on it can spin; prefer the nanosecond form. UINT64_MAX (a bigint) means no timer.
 */
export const quiche_conn_timeout_as_millis = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_timeout_as_millis(const quiche_conn *conn)',
);

/**
 * Runs whichever connection timers have expired (loss recovery, idle, draining); an early call does nothing.
 * Follow it with a send loop and an `is_closed` check.
 */
export const quiche_conn_on_timeout = bind<(conn: QuicheConn) => void>(
  'void quiche_conn_on_timeout(quiche_conn *conn)',
);

/**
 * Starts closing the connection with a transport (`app` false) or application error code and reason.
 * Returns 0, or QUICHE_ERR_DONE if it was already closed. Keep sending and handling timers until `is_closed`.
 */
export const quiche_conn_close = bind<
  (
    conn: QuicheConn,
    app: boolean,
    err: number | bigint,
    reason: Uint8Array | null,
    reasonLen: number,
  ) => number
>('int quiche_conn_close(quiche_conn *conn, bool app, uint64_t err, const void *reason, size_t reason_len)');

/**
 * Borrows the printable ID quiche uses for this connection in logs.
 * The bytes are valid until the next call on this connection; copy them with `readBorrowed`.
 */
export const quiche_conn_trace_id = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_trace_id(const quiche_conn *conn, void *out, void *out_len)');

/**
 * Borrows the connection's current source connection ID.
 * The bytes are valid until the next call on this connection; copy them with `readBorrowed`.
 */
export const quiche_conn_source_id = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_source_id(const quiche_conn *conn, void *out, void *out_len)');

/**
 * Returns an iterator over copies of all active source connection IDs.
 * Free it with `quiche_connection_id_iter_free`.
 */
export const quiche_conn_source_ids = bind<(conn: QuicheConn) => QuicheConnectionIdIter | null>(
  'quiche_connection_id_iter *quiche_conn_source_ids(quiche_conn *conn)',
);

/**
 * Lends the next connection ID through the pointer/length out-params and returns true; false when exhausted.
 * The bytes live only as long as the iterator: copy them with `readBorrowed` before freeing it.
 */
export const quiche_connection_id_iter_next = bind<
  (iter: QuicheConnectionIdIter, out: BigUint64Array, outLen: BigUint64Array) => boolean
>('bool quiche_connection_id_iter_next(quiche_connection_id_iter *iter, void *out, void *out_len)');

/** Frees an iterator from `quiche_conn_source_ids` or `quiche_conn_retired_scid_iter`; call exactly once. */
export const quiche_connection_id_iter_free = bind<(iter: QuicheConnectionIdIter) => void>(
  'void quiche_connection_id_iter_free(quiche_connection_id_iter *iter)',
);

/**
 * Borrows the destination connection ID currently used to address the peer.
 * The bytes are valid until the next call on this connection; copy them with `readBorrowed`.
 */
export const quiche_conn_destination_id = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_destination_id(const quiche_conn *conn, void *out, void *out_len)');

/**
 * Borrows the ALPN protocol agreed in the handshake (empty until then).
 * The bytes are valid until the next call on this connection; copy them with `readBorrowed`.
 */
export const quiche_conn_application_proto = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_application_proto(const quiche_conn *conn, void *out, void *out_len)');

/**
 * Borrows the peer's leaf certificate, DER-encoded, if it presented one.
 * When absent only the length is set (to 0) and the pointer is left as is; copy with `readBorrowed` at once.
 */
export const quiche_conn_peer_cert = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_peer_cert(const quiche_conn *conn, void *out, void *out_len)');

/**
 * Borrows the serialized TLS session (once a ticket has arrived), for a later `quiche_conn_set_session`.
 * When absent only the length is set (to 0); copy with `readBorrowed` before the next call on the connection.
 */
export const quiche_conn_session = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_session(const quiche_conn *conn, void *out, void *out_len)');

/**
 * Borrows the TLS server name (SNI) of the connection: on a server, the one the client asked for.
 * When absent only the length is set (to 0); copy with `readBorrowed` before the next call on the connection.
 */
export const quiche_conn_server_name = bind<
  (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void
>('void quiche_conn_server_name(const quiche_conn *conn, void *out, void *out_len)');

/** Whether the handshake has completed. */
export const quiche_conn_is_established = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_established(const quiche_conn *conn)',
);

/** Whether the handshake resumed an earlier TLS session. */
export const quiche_conn_is_resumed = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_resumed(const quiche_conn *conn)',
);

/** Whether the handshake is still running but far enough along for 0-RTT data to flow. */
export const quiche_conn_is_in_early_data = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_in_early_data(const quiche_conn *conn)',
);

/** Whether any stream data or received DATAGRAM is waiting to be read. */
export const quiche_conn_is_readable = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_readable(const quiche_conn *conn)',
);

/** Whether the connection is draining: it is closing and will not send anything more. */
export const quiche_conn_is_draining = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_draining(const quiche_conn *conn)',
);

/** How many more bidirectional streams this endpoint may open under the peer's current limit. */
export const quiche_conn_peer_streams_left_bidi = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_peer_streams_left_bidi(const quiche_conn *conn)',
);

/** How many more unidirectional streams this endpoint may open under the peer's current limit. */
export const quiche_conn_peer_streams_left_uni = bind<(conn: QuicheConn) => U64>(
  'uint64_t quiche_conn_peer_streams_left_uni(const quiche_conn *conn)',
);

/** Whether the connection is completely closed, so it can be freed. */
export const quiche_conn_is_closed = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_closed(const quiche_conn *conn)',
);

/** Whether the connection ended because its idle timeout expired. */
export const quiche_conn_is_timed_out = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_timed_out(const quiche_conn *conn)',
);

/**
 * If the peer closed the connection with an error, fills `isApp`, `errorCode` and the reason; returns true.
 * The reason bytes are borrowed: copy them with `readBorrowed` before the next call on this connection.
 */
export const quiche_conn_peer_error = bind<
  (
    conn: QuicheConn,
    isApp: Uint8Array,
    errorCode: BigUint64Array,
    reason: BigUint64Array,
    reasonLen: BigUint64Array,
  ) => boolean
>(
  'bool quiche_conn_peer_error(const quiche_conn *conn, void *is_app, void *error_code, void *reason, void *reason_len)',
);

/**
 * If this endpoint closed (or is closing) the connection with an error, fills the out-params; returns true.
 * The reason bytes are borrowed: copy them with `readBorrowed` before the next call on this connection.
 */
export const quiche_conn_local_error = bind<
  (
    conn: QuicheConn,
    isApp: Uint8Array,
    errorCode: BigUint64Array,
    reason: BigUint64Array,
    reasonLen: BigUint64Array,
  ) => boolean
>(
  'bool quiche_conn_local_error(const quiche_conn *conn, void *is_app, void *error_code, void *reason, void *reason_len)',
);
