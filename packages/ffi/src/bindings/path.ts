/**
 * Connection IDs, paths, migration and path events.
 *
 * @module
 */
import type { QuicheConn, QuicheConnectionIdIter, QuichePathEvent, QuicheSocketAddrIter } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_conn_send_ack_eliciting */
export const quiche_conn_send_ack_eliciting = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_send_ack_eliciting(quiche_conn *conn)',
);

/** TODO quiche_conn_send_ack_eliciting_on_path */
export const quiche_conn_send_ack_eliciting_on_path = bind<(conn: QuicheConn, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number) => number>(
  'ssize_t quiche_conn_send_ack_eliciting_on_path(quiche_conn *conn, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len)',
);

/** TODO quiche_conn_retired_scid_iter */
export const quiche_conn_retired_scid_iter = bind<(conn: QuicheConn) => QuicheConnectionIdIter | null>(
  'quiche_connection_id_iter *quiche_conn_retired_scid_iter(quiche_conn *conn)',
);

/** TODO quiche_conn_retired_scids */
export const quiche_conn_retired_scids = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_retired_scids(const quiche_conn *conn)',
);

/** TODO quiche_conn_available_dcids */
export const quiche_conn_available_dcids = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_available_dcids(const quiche_conn *conn)',
);

/** TODO quiche_conn_scids_left */
export const quiche_conn_scids_left = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_scids_left(quiche_conn *conn)',
);

/** TODO quiche_conn_active_scids */
export const quiche_conn_active_scids = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_active_scids(quiche_conn *conn)',
);

/** TODO quiche_conn_new_scid */
export const quiche_conn_new_scid = bind<(conn: QuicheConn, scid: Uint8Array, scidLen: number, resetToken: Uint8Array, retireIfNeeded: boolean, scidSeq: BigUint64Array) => number>(
  'int quiche_conn_new_scid(quiche_conn *conn, const void *scid, size_t scid_len, const void *reset_token, bool retire_if_needed, void *scid_seq)',
);

/** TODO quiche_conn_probe_path */
export const quiche_conn_probe_path = bind<(conn: QuicheConn, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number, seq: BigUint64Array) => number>(
  'int quiche_conn_probe_path(quiche_conn *conn, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, void *seq)',
);

/** TODO quiche_conn_migrate_source */
export const quiche_conn_migrate_source = bind<(conn: QuicheConn, local: Uint8Array, localLen: number, seq: BigUint64Array) => number>(
  'int quiche_conn_migrate_source(quiche_conn *conn, const void *local, socklen_t local_len, void *seq)',
);

/** TODO quiche_conn_migrate */
export const quiche_conn_migrate = bind<(conn: QuicheConn, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number, seq: BigUint64Array) => number>(
  'int quiche_conn_migrate(quiche_conn *conn, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, void *seq)',
);

/** TODO quiche_conn_path_event_next */
export const quiche_conn_path_event_next = bind<(conn: QuicheConn) => QuichePathEvent | null>(
  'quiche_path_event *quiche_conn_path_event_next(quiche_conn *conn)',
);

/** TODO quiche_path_event_type */
export const quiche_path_event_type = bind<(ev: QuichePathEvent) => number>(
  'int quiche_path_event_type(const quiche_path_event *ev)',
);

/** TODO quiche_path_event_new */
export const quiche_path_event_new = bind<(ev: QuichePathEvent, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array) => void>(
  'void quiche_path_event_new(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/** TODO quiche_path_event_validated */
export const quiche_path_event_validated = bind<(ev: QuichePathEvent, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array) => void>(
  'void quiche_path_event_validated(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/** TODO quiche_path_event_failed_validation */
export const quiche_path_event_failed_validation = bind<(ev: QuichePathEvent, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array) => void>(
  'void quiche_path_event_failed_validation(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/** TODO quiche_path_event_closed */
export const quiche_path_event_closed = bind<(ev: QuichePathEvent, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array) => void>(
  'void quiche_path_event_closed(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/** TODO quiche_path_event_reused_source_connection_id */
export const quiche_path_event_reused_source_connection_id = bind<(ev: QuichePathEvent, id: BigUint64Array, oldLocal: Uint8Array, oldLocalLen: Uint32Array, oldPeer: Uint8Array, oldPeerLen: Uint32Array, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array) => void>(
  'void quiche_path_event_reused_source_connection_id(const quiche_path_event *ev, void *id, void *old_local, void *old_local_len, void *old_peer, void *old_peer_len, void *local, void *local_len, void *peer, void *peer_len)',
);

/** TODO quiche_path_event_peer_migrated */
export const quiche_path_event_peer_migrated = bind<(ev: QuichePathEvent, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array) => void>(
  'void quiche_path_event_peer_migrated(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/** TODO quiche_path_event_pmtu_updated */
export const quiche_path_event_pmtu_updated = bind<(ev: QuichePathEvent, local: Uint8Array, localLen: Uint32Array, peer: Uint8Array, peerLen: Uint32Array, pmtu: BigUint64Array) => void>(
  'void quiche_path_event_pmtu_updated(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len, void *pmtu)',
);

/** TODO quiche_path_event_free */
export const quiche_path_event_free = bind<(ev: QuichePathEvent) => void>(
  'void quiche_path_event_free(quiche_path_event *ev)',
);

/** TODO quiche_conn_retire_dcid */
export const quiche_conn_retire_dcid = bind<(conn: QuicheConn, dcidSeq: number | bigint) => number>(
  'int quiche_conn_retire_dcid(quiche_conn *conn, uint64_t dcid_seq)',
);

/** TODO quiche_conn_paths_iter */
export const quiche_conn_paths_iter = bind<(conn: QuicheConn, from: Uint8Array, fromLen: number) => QuicheSocketAddrIter | null>(
  'quiche_socket_addr_iter *quiche_conn_paths_iter(quiche_conn *conn, const void *from, size_t from_len)',
);

/** TODO quiche_socket_addr_iter_next */
export const quiche_socket_addr_iter_next = bind<(iter: QuicheSocketAddrIter, peer: Uint8Array, peerLen: BigUint64Array) => boolean>(
  'bool quiche_socket_addr_iter_next(quiche_socket_addr_iter *iter, void *peer, void *peer_len)',
);

/** TODO quiche_socket_addr_iter_free */
export const quiche_socket_addr_iter_free = bind<(iter: QuicheSocketAddrIter) => void>(
  'void quiche_socket_addr_iter_free(quiche_socket_addr_iter *iter)',
);

/** TODO quiche_conn_is_path_validated */
export const quiche_conn_is_path_validated = bind<(conn: QuicheConn, from: Uint8Array, fromLen: number, to: Uint8Array, toLen: number) => number>(
  'int quiche_conn_is_path_validated(const quiche_conn *conn, const void *from, size_t from_len, const void *to, size_t to_len)',
);
