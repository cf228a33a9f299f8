/**
 * Small readers over the out-param conventions of the bindings.
 */
import {
  type QuicheConn,
  type QuicheConnectionIdIter,
  type QuicheStreamIter,
  quiche_conn_local_error,
  quiche_conn_peer_error,
  quiche_connection_id_iter_free,
  quiche_connection_id_iter_next,
  quiche_stream_iter_free,
  quiche_stream_iter_next,
  readBorrowed,
} from '../../src/index.js';

/** Calls a `(conn, const uint8_t **out, size_t *out_len)` accessor and copies the bytes. */
export function borrowed(
  fn: (conn: QuicheConn, out: BigUint64Array, outLen: BigUint64Array) => void,
  conn: QuicheConn,
): Uint8Array {
  const out = new BigUint64Array(1);
  const outLen = new BigUint64Array(1);
  fn(conn, out, outLen);
  return readBorrowed(out, outLen);
}

/** A connection error as `quiche_conn_peer_error` / `quiche_conn_local_error` report it. */
export interface ConnError {
  isApp: boolean;
  code: bigint;
  reason: string;
}

function readError(fn: typeof quiche_conn_peer_error, conn: QuicheConn): ConnError | null {
  const isApp = new Uint8Array(1);
  const code = new BigUint64Array(1);
  const reason = new BigUint64Array(1);
  const reasonLen = new BigUint64Array(1);
  if (!fn(conn, isApp, code, reason, reasonLen)) return null;
  return {
    isApp: isApp[0] !== 0,
    code: code[0]!,
    reason: Buffer.from(readBorrowed(reason, reasonLen)).toString('utf8'),
  };
}

/** The error the peer closed the connection with, or `null`. */
export function peerError(conn: QuicheConn): ConnError | null {
  return readError(quiche_conn_peer_error, conn);
}

/** The error this side closed the connection with, or `null`. */
export function localError(conn: QuicheConn): ConnError | null {
  return readError(quiche_conn_local_error, conn);
}

/** Walks a stream iterator to the end (bounded) and frees it. */
export function collectStreams(iter: QuicheStreamIter | null): number[] {
  if (iter === null) throw new Error('stream iterator is NULL');
  const ids: number[] = [];
  const id = new BigUint64Array(1);
  try {
    for (let i = 0; i < 10_000 && quiche_stream_iter_next(iter, id); i++) ids.push(Number(id[0]));
  } finally {
    quiche_stream_iter_free(iter);
  }
  return ids;
}

/** Walks a connection ID iterator to the end (bounded), copying each ID, and frees it. */
export function collectIds(iter: QuicheConnectionIdIter | null): Uint8Array[] {
  if (iter === null) throw new Error('connection id iterator is NULL');
  const ids: Uint8Array[] = [];
  const out = new BigUint64Array(1);
  const outLen = new BigUint64Array(1);
  try {
    for (let i = 0; i < 10_000 && quiche_connection_id_iter_next(iter, out, outLen); i++) {
      ids.push(readBorrowed(out, outLen));
    }
  } finally {
    quiche_connection_id_iter_free(iter);
  }
  return ids;
}
