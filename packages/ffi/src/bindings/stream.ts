/**
 * Stream data, shutdown, priority and readiness.
 *
 * @module
 */
import type { QuicheConn, QuicheStreamIter } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_conn_stream_recv */
export const quiche_conn_stream_recv = bind<(conn: QuicheConn, streamId: number | bigint, out: Uint8Array, bufLen: number, fin: Uint8Array, outErrorCode: BigUint64Array) => number>(
  'ssize_t quiche_conn_stream_recv(quiche_conn *conn, uint64_t stream_id, void *out, size_t buf_len, void *fin, void *out_error_code)',
);

/** TODO quiche_conn_stream_send */
export const quiche_conn_stream_send = bind<(conn: QuicheConn, streamId: number | bigint, buf: Uint8Array, bufLen: number, fin: boolean, outErrorCode: BigUint64Array) => number>(
  'ssize_t quiche_conn_stream_send(quiche_conn *conn, uint64_t stream_id, const void *buf, size_t buf_len, bool fin, void *out_error_code)',
);

/** TODO quiche_conn_stream_priority */
export const quiche_conn_stream_priority = bind<(conn: QuicheConn, streamId: number | bigint, urgency: number, incremental: boolean) => number>(
  'int quiche_conn_stream_priority(quiche_conn *conn, uint64_t stream_id, uint8_t urgency, bool incremental)',
);

/** TODO quiche_conn_stream_shutdown */
export const quiche_conn_stream_shutdown = bind<(conn: QuicheConn, streamId: number | bigint, direction: number, err: number | bigint) => number>(
  'int quiche_conn_stream_shutdown(quiche_conn *conn, uint64_t stream_id, int direction, uint64_t err)',
);

/** TODO quiche_conn_stream_capacity */
export const quiche_conn_stream_capacity = bind<(conn: QuicheConn, streamId: number | bigint) => number>(
  'ssize_t quiche_conn_stream_capacity(quiche_conn *conn, uint64_t stream_id)',
);

/** TODO quiche_conn_stream_readable */
export const quiche_conn_stream_readable = bind<(conn: QuicheConn, streamId: number | bigint) => boolean>(
  'bool quiche_conn_stream_readable(const quiche_conn *conn, uint64_t stream_id)',
);

/** TODO quiche_conn_stream_readable_next */
export const quiche_conn_stream_readable_next = bind<(conn: QuicheConn) => number | bigint>(
  'int64_t quiche_conn_stream_readable_next(quiche_conn *conn)',
);

/** TODO quiche_conn_stream_writable */
export const quiche_conn_stream_writable = bind<(conn: QuicheConn, streamId: number | bigint, len: number) => number>(
  'int quiche_conn_stream_writable(quiche_conn *conn, uint64_t stream_id, size_t len)',
);

/** TODO quiche_conn_stream_writable_next */
export const quiche_conn_stream_writable_next = bind<(conn: QuicheConn) => number | bigint>(
  'int64_t quiche_conn_stream_writable_next(quiche_conn *conn)',
);

/** TODO quiche_conn_stream_finished */
export const quiche_conn_stream_finished = bind<(conn: QuicheConn, streamId: number | bigint) => boolean>(
  'bool quiche_conn_stream_finished(const quiche_conn *conn, uint64_t stream_id)',
);

/** TODO quiche_conn_readable */
export const quiche_conn_readable = bind<(conn: QuicheConn) => QuicheStreamIter | null>(
  'quiche_stream_iter *quiche_conn_readable(const quiche_conn *conn)',
);

/** TODO quiche_conn_writable */
export const quiche_conn_writable = bind<(conn: QuicheConn) => QuicheStreamIter | null>(
  'quiche_stream_iter *quiche_conn_writable(const quiche_conn *conn)',
);
