/**
 * Functions of quichex's own libquiche glue (`vendor/quiche/src/lib.rs`),
 * for facts quiche's Rust API offers but its C API does not. Named
 * `quichex_*` so they never collide with quiche's.
 *
 * @module
 */
import type { QuicheConn } from '../handles.js';
import { bind } from '../native.js';

/**
 * Why 0-RTT early data was or was not used on this connection, as
 * BoringSSL's `ssl_early_data_reason_t` (see {@link EarlyDataReason}).
 */
export const quichex_conn_early_data_reason = bind<(conn: QuicheConn) => number>(
  'uint32_t quichex_conn_early_data_reason(const quiche_conn *conn)',
);

/** Values of {@link quichex_conn_early_data_reason} (BoringSSL's `ssl_early_data_reason_t`). */
export const EarlyDataReason = {
  /** Not known yet (handshake not finished) or not applicable. */
  UNKNOWN: 0,
  /** 0-RTT is disabled on this side. */
  DISABLED: 1,
  /** Early data was offered and accepted. */
  ACCEPTED: 2,
  /** The negotiated TLS version does not allow 0-RTT. */
  PROTOCOL_VERSION: 3,
  /** The server declined early data. */
  PEER_DECLINED: 4,
  /** The client offered no session. */
  NO_SESSION_OFFERED: 5,
  /** The session was not resumed. */
  SESSION_NOT_RESUMED: 6,
  /** The session does not allow early data. */
  UNSUPPORTED_FOR_SESSION: 7,
  /** A HelloRetryRequest was needed. */
  HELLO_RETRY_REQUEST: 8,
  /** The ALPN differs from the session's. */
  ALPN_MISMATCH: 9,
  /** Channel ID was negotiated. */
  CHANNEL_ID: 10,
  /** The ticket's age was implausible. */
  TICKET_AGE_SKEW: 12,
  /** The server's QUIC transport parameters changed. */
  QUIC_PARAMETER_MISMATCH: 13,
  /** The ALPS settings differ. */
  ALPS_MISMATCH: 14,
} as const;
