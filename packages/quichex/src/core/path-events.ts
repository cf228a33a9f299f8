/**
 * Path events (new path, validated, failed, closed, peer migrated, …) read
 * from quiche and decoded.
 *
 * @module
 */
import * as q from '@quichex/ffi';
import * as s from './scratch.js';

/** A path change reported by quiche. */
export interface PathEvent {
  /** What happened to the path. */
  readonly type: 'new' | 'validated' | 'failed' | 'closed' | 'reused-cid' | 'peer-migrated' | 'pmtu-updated';
  /** Local address of the path. */
  readonly local: q.SocketAddress | null;
  /** Peer address of the path. */
  readonly peer: q.SocketAddress | null;
}

/** Takes the next path event quiche has for `conn` (and frees it), or `null`. */
export function nextPathEvent(conn: q.QuicheConn): PathEvent | null {
  const ev = q.quiche_conn_path_event_next(conn);
  if (ev === null) return null;
  try {
    const T = q.QuichePathEventType;
    s.lenA[0] = 0;
    s.lenB[0] = 0;
    let type: PathEvent['type'];
    // Each accessor must match the event type, or quiche aborts the process.
    switch (q.quiche_path_event_type(ev)) {
      case T.QUICHE_PATH_EVENT_NEW:
        q.quiche_path_event_new(ev, s.addrA, s.lenA, s.addrB, s.lenB);
        type = 'new';
        break;
      case T.QUICHE_PATH_EVENT_VALIDATED:
        q.quiche_path_event_validated(ev, s.addrA, s.lenA, s.addrB, s.lenB);
        type = 'validated';
        break;
      case T.QUICHE_PATH_EVENT_FAILED_VALIDATION:
        q.quiche_path_event_failed_validation(ev, s.addrA, s.lenA, s.addrB, s.lenB);
        type = 'failed';
        break;
      case T.QUICHE_PATH_EVENT_CLOSED:
        q.quiche_path_event_closed(ev, s.addrA, s.lenA, s.addrB, s.lenB);
        type = 'closed';
        break;
      case T.QUICHE_PATH_EVENT_PEER_MIGRATED:
        q.quiche_path_event_peer_migrated(ev, s.addrA, s.lenA, s.addrB, s.lenB);
        type = 'peer-migrated';
        break;
      case T.QUICHE_PATH_EVENT_REUSED_SOURCE_CONNECTION_ID:
        type = 'reused-cid';
        break;
      default:
        type = 'pmtu-updated';
    }
    return {
      type,
      local: s.lenA[0] ? q.decodeSockaddr(s.addrA, 0, s.lenA[0]) : null,
      peer: s.lenB[0] ? q.decodeSockaddr(s.addrB, 0, s.lenB[0]) : null,
    };
  } finally {
    q.quiche_path_event_free(ev);
  }
}
