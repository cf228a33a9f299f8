/**
 * Stream iterators, connection statistics, transport parameters and path statistics.
 *
 * @module
 */
import type { QuicheConn, QuicheStreamIter } from '../handles.js';
import { bind } from '../native.js';

/**
 * Stores the next stream ID in `streamId[0]` and returns true; returns false once the iterator is exhausted.
 */
export const quiche_stream_iter_next = bind<(iter: QuicheStreamIter, streamId: BigUint64Array) => boolean>(
  'bool quiche_stream_iter_next(quiche_stream_iter *iter, void *stream_id)',
);

/** Frees an iterator from `quiche_conn_readable` or `quiche_conn_writable`; call exactly once. */
export const quiche_stream_iter_free = bind<(iter: QuicheStreamIter) => void>(
  'void quiche_stream_iter_free(quiche_stream_iter *iter)',
);

/**
 * Fills `out` (`StructSize.quiche_stats` bytes) with the connection's counters; decode it with `decodeStats`.
 */
export const quiche_conn_stats = bind<(conn: QuicheConn, out: Uint8Array) => void>(
  'void quiche_conn_stats(const quiche_conn *conn, void *out)',
);

/**
 * Copies the peer's transport parameters into `out`; false until they have been received.
 * The last three fields land at other offsets than quiche.h says: read it with {@link decodeTransportParams}.
 */
export const quiche_conn_peer_transport_params = bind<(conn: QuicheConn, out: Uint8Array) => boolean>(
  'bool quiche_conn_peer_transport_params(const quiche_conn *conn, void *out)',
);

/**
 * Fills `out` with the statistics of path `idx` (below `paths_count`); QUICHE_ERR_DONE past the last path.
 * quiche never writes `max_rtt`: zero the buffer before each call, or that field holds stale bytes.
 */
export const quiche_conn_path_stats = bind<(conn: QuicheConn, idx: number, out: Uint8Array) => number>(
  'int quiche_conn_path_stats(const quiche_conn *conn, size_t idx, void *out)',
);

/** Whether this end of the connection is the server. */
export const quiche_conn_is_server = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_server(const quiche_conn *conn)',
);
