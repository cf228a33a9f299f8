/**
 * DATAGRAM frames (RFC 9221).
 *
 * @module
 */
import type { Pointer, QuicheConn } from '../handles.js';
import { bind } from '../native.js';

/** The biggest DATAGRAM payload currently allowed; QUICHE_ERR_DONE if the peer has not enabled DATAGRAMs. */
export const quiche_conn_dgram_max_writable_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_max_writable_len(const quiche_conn *conn)',
);

/** The size of the oldest received DATAGRAM still queued; QUICHE_ERR_DONE when the queue is empty. */
export const quiche_conn_dgram_recv_front_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_recv_front_len(const quiche_conn *conn)',
);

/** How many received DATAGRAMs are queued for reading. */
export const quiche_conn_dgram_recv_queue_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_recv_queue_len(const quiche_conn *conn)',
);

/** Total payload bytes of the received DATAGRAMs queued for reading. */
export const quiche_conn_dgram_recv_queue_byte_size = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_recv_queue_byte_size(const quiche_conn *conn)',
);

/** How many DATAGRAMs are queued for sending. */
export const quiche_conn_dgram_send_queue_len = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_send_queue_len(const quiche_conn *conn)',
);

/** Total payload bytes of the DATAGRAMs queued for sending. */
export const quiche_conn_dgram_send_queue_byte_size = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_dgram_send_queue_byte_size(const quiche_conn *conn)',
);

/**
 * Takes the oldest received DATAGRAM into `buf`. Returns its length or a negative QUICHE_ERR_* (DONE: none).
 * A too-small `buf` gives BUFFER_TOO_SHORT and the datagram is lost: size it from `dgram_recv_front_len`.
 */
export const quiche_conn_dgram_recv = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number) => number>(
  'ssize_t quiche_conn_dgram_recv(quiche_conn *conn, void *buf, size_t buf_len)',
);

/**
 * Queues `buf` as one DATAGRAM. Returns its length, or a negative QUICHE_ERR_* code: INVALID_STATE if
 * the peer does not take DATAGRAMs, BUFFER_TOO_SHORT if it is too big, DONE if the send queue is full.
 */
export const quiche_conn_dgram_send = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number) => number>(
  'ssize_t quiche_conn_dgram_send(quiche_conn *conn, const void *buf, size_t buf_len)',
);

/**
 * Drops each queued outgoing DATAGRAM for which `f(ptr, len)` returns true; `f` runs only during this call.
 * If the JS callback throws, koffi gives quiche `false`, so that datagram is kept.
 */
export const quiche_conn_dgram_purge_outgoing = bind<
  (conn: QuicheConn, f: (buf: Pointer, len: number) => boolean) => void
>('void quiche_conn_dgram_purge_outgoing(quiche_conn *conn, quiche_dgram_purge_cb *f)');

/** Whether the DATAGRAM send queue is at its configured length. */
export const quiche_conn_is_dgram_send_queue_full = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_dgram_send_queue_full(const quiche_conn *conn)',
);

/**
 * Whether the DATAGRAM receive queue is at its configured length; the next arrival then evicts the oldest.
 */
export const quiche_conn_is_dgram_recv_queue_full = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_dgram_recv_queue_full(const quiche_conn *conn)',
);
