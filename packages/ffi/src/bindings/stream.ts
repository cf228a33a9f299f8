/**
 * Stream data, shutdown, priority and readiness.
 *
 * @module
 */
import type { QuicheConn, QuicheStreamIter } from '../handles.js';
import { bind } from '../native.js';

/**
 * Reads ordered stream data into `out`. Returns the bytes read or a negative QUICHE_ERR_* (DONE: none yet).
 * `fin` is written only on success, so clear it first; on STREAM_RESET the peer's code is in `outErrorCode`.
 */
export const quiche_conn_stream_recv = bind<
  (
    conn: QuicheConn,
    streamId: number | bigint,
    out: Uint8Array,
    bufLen: number,
    fin: Uint8Array,
    outErrorCode: BigUint64Array,
  ) => number
>(
  'ssize_t quiche_conn_stream_recv(quiche_conn *conn, uint64_t stream_id, void *out, size_t buf_len, void *fin, void *out_error_code)',
);

/**
 * Queues data on a stream, opening it if needed; may accept fewer bytes than offered, or none (DONE).
 * Returns the bytes taken or a negative QUICHE_ERR_*; on STREAM_STOPPED the peer's code is in `outErrorCode`.
 */
export const quiche_conn_stream_send = bind<
  (
    conn: QuicheConn,
    streamId: number | bigint,
    buf: Uint8Array,
    bufLen: number,
    fin: boolean,
    outErrorCode: BigUint64Array,
  ) => number
>(
  'ssize_t quiche_conn_stream_send(quiche_conn *conn, uint64_t stream_id, const void *buf, size_t buf_len, bool fin, void *out_error_code)',
);

/**
 * Sets a stream's urgency (lower goes first; 127 by default) and whether it shares bandwidth incrementally.
 * Creates the stream if it does not exist yet. Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_conn_stream_priority = bind<
  (conn: QuicheConn, streamId: number | bigint, urgency: number, incremental: boolean) => number
>(
  'int quiche_conn_stream_priority(quiche_conn *conn, uint64_t stream_id, uint8_t urgency, bool incremental)',
);

/**
 * Abandons one direction of a stream (`QuicheShutdown`): drops its buffered data and sends STOP_SENDING or
 * RESET_STREAM carrying `err`. Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_conn_stream_shutdown = bind<
  (conn: QuicheConn, streamId: number | bigint, direction: number, err: number | bigint) => number
>('int quiche_conn_stream_shutdown(quiche_conn *conn, uint64_t stream_id, int direction, uint64_t err)');

/**
 * How many bytes the stream can take right now, after stream, connection and congestion limits.
 * Negative QUICHE_ERR_* code for an unknown or finished stream, or STREAM_STOPPED if the peer stopped it.
 */
export const quiche_conn_stream_capacity = bind<(conn: QuicheConn, streamId: number | bigint) => number>(
  'ssize_t quiche_conn_stream_capacity(quiche_conn *conn, uint64_t stream_id)',
);

/** Whether the stream has in-order data waiting to be read. */
export const quiche_conn_stream_readable = bind<(conn: QuicheConn, streamId: number | bigint) => boolean>(
  'bool quiche_conn_stream_readable(const quiche_conn *conn, uint64_t stream_id)',
);

/**
 * Pops the ID of another stream with readable data, or -1 when there is none; no iterator to free.
 * A stream is reported again only after more data arrives for it.
 */
export const quiche_conn_stream_readable_next = bind<(conn: QuicheConn) => number | bigint>(
  'int64_t quiche_conn_stream_readable_next(quiche_conn *conn)',
);

/**
 * Whether `len` more bytes fit into the stream now: 1 yes, 0 no, or a negative QUICHE_ERR_* code.
 * A 0 also sets a low-water mark: `quiche_conn_stream_writable_next` reports the stream once `len` bytes fit.
 */
export const quiche_conn_stream_writable = bind<
  (conn: QuicheConn, streamId: number | bigint, len: number) => number
>('int quiche_conn_stream_writable(quiche_conn *conn, uint64_t stream_id, size_t len)');

/**
 * Pops the next stream that can take more data, or -1 when there is none; no iterator to free.
 * Do not mix it with the `quiche_conn_writable` iterator.
 */
export const quiche_conn_stream_writable_next = bind<(conn: QuicheConn) => number | bigint>(
  'int64_t quiche_conn_stream_writable_next(quiche_conn *conn)',
);

/**
 * Whether the application has consumed everything the peer sent on the stream, up to its end.
 * Also true once the stream no longer exists.
 */
export const quiche_conn_stream_finished = bind<(conn: QuicheConn, streamId: number | bigint) => boolean>(
  'bool quiche_conn_stream_finished(const quiche_conn *conn, uint64_t stream_id)',
);

/**
 * Returns an iterator over the streams with readable data; free it with `quiche_stream_iter_free`.
 * `quiche_conn_stream_readable_next` does the same job without an allocation.
 */
export const quiche_conn_readable = bind<(conn: QuicheConn) => QuicheStreamIter | null>(
  'quiche_stream_iter *quiche_conn_readable(const quiche_conn *conn)',
);

/**
 * Returns an iterator over the streams that can take more data; free it with `quiche_stream_iter_free`.
 * Prefer `quiche_conn_stream_writable_next`, and do not mix the two.
 */
export const quiche_conn_writable = bind<(conn: QuicheConn) => QuicheStreamIter | null>(
  'quiche_stream_iter *quiche_conn_writable(const quiche_conn *conn)',
);
