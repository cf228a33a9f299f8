/**
 * Per-connection logging, session resumption, and packet receive/send.
 *
 * @module
 */
import type { QuicheConn, Pointer } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_conn_set_keylog_path */
export const quiche_conn_set_keylog_path = bind<(conn: QuicheConn, path: string) => boolean>(
  'bool quiche_conn_set_keylog_path(quiche_conn *conn, const char *path)',
);

/** TODO quiche_conn_set_keylog_fd */
export const quiche_conn_set_keylog_fd = bind<(conn: QuicheConn, fd: number) => void>(
  'void quiche_conn_set_keylog_fd(quiche_conn *conn, int fd)',
);

/** TODO quiche_conn_set_qlog_path */
export const quiche_conn_set_qlog_path = bind<(conn: QuicheConn, path: string, logTitle: string, logDesc: string) => boolean>(
  'bool quiche_conn_set_qlog_path(quiche_conn *conn, const char *path, const char *log_title, const char *log_desc)',
);

/** TODO quiche_conn_set_qlog_fd */
export const quiche_conn_set_qlog_fd = bind<(conn: QuicheConn, fd: number, logTitle: string, logDesc: string) => void>(
  'void quiche_conn_set_qlog_fd(quiche_conn *conn, int fd, const char *log_title, const char *log_desc)',
);

/** TODO quiche_conn_set_session */
export const quiche_conn_set_session = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number) => number>(
  'int quiche_conn_set_session(quiche_conn *conn, const void *buf, size_t buf_len)',
);

/** TODO quiche_conn_set_max_idle_timeout */
export const quiche_conn_set_max_idle_timeout = bind<(conn: QuicheConn, v: number | bigint) => number>(
  'int quiche_conn_set_max_idle_timeout(quiche_conn *conn, uint64_t v)',
);

/** TODO quiche_conn_recv */
export const quiche_conn_recv = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number, info: Pointer | Uint8Array) => number>(
  'ssize_t quiche_conn_recv(quiche_conn *conn, void *buf, size_t buf_len, const void *info)',
);

/** TODO quiche_conn_send */
export const quiche_conn_send = bind<(conn: QuicheConn, out: Uint8Array, outLen: number, outInfo: Uint8Array) => number>(
  'ssize_t quiche_conn_send(quiche_conn *conn, void *out, size_t out_len, void *out_info)',
);

/** TODO quiche_conn_send_quantum */
export const quiche_conn_send_quantum = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_send_quantum(const quiche_conn *conn)',
);

/** TODO quiche_conn_send_on_path */
export const quiche_conn_send_on_path = bind<(conn: QuicheConn, out: Uint8Array, outLen: number, from: Uint8Array | null, fromLen: number, to: Uint8Array | null, toLen: number, outInfo: Uint8Array) => number>(
  'ssize_t quiche_conn_send_on_path(quiche_conn *conn, void *out, size_t out_len, const void *from, socklen_t from_len, const void *to, socklen_t to_len, void *out_info)',
);

/** TODO quiche_conn_send_quantum_on_path */
export const quiche_conn_send_quantum_on_path = bind<(conn: QuicheConn, localAddr: Uint8Array, localLen: number, peerAddr: Uint8Array, peerLen: number) => number>(
  'size_t quiche_conn_send_quantum_on_path(const quiche_conn *conn, const void *local_addr, socklen_t local_len, const void *peer_addr, socklen_t peer_len)',
);
