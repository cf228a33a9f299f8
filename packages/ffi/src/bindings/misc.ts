/**
 * Freeing connections, and QUIC variable-length integers.
 *
 * @module
 */
import type { QuicheConn } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_conn_free */
export const quiche_conn_free = bind<(conn: QuicheConn) => void>(
  'void quiche_conn_free(quiche_conn *conn)',
);

/** TODO quiche_put_varint */
export const quiche_put_varint = bind<(buf: Uint8Array, bufLen: number, val: number | bigint) => number>(
  'int quiche_put_varint(void *buf, size_t buf_len, uint64_t val)',
);

/** TODO quiche_get_varint */
export const quiche_get_varint = bind<(buf: Uint8Array, bufLen: number, val: BigUint64Array) => number>(
  'ssize_t quiche_get_varint(const void *buf, size_t buf_len, void *val)',
);
