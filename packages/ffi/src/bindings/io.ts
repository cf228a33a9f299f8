/**
 * Per-connection logging, session resumption, and packet receive/send.
 *
 * @module
 */
import type { Pointer, QuicheConn } from '../handles.js';
import { bind } from '../native.js';

/**
 * Appends this connection's TLS secrets, in key-log format, to the file at `path`; false if it can't open it.
 * Writes nothing unless the config called `quiche_config_log_keys`. The file is closed by `quiche_conn_free`.
 */
export const quiche_conn_set_keylog_path = bind<(conn: QuicheConn, path: string) => boolean>(
  'bool quiche_conn_set_keylog_path(quiche_conn *conn, const char *path)',
);

/**
 * Writes this connection's TLS secrets to an open file descriptor (Unix only).
 * Takes ownership of `fd`: quiche closes it when the connection is freed, so never close or reuse it.
 */
export const quiche_conn_set_keylog_fd = bind<(conn: QuicheConn, fd: number) => void>(
  'void quiche_conn_set_keylog_fd(quiche_conn *conn, int fd)',
);

/**
 * Streams qlog events for this connection into a new file at `path`; false if it cannot be created.
 * Fails if the file already exists. Present only in `qlog` builds; the file is closed by `quiche_conn_free`.
 */
export const quiche_conn_set_qlog_path = bind<
  (conn: QuicheConn, path: string, logTitle: string, logDesc: string) => boolean
>(
  'bool quiche_conn_set_qlog_path(quiche_conn *conn, const char *path, const char *log_title, const char *log_desc)',
);

/**
 * Streams qlog events for this connection to an open file descriptor (Unix, `qlog` builds only).
 * Takes ownership of `fd`: quiche closes it when the connection is freed, so never close or reuse it.
 */
export const quiche_conn_set_qlog_fd = bind<
  (conn: QuicheConn, fd: number, logTitle: string, logDesc: string) => void
>('void quiche_conn_set_qlog_fd(quiche_conn *conn, int fd, const char *log_title, const char *log_desc)');

/**
 * Offers a session saved from `quiche_conn_session` for resumption; client side, before any packet flows.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_conn_set_session = bind<(conn: QuicheConn, buf: Uint8Array, bufLen: number) => number>(
  'int quiche_conn_set_session(quiche_conn *conn, const void *buf, size_t buf_len)',
);

/**
 * Overrides the idle timeout, in milliseconds, for this one connection; only before any packet is exchanged.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_conn_set_max_idle_timeout = bind<(conn: QuicheConn, v: number | bigint) => number>(
  'int quiche_conn_set_max_idle_timeout(quiche_conn *conn, uint64_t v)',
);

/**
 * Feeds one received UDP payload to the connection; `info` is a `quiche_recv_info` (see `RecvInfo`).
 * Returns the bytes processed or a negative QUICHE_ERR_* code. The buffer is decrypted in place (clobbered).
 */
export const quiche_conn_recv = bind<
  (conn: QuicheConn, buf: Uint8Array, bufLen: number, info: Pointer | Uint8Array) => number
>('ssize_t quiche_conn_recv(quiche_conn *conn, void *buf, size_t buf_len, const void *info)');

/**
 * Writes the next outgoing packet into `out`, and its addresses and send time into `outInfo` (send_info).
 * Returns the packet length, or a negative QUICHE_ERR_* code; QUICHE_ERR_DONE when there is nothing to send.
 */
export const quiche_conn_send = bind<
  (conn: QuicheConn, out: Uint8Array, outLen: number, outInfo: Uint8Array) => number
>('ssize_t quiche_conn_send(quiche_conn *conn, void *out, size_t out_len, void *out_info)');

/** The largest burst, in bytes, that congestion control currently allows; a sensible cap for one flush. */
export const quiche_conn_send_quantum = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_send_quantum(const quiche_conn *conn)',
);

/**
 * Like `quiche_conn_send`, limited to the path from `from` to `to`; a null address (length 0) matches any.
 * Returns the packet length, or a negative QUICHE_ERR_* code; QUICHE_ERR_DONE when that path has nothing.
 */
export const quiche_conn_send_on_path = bind<
  (
    conn: QuicheConn,
    out: Uint8Array,
    outLen: number,
    from: Uint8Array | null,
    fromLen: number,
    to: Uint8Array | null,
    toLen: number,
    outInfo: Uint8Array,
  ) => number
>(
  'ssize_t quiche_conn_send_on_path(quiche_conn *conn, void *out, size_t out_len, const void *from, socklen_t from_len, const void *to, socklen_t to_len, void *out_info)',
);

/** The send quantum, in bytes, of the path given by its local and peer sockaddrs (lengths 16 or 28). */
export const quiche_conn_send_quantum_on_path = bind<
  (conn: QuicheConn, localAddr: Uint8Array, localLen: number, peerAddr: Uint8Array, peerLen: number) => number
>(
  'size_t quiche_conn_send_quantum_on_path(const quiche_conn *conn, const void *local_addr, socklen_t local_len, const void *peer_addr, socklen_t peer_len)',
);
