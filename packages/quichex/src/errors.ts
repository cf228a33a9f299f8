/**
 * One error type for everything that goes wrong on the wire or in quiche.
 *
 * @module
 */
import { type QuicheErrorName, quicheErrorName } from '@quichex/ffi';

/**
 * Stable error codes. Tests and users compare these, never message text.
 *
 * - `QUICHE_ERR_*`: a quiche error surfaced as is (e.g. `QUICHE_ERR_TLS_FAIL`).
 * - `ERR_QUIC_*`: conditions of the connection or stream that quichex names.
 */
export type QuicErrorCode =
  | QuicheErrorName
  | 'ERR_QUIC_APPLICATION_CLOSED'
  | 'ERR_QUIC_TRANSPORT_ERROR'
  | 'ERR_QUIC_CONNECTION_REFUSED'
  | 'ERR_QUIC_ALPN_MISMATCH'
  | 'ERR_QUIC_IDLE_TIMEOUT'
  | 'ERR_QUIC_HANDSHAKE_TIMEOUT'
  | 'ERR_QUIC_UNREACHABLE'
  | 'ERR_QUIC_STREAM_RESET'
  | 'ERR_QUIC_STREAM_STOPPED'
  | 'ERR_QUIC_STREAM_LIMIT'
  | 'ERR_QUIC_STREAM_CLOSED'
  | 'ERR_QUIC_DATAGRAM_DISABLED'
  | 'ERR_QUIC_DATAGRAM_TOO_LARGE'
  | 'ERR_QUIC_DATAGRAM_QUEUE_FULL'
  | 'ERR_QUIC_CONNECTION_CLOSED'
  | 'ERR_QUIC_DESTROYED'
  | 'ERR_QUIC_SOCKET'
  | 'ERR_QUIC_APPLICATION_OWNS_STREAMS';

/** Details a {@link QuicError} may carry. */
export interface QuicErrorOptions {
  /** Wire error code (transport or application), when there is one. */
  errorCode?: bigint;
  /** Whether `errorCode` is a transport or an application code. */
  type?: 'transport' | 'application';
  /** `true` when the peer sent the error, `false` when it arose locally. */
  remote?: boolean;
  /** Stream the error concerns. */
  streamId?: number;
  /** Underlying cause. */
  cause?: unknown;
  /** Why the peer's certificate was rejected, in node:tls's words (`'CERT_HAS_EXPIRED'`). */
  authorizationError?: string;
}

/**
 * A QUIC failure with a stable {@link QuicError.code}.
 *
 * @example
 * ```ts
 * try {
 *   await connect({ host: 'localhost', port: 4433, config });
 * } catch (err) {
 *   if (err instanceof QuicError && err.authorizationError) console.error('bad certificate:', err.authorizationError);
 * }
 * ```
 */
export class QuicError extends Error {
  /** Stable, comparable code. */
  readonly code: QuicErrorCode;
  /** Wire error code, for connection closes, stream resets and stop-sending. */
  readonly errorCode: bigint | undefined;
  /** Whether {@link QuicError.errorCode} is a transport or an application code. */
  readonly type: 'transport' | 'application' | undefined;
  /** `true` when the peer caused it. */
  readonly remote: boolean;
  /** Stream the error concerns, if any. */
  readonly streamId: number | undefined;
  /**
   * Why the peer's certificate was rejected, with node:tls's codes
   * (`'CERT_HAS_EXPIRED'`, `'DEPTH_ZERO_SELF_SIGNED_CERT'`,
   * `'ERR_TLS_CERT_ALTNAME_INVALID'`, …); `undefined` for other errors.
   */
  readonly authorizationError: string | undefined;

  constructor(code: QuicErrorCode, message: string, options: QuicErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QuicError';
    this.code = code;
    this.errorCode = options.errorCode;
    this.type = options.type;
    this.remote = options.remote ?? false;
    this.streamId = options.streamId;
    this.authorizationError = options.authorizationError;
  }
}

/** Builds a {@link QuicError} from a negative quiche return value. */
export function quicheError(rc: number, what: string, options: QuicErrorOptions = {}): QuicError {
  const name = quicheErrorName(rc);
  const code: QuicErrorCode = name ?? 'ERR_QUIC_TRANSPORT_ERROR';
  return new QuicError(code, `${what} failed: ${name ?? `quiche error ${rc}`}`, options);
}

/**
 * QUIC transport error codes (RFC 9000 §20.1) that quichex names.
 *
 * @example
 * ```ts
 * const info = await conn.closed;
 * if (info.type === 'transport' && info.errorCode === TransportErrorCode.CONNECTION_REFUSED) retryLater();
 * ```
 */
export const TransportErrorCode = {
  /** A clean close. */
  NO_ERROR: 0x0n,
  /** The endpoint hit an internal error (also what `destroy(error)` sends). */
  INTERNAL_ERROR: 0x1n,
  /** The server refused the connection (a listener at `maxConnections`). */
  CONNECTION_REFUSED: 0x2n,
  /** An application close before the handshake completed, as the wire carries it. */
  APPLICATION_ERROR: 0xcn,
  /** TLS alert 120 (no_application_protocol) as a CRYPTO_ERROR. */
  CRYPTO_NO_APPLICATION_PROTOCOL: 0x178n,
} as const;

/** Chooses the stable code for a connection close seen in `peer_error`/`local_error`. */
export function closeCode(isApp: boolean, errorCode: bigint): QuicErrorCode {
  if (isApp) return 'ERR_QUIC_APPLICATION_CLOSED';
  if (errorCode === TransportErrorCode.NO_ERROR) return 'ERR_QUIC_CONNECTION_CLOSED';
  if (errorCode === TransportErrorCode.CONNECTION_REFUSED) return 'ERR_QUIC_CONNECTION_REFUSED';
  if (errorCode === TransportErrorCode.CRYPTO_NO_APPLICATION_PROTOCOL) return 'ERR_QUIC_ALPN_MISMATCH';
  // CRYPTO_ERROR range 0x100-0x1ff carries a TLS alert: a handshake failure.
  if (errorCode >= 0x100n && errorCode <= 0x1ffn) return 'QUICHE_ERR_TLS_FAIL';
  return 'ERR_QUIC_TRANSPORT_ERROR';
}

/** The error an aborted wait rejects with: the signal's reason, as Node does. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Application error code used when a user handler fails: an `onConnection`
 * handler, an async `'connection'` listener of a `Listener` (the connection
 * is closed with it), or an async `'stream'` listener of a `Connection` (the
 * stream is reset with it).
 *
 * @example
 * ```ts
 * const info = await conn.closed; // on the client
 * if (info.type === 'application' && info.errorCode === HANDLER_ERROR_CODE) console.error('server handler crashed');
 * ```
 */
export const HANDLER_ERROR_CODE = 1n;
