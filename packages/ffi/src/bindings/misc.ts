/**
 * Freeing connections, and QUIC variable-length integers.
 *
 * @module
 */
import type { QuicheConn } from '../handles.js';
import { bind } from '../native.js';

/** Frees a connection and what it owns, closing any keylog or qlog output; call exactly once. */
export const quiche_conn_free = bind<(conn: QuicheConn) => void>('void quiche_conn_free(quiche_conn *conn)');

/**
 * Encodes `val` as a QUIC variable-length integer (1, 2, 4 or 8 bytes) at the start of `buf`.
 * Returns 0, not a length, or QUICHE_ERR_BUFFER_TOO_SHORT. A value above 2^62 - 1 aborts the process.
 */
export const quiche_put_varint = bind<(buf: Uint8Array, bufLen: number, val: number | bigint) => number>(
  'int quiche_put_varint(void *buf, size_t buf_len, uint64_t val)',
);

/**
 * Decodes a QUIC variable-length integer from the start of `buf` into `val[0]`.
 * Returns the bytes consumed, or QUICHE_ERR_BUFFER_TOO_SHORT if `buf` ends early.
 */
export const quiche_get_varint = bind<(buf: Uint8Array, bufLen: number, val: BigUint64Array) => number>(
  'ssize_t quiche_get_varint(const void *buf, size_t buf_len, void *val)',
);
