/**
 * Stream iterators, connection statistics, transport parameters and path statistics.
 *
 * @module
 */
import type { QuicheConn, QuicheStreamIter } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_stream_iter_next */
export const quiche_stream_iter_next = bind<(iter: QuicheStreamIter, streamId: BigUint64Array) => boolean>(
  'bool quiche_stream_iter_next(quiche_stream_iter *iter, void *stream_id)',
);

/** TODO quiche_stream_iter_free */
export const quiche_stream_iter_free = bind<(iter: QuicheStreamIter) => void>(
  'void quiche_stream_iter_free(quiche_stream_iter *iter)',
);

/** TODO quiche_conn_stats */
export const quiche_conn_stats = bind<(conn: QuicheConn, out: Uint8Array) => void>(
  'void quiche_conn_stats(const quiche_conn *conn, void *out)',
);

/** TODO quiche_conn_peer_transport_params */
export const quiche_conn_peer_transport_params = bind<(conn: QuicheConn, out: Uint8Array) => boolean>(
  'bool quiche_conn_peer_transport_params(const quiche_conn *conn, void *out)',
);

/** TODO quiche_conn_path_stats */
export const quiche_conn_path_stats = bind<(conn: QuicheConn, idx: number, out: Uint8Array) => number>(
  'int quiche_conn_path_stats(const quiche_conn *conn, size_t idx, void *out)',
);

/** TODO quiche_conn_is_server */
export const quiche_conn_is_server = bind<(conn: QuicheConn) => boolean>(
  'bool quiche_conn_is_server(const quiche_conn *conn)',
);
