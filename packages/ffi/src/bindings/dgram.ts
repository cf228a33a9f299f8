/**
 * DATAGRAM frames (RFC 9221).
 *
 * @module
 */
import type { QuicheConn, Pointer } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_conn_dgram_max_writable_len */
export const quiche_conn_dgram_max_writable_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_max_writable_len(const quiche_conn *conn)',
);

/** TODO quiche_conn_dgram_recv_front_len */
export const quiche_conn_dgram_recv_front_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_recv_front_len(const quiche_conn *conn)',
);

/** TODO quiche_conn_dgram_recv_queue_len */
export const quiche_conn_dgram_recv_queue_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_recv_queue_len(const quiche_conn *conn)',
);

/** TODO quiche_conn_dgram_recv_queue_byte_size */
export const quiche_conn_dgram_recv_queue_byte_size = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_recv_queue_byte_size(const quiche_conn *conn)',
);

/** TODO quiche_conn_dgram_send_queue_len */
export const quiche_conn_dgram_send_queue_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_send_queue_len(const quiche_conn *conn)',
);

/** TODO quiche_conn_dgram_send_queue_byte_size */
export const quiche_conn_dgram_send_queue_byte_size = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_send_queue_byte_size(const quiche_conn *conn)',
);

/** TODO quiche_conn_dgram_recv */
export const quiche_conn_dgram_recv = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number) => number>(
  'ssize_t quiche_conn_dgram_recv(quiche_conn *conn, void *buf, size_t buf_len)',
);

/** TODO quiche_conn_dgram_send */
export const quiche_conn_dgram_send = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number) => number>(
  'ssize_t quiche_conn_dgram_send(quiche_conn *conn, const void *buf, size_t buf_len)',
);

/** TODO quiche_conn_dgram_purge_outgoing */
export const quiche_conn_dgram_purge_outgoing = bind<(conn: QuicheConn, f: (buf: Pointer, len: number) => boolean) => void>(
  'void quiche_conn_dgram_purge_outgoing(quiche_conn *conn, quiche_dgram_purge_cb *f)',
);

/** TODO quiche_conn_is_dgram_send_queue_full */
export const quiche_conn_is_dgram_send_queue_full = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_dgram_send_queue_full(const quiche_conn *conn)',
);

/** TODO quiche_conn_is_dgram_recv_queue_full */
export const quiche_conn_is_dgram_recv_queue_full = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_dgram_recv_queue_full(const quiche_conn *conn)',
);
