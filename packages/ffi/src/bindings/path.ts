/**
 * Connection IDs, paths, migration and path events.
 *
 * @module
 */
import type {
  QuicheConn,
  QuicheConnectionIdIter,
  QuichePathEvent,
  QuicheSocketAddrIter,
} from '../handles.js';
import { bind } from '../native.js';

/**
 * Makes the next packet on the active path elicit an ACK, adding a PING if needed; a send emits it.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_conn_send_ack_eliciting = bind<(conn: QuicheConn) => number>(
  'ssize_t quiche_conn_send_ack_eliciting(quiche_conn *conn)',
);

/**
 * Same as `quiche_conn_send_ack_eliciting`, for the path given by its local and peer sockaddrs.
 * Returns 0, or a negative QUICHE_ERR_* code (INVALID_STATE if the path is unknown).
 */
export const quiche_conn_send_ack_eliciting_on_path = bind<
  (conn: QuicheConn, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number) => number
>(
  'ssize_t quiche_conn_send_ack_eliciting_on_path(quiche_conn *conn, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len)',
);

/**
 * Moves the source CIDs retired since the last call into an iterator.
 * Free it with `quiche_connection_id_iter_free`. Drain it after receiving and sending, and drop those CIDs
 * from your routing table.
 */
export const quiche_conn_retired_scid_iter = bind<(conn: QuicheConn) => QuicheConnectionIdIter | null>(
  'quiche_connection_id_iter *quiche_conn_retired_scid_iter(quiche_conn *conn)',
);

/** How many retired source CIDs are waiting to be collected with `quiche_conn_retired_scid_iter`. */
export const quiche_conn_retired_scids = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_retired_scids(const quiche_conn *conn)',
);

/** How many unused peer-issued destination CIDs are in reserve; probing or migrating to a path uses one. */
export const quiche_conn_available_dcids = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_available_dcids(const quiche_conn *conn)',
);

/** How many more source CIDs can be announced now without exceeding the peer's active connection ID limit. */
export const quiche_conn_scids_left = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_scids_left(quiche_conn *conn)',
);

/** How many source CIDs are currently in use; meaningful only when they are not zero-length. */
export const quiche_conn_active_scids = bind<(conn: QuicheConn) => number>(
  'size_t quiche_conn_active_scids(quiche_conn *conn)',
);

/**
 * Announces another source CID to the peer and stores its sequence number in `scidSeq`. Returns 0 or < 0.
 * `resetToken` is read as exactly 16 bytes (no length). `retireIfNeeded` lets quiche retire old CIDs
 * once the peer's cap is hit.
 */
export const quiche_conn_new_scid = bind<
  (
    conn: QuicheConn,
    scid: Uint8Array,
    scidLen: number,
    resetToken: Uint8Array,
    retireIfNeeded: boolean,
    scidSeq: BigUint64Array,
  ) => number
>(
  'int quiche_conn_new_scid(quiche_conn *conn, const void *scid, size_t scid_len, const void *reset_token, bool retire_if_needed, void *scid_seq)',
);

/**
 * Asks quiche to validate the path from `local` to `peer`; stores the DCID sequence number it uses in `seq`.
 * Returns 0 or a negative QUICHE_ERR_* code (OUT_OF_IDENTIFIERS: no spare DCID). The probe goes with a send.
 */
export const quiche_conn_probe_path = bind<
  (
    conn: QuicheConn,
    local: Uint8Array,
    localLen: number,
    peer: Uint8Array,
    peerLen: number,
    seq: BigUint64Array,
  ) => number
>(
  'int quiche_conn_probe_path(quiche_conn *conn, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, void *seq)',
);

/**
 * Client only: switches to another local address, keeping the peer; stores the DCID sequence in `seq`.
 * Returns 0 or a negative QUICHE_ERR_* code (INVALID_STATE on a server).
 */
export const quiche_conn_migrate_source = bind<
  (conn: QuicheConn, local: Uint8Array, localLen: number, seq: BigUint64Array) => number
>('int quiche_conn_migrate_source(quiche_conn *conn, const void *local, socklen_t local_len, void *seq)');

/**
 * Client only: moves the connection onto the path from `local` to `peer`; stores the DCID sequence in `seq`.
 * Returns 0 or a negative QUICHE_ERR_* code (INVALID_STATE on a server, OUT_OF_IDENTIFIERS: no spare DCID).
 */
export const quiche_conn_migrate = bind<
  (
    conn: QuicheConn,
    local: Uint8Array,
    localLen: number,
    peer: Uint8Array,
    peerLen: number,
    seq: BigUint64Array,
  ) => number
>(
  'int quiche_conn_migrate(quiche_conn *conn, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, void *seq)',
);

/** Takes the next pending path event, or NULL when there is none; free each with `quiche_path_event_free`. */
export const quiche_conn_path_event_next = bind<(conn: QuicheConn) => QuichePathEvent | null>(
  'quiche_path_event *quiche_conn_path_event_next(quiche_conn *conn)',
);

/**
 * The kind of a path event (`QuichePathEventType`), which decides the one accessor that may be called on it.
 */
export const quiche_path_event_type = bind<(ev: QuichePathEvent) => number>(
  'int quiche_path_event_type(const quiche_path_event *ev)',
);

/**
 * Reads the local and peer addresses of a NEW event: a path the peer started using, not validated yet.
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_new = bind<
  (
    ev: QuichePathEvent,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
  ) => void
>(
  'void quiche_path_event_new(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/**
 * Reads the local and peer addresses of a VALIDATED event: a path whose validation succeeded.
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_validated = bind<
  (
    ev: QuichePathEvent,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
  ) => void
>(
  'void quiche_path_event_validated(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/**
 * Reads the local and peer addresses of a FAILED_VALIDATION event: a path whose validation gave up.
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_failed_validation = bind<
  (
    ev: QuichePathEvent,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
  ) => void
>(
  'void quiche_path_event_failed_validation(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/**
 * Reads the local and peer addresses of a CLOSED event: a path that is no longer usable.
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_closed = bind<
  (
    ev: QuichePathEvent,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
  ) => void
>(
  'void quiche_path_event_closed(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/**
 * Reads a REUSED_SOURCE_CONNECTION_ID event: the CID sequence number, and the old and new address pairs.
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_reused_source_connection_id = bind<
  (
    ev: QuichePathEvent,
    id: BigUint64Array,
    oldLocal: Uint8Array,
    oldLocalLen: Uint32Array,
    oldPeer: Uint8Array,
    oldPeerLen: Uint32Array,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
  ) => void
>(
  'void quiche_path_event_reused_source_connection_id(const quiche_path_event *ev, void *id, void *old_local, void *old_local_len, void *old_peer, void *old_peer_len, void *local, void *local_len, void *peer, void *peer_len)',
);

/**
 * Reads the local and peer addresses of a PEER_MIGRATED event: the path the peer moved the connection to.
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_peer_migrated = bind<
  (
    ev: QuichePathEvent,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
  ) => void
>(
  'void quiche_path_event_peer_migrated(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len)',
);

/**
 * Reads a PMTU_UPDATED event: the path addresses and its newly validated path MTU (in `pmtu[0]`).
 * Aborts the process if called for an event of another type. Addresses: 128-byte buffers, 32-bit lengths.
 */
export const quiche_path_event_pmtu_updated = bind<
  (
    ev: QuichePathEvent,
    local: Uint8Array,
    localLen: Uint32Array,
    peer: Uint8Array,
    peerLen: Uint32Array,
    pmtu: BigUint64Array,
  ) => void
>(
  'void quiche_path_event_pmtu_updated(const quiche_path_event *ev, void *local, void *local_len, void *peer, void *peer_len, void *pmtu)',
);

/** Frees an event from `quiche_conn_path_event_next`; call exactly once. */
export const quiche_path_event_free = bind<(ev: QuichePathEvent) => void>(
  'void quiche_path_event_free(quiche_path_event *ev)',
);

/**
 * Retires the peer-issued destination CID with this sequence number (sends RETIRE_CONNECTION_ID).
 * Returns 0 or a negative QUICHE_ERR_*: INVALID_STATE if unknown, OUT_OF_IDENTIFIERS if none would remain.
 */
export const quiche_conn_retire_dcid = bind<(conn: QuicheConn, dcidSeq: number | bigint) => number>(
  'int quiche_conn_retire_dcid(quiche_conn *conn, uint64_t dcid_seq)',
);

/**
 * Returns an iterator over the peer addresses that form a known path with local address `from`.
 * Free it with `quiche_socket_addr_iter_free`. quiche reads `fromLen` as 32-bit socklen_t; use 16 or 28.
 */
export const quiche_conn_paths_iter = bind<
  (conn: QuicheConn, from: Uint8Array, fromLen: number) => QuicheSocketAddrIter | null
>('quiche_socket_addr_iter *quiche_conn_paths_iter(quiche_conn *conn, const void *from, size_t from_len)');

/**
 * Writes the next peer sockaddr into `peer` (128 bytes) and its length into `peerLen`; false when exhausted.
 * quiche stores only 4 bytes although the header says size_t: zero `peerLen` first, or read its low 32 bits.
 */
export const quiche_socket_addr_iter_next = bind<
  (iter: QuicheSocketAddrIter, peer: Uint8Array, peerLen: BigUint64Array) => boolean
>('bool quiche_socket_addr_iter_next(quiche_socket_addr_iter *iter, void *peer, void *peer_len)');

/** Frees an iterator from `quiche_conn_paths_iter`; call exactly once. */
export const quiche_socket_addr_iter_free = bind<(iter: QuicheSocketAddrIter) => void>(
  'void quiche_socket_addr_iter_free(quiche_socket_addr_iter *iter)',
);

/**
 * Whether the path from `from` to `to` has passed validation: 1 yes, 0 no, or a negative QUICHE_ERR_* code
 * (INVALID_STATE if the connection has no such path). quiche reads the lengths as 32-bit socklen_t.
 */
export const quiche_conn_is_path_validated = bind<
  (conn: QuicheConn, from: Uint8Array, fromLen: number, to: Uint8Array, toLen: number) => number
>(
  'int quiche_conn_is_path_validated(const quiche_conn *conn, const void *from, size_t from_len, const void *to, size_t to_len)',
);
