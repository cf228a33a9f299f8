/**
 * The shapes around a `Connection`: what `info()` reports, the options of
 * `close()` and `openStream()`, and the events it emits.
 *
 * @module
 */
import type { CloseInfo } from './core/close-info.js';
import type { NegotiatedInfo } from './core/introspect.js';
import type { PathEvent } from './core/path-events.js';
import type { HANDLER_ERROR_CODE, QuicError } from './errors.js';
import type { Stream } from './stream.js';

/** What `Connection.info()` reports. */
export interface ConnectionInfo extends NegotiatedInfo {
  /** Local IP address of the socket (`0.0.0.0`/`::` when bound to any). */
  readonly localAddress: string;
  /** Local UDP port. */
  readonly localPort: number;
  /** The peer's current IP address (IPv4 peers of a dual-stack socket appear as `::ffff:a.b.c.d`). */
  readonly remoteAddress: string;
  /** The peer's current UDP port. */
  readonly remotePort: number;
  /** Whether this side accepted the connection. */
  readonly isServer: boolean;
  /**
   * How this side paces its packets: `'user-space'` when quiche stamps each
   * packet with a send time (the `bbr2` congestion control with `pacing` on,
   * a client's defaults) and the send loop holds packets until then;
   * `'none'` otherwise (quiche 0.30 paces only under `bbr2`; servers default
   * to cubic). The kernel's SO_TXTIME is not used: see the performance guide.
   */
  readonly pacing: 'user-space' | 'none';
  /**
   * Whether the peer's certificate verified: on clients, the server's chain
   * and name; on servers, a client certificate asked for with
   * `requestCert` (`false` when none was asked for), as node:tls's
   * `tlsSocket.authorized`.
   */
  readonly authorized: boolean;
  /**
   * Why the peer is not authorized, with node:tls's codes
   * (`'CERT_HAS_EXPIRED'`, `'UNABLE_TO_VERIFY_LEAF_SIGNATURE'`,
   * `'DEPTH_ZERO_SELF_SIGNED_CERT'`, `'ERR_TLS_CERT_ALTNAME_INVALID'`, …;
   * `'UNABLE_TO_GET_ISSUER_CERT'` for a client that sent no certificate),
   * or `null`. Only seen when `rejectUnauthorized` is off: otherwise such a
   * connection fails.
   */
  readonly authorizationError: string | null;
}

/** Options of `Connection.close()`. */
export interface CloseOptions {
  /** Application error code (default 0: no error). */
  errorCode?: number | bigint;
  /** Reason phrase (UTF-8, at most 1024 bytes). */
  reason?: string;
}

/** Options of `Connection.openStream()`. */
export interface OpenStreamOptions {
  /** Abort the wait for stream credit. */
  signal?: AbortSignal;
  /** Wait for the peer to allow another stream (default). `false` fails fast with `ERR_QUIC_STREAM_LIMIT`. */
  wait?: boolean;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /** The handshake completed. */
  connected: [];
  /**
   * The peer opened a stream. An async listener that rejects resets that
   * stream (both directions) with {@link HANDLER_ERROR_CODE}; nothing else is harmed.
   */
  stream: [stream: Stream];
  /** A datagram arrived. */
  datagram: [data: Uint8Array];
  /** A path was created, validated, failed, closed, or the peer migrated. */
  path: [event: PathEvent];
  /** The connection ended abnormally (also reflected in `Connection.closed`). Emitted only when listened to. */
  error: [error: QuicError];
  /** The connection is closed and its resources freed. */
  close: [info: CloseInfo];
  /** (Client) A session ticket arrived: pass it as `connect({ session })` to resume later. */
  session: [session: Uint8Array];
}
