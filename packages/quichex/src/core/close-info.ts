/**
 * How a connection ended, read from quiche once it closes (or gives up on
 * the handshake), and the words used to describe it.
 *
 * @module
 */
import * as q from '@quichex/ffi';
import { closeCode, QuicError, type QuicErrorCode } from '../errors.js';
import * as s from './scratch.js';

/** How a connection ended. */
export interface CloseInfo {
  /** Stable code: `ERR_QUIC_APPLICATION_CLOSED`, `ERR_QUIC_IDLE_TIMEOUT`, `QUICHE_ERR_TLS_FAIL`, … */
  readonly code: QuicErrorCode;
  /** `true` when this side closed it (or timed out), `false` when the peer did. */
  readonly local: boolean;
  /** Whether {@link CloseInfo.errorCode} is an application or a transport code. */
  readonly type: 'application' | 'transport';
  /** The wire error code (0 for a clean close). */
  readonly errorCode: bigint;
  /** The reason phrase sent with the close. */
  readonly reason: string;
  /** `true` for a close with error code 0 (either type). */
  readonly graceful: boolean;
}

/** Reads how `conn` ended (or is ending) from quiche: the peer's error, else ours, else idle timeout. */
export function readCloseInfo(conn: q.QuicheConn, lastRecvError: number): CloseInfo {
  const info =
    readError(conn, q.quiche_conn_peer_error, false, lastRecvError) ??
    readError(conn, q.quiche_conn_local_error, true, lastRecvError);
  if (info !== null) return info;
  if (q.quiche_conn_is_timed_out(conn)) {
    return {
      code: 'ERR_QUIC_IDLE_TIMEOUT',
      local: true,
      type: 'transport',
      errorCode: 0n,
      reason: 'idle timeout',
      graceful: false,
    };
  }
  return {
    code: 'ERR_QUIC_CONNECTION_CLOSED',
    local: true,
    type: 'transport',
    errorCode: 0n,
    reason: '',
    graceful: true,
  };
}

/** The error `read` (quiche's peer or local error) reports, as a close, or `null` when there is none. */
function readError(
  conn: q.QuicheConn,
  read: typeof q.quiche_conn_peer_error,
  local: boolean,
  lastRecvError: number,
): CloseInfo | null {
  s.boolOut[0] = 0;
  s.u64Out[0] = 0n;
  s.lenOut[0] = 0n;
  if (!read(conn, s.boolOut, s.u64Out, s.ptrOut, s.lenOut)) return null;
  const isApp = s.boolOut[0] === 1;
  const errorCode = s.u64Out[0]!;
  const reason = s.lenOut[0] === 0n ? '' : Buffer.from(q.readBorrowed(s.ptrOut, s.lenOut)).toString('utf8');
  let code = closeCode(isApp, errorCode);
  if (code === 'ERR_QUIC_TRANSPORT_ERROR' && lastRecvError === q.QuicheError.QUICHE_ERR_TLS_FAIL)
    code = 'QUICHE_ERR_TLS_FAIL';
  return {
    code,
    local,
    type: isApp ? 'application' : 'transport',
    errorCode,
    reason,
    graceful: errorCode === 0n,
  };
}

/** A sentence describing the close, for error messages. */
export function describeClose(info: CloseInfo): string {
  const who = info.local ? 'locally' : 'by the peer';
  const reason = info.reason ? `: ${info.reason}` : '';
  if (info.code === 'ERR_QUIC_IDLE_TIMEOUT') return 'the connection timed out (idle timeout)';
  return `connection closed ${who} with ${info.type} error ${info.errorCode} (${info.code})${reason}`;
}

/**
 * The error that operations on a connection closed as `info` says reject with.
 *
 * It carries no stack: the engine makes one for every connection that
 * closes, from a packet or a timer rather than a call of the user's, so a
 * stack would only name engine internals, and capturing it cost more than
 * the rest of a graceful close.
 */
export function closeError(info: CloseInfo): QuicError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new QuicError(info.code, describeClose(info), {
      errorCode: info.errorCode,
      type: info.type,
      remote: !info.local,
    });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** What became of 0-RTT, from BoringSSL's early-data reason. */
export function earlyDataOutcome(reason: number): 'accepted' | 'rejected' | 'none' {
  if (reason === q.EarlyDataReason.ACCEPTED) return 'accepted';
  if (
    reason === q.EarlyDataReason.UNKNOWN ||
    reason === q.EarlyDataReason.DISABLED ||
    reason === q.EarlyDataReason.NO_SESSION_OFFERED
  ) {
    return 'none';
  }
  return 'rejected';
}
