/**
 * Every constant and enum of quiche.h, as `as const` objects with the C names.
 *
 * @module
 */

/** `QUICHE_PROTOCOL_VERSION`: the QUIC version quiche speaks by default (QUIC v1). */
export const QUICHE_PROTOCOL_VERSION = 0x00000001;
/** `QUICHE_MAX_CONN_ID_LEN`: the longest connection ID QUIC allows, in bytes. */
export const QUICHE_MAX_CONN_ID_LEN = 20;
/** `QUICHE_MIN_CLIENT_INITIAL_LEN`: minimum size of a client's Initial datagram. */
export const QUICHE_MIN_CLIENT_INITIAL_LEN = 1200;
/** `QUICHE_H3_APPLICATION_PROTOCOL`: the HTTP/3 ALPN in wire format (length-prefixed "h3"). */
export const QUICHE_H3_APPLICATION_PROTOCOL = '\x02h3';

/** `enum quiche_error`: negative return values of the transport functions. */
export const QuicheError = {
  QUICHE_ERR_DONE: -1,
  QUICHE_ERR_BUFFER_TOO_SHORT: -2,
  QUICHE_ERR_UNKNOWN_VERSION: -3,
  QUICHE_ERR_INVALID_FRAME: -4,
  QUICHE_ERR_INVALID_PACKET: -5,
  QUICHE_ERR_INVALID_STATE: -6,
  QUICHE_ERR_INVALID_STREAM_STATE: -7,
  QUICHE_ERR_INVALID_TRANSPORT_PARAM: -8,
  QUICHE_ERR_CRYPTO_FAIL: -9,
  QUICHE_ERR_TLS_FAIL: -10,
  QUICHE_ERR_FLOW_CONTROL: -11,
  QUICHE_ERR_STREAM_LIMIT: -12,
  QUICHE_ERR_STREAM_STOPPED: -15,
  QUICHE_ERR_STREAM_RESET: -16,
  QUICHE_ERR_FINAL_SIZE: -13,
  QUICHE_ERR_CONGESTION_CONTROL: -14,
  QUICHE_ERR_ID_LIMIT: -17,
  QUICHE_ERR_OUT_OF_IDENTIFIERS: -18,
  QUICHE_ERR_KEY_UPDATE: -19,
  QUICHE_ERR_CRYPTO_BUFFER_EXCEEDED: -20,
  QUICHE_ERR_INVALID_ACK_RANGE: -21,
  QUICHE_ERR_OPTIMISTIC_ACK_DETECTED: -22,
  QUICHE_ERR_INVALID_DCID_INITIALIZATION: -23,
} as const;
/** A name of {@link QuicheError}. */
export type QuicheErrorName = keyof typeof QuicheError;

/** `enum quiche_cc_algorithm`: congestion control algorithms. */
export const QuicheCcAlgorithm = {
  QUICHE_CC_RENO: 0,
  QUICHE_CC_CUBIC: 1,
  QUICHE_CC_BBR2_GCONGESTION: 4,
} as const;

/** `enum quiche_shutdown`: which side of a stream `quiche_conn_stream_shutdown` closes. */
export const QuicheShutdown = {
  QUICHE_SHUTDOWN_READ: 0,
  QUICHE_SHUTDOWN_WRITE: 1,
} as const;

/** `enum quiche_path_event_type`: what `quiche_path_event_type` returns. */
export const QuichePathEventType = {
  QUICHE_PATH_EVENT_NEW: 0,
  QUICHE_PATH_EVENT_VALIDATED: 1,
  QUICHE_PATH_EVENT_FAILED_VALIDATION: 2,
  QUICHE_PATH_EVENT_CLOSED: 3,
  QUICHE_PATH_EVENT_REUSED_SOURCE_CONNECTION_ID: 4,
  QUICHE_PATH_EVENT_PEER_MIGRATED: 5,
  QUICHE_PATH_EVENT_PMTU_UPDATED: 6,
} as const;

/** `enum quiche_h3_error`: negative return values of the HTTP/3 functions. */
export const QuicheH3Error = {
  QUICHE_H3_ERR_DONE: -1,
  QUICHE_H3_ERR_BUFFER_TOO_SHORT: -2,
  QUICHE_H3_ERR_INTERNAL_ERROR: -3,
  QUICHE_H3_ERR_EXCESSIVE_LOAD: -4,
  QUICHE_H3_ERR_ID_ERROR: -5,
  QUICHE_H3_ERR_STREAM_CREATION_ERROR: -6,
  QUICHE_H3_ERR_CLOSED_CRITICAL_STREAM: -7,
  QUICHE_H3_ERR_MISSING_SETTINGS: -8,
  QUICHE_H3_ERR_FRAME_UNEXPECTED: -9,
  QUICHE_H3_ERR_FRAME_ERROR: -10,
  QUICHE_H3_ERR_QPACK_DECOMPRESSION_FAILED: -11,
  QUICHE_H3_ERR_STREAM_BLOCKED: -13,
  QUICHE_H3_ERR_SETTINGS_ERROR: -14,
  QUICHE_H3_ERR_REQUEST_REJECTED: -15,
  QUICHE_H3_ERR_REQUEST_CANCELLED: -16,
  QUICHE_H3_ERR_REQUEST_INCOMPLETE: -17,
  QUICHE_H3_ERR_MESSAGE_ERROR: -18,
  QUICHE_H3_ERR_CONNECT_ERROR: -19,
  QUICHE_H3_ERR_VERSION_FALLBACK: -20,
  // Transport errors seen through HTTP/3: the quiche_error value minus 1000.
  ...(Object.fromEntries(
    Object.entries(QuicheError).map(([name, value]) => [
      name.replace('QUICHE_ERR_', 'QUICHE_H3_TRANSPORT_ERR_'),
      value - 1000,
    ]),
  ) as {
    readonly [K in QuicheErrorName as K extends `QUICHE_ERR_${infer R}`
      ? `QUICHE_H3_TRANSPORT_ERR_${R}`
      : never]: number;
  }),
} as const;

/** `enum quiche_h3_event_type`: what `quiche_h3_event_type` returns. */
export const QuicheH3EventType = {
  QUICHE_H3_EVENT_HEADERS: 0,
  QUICHE_H3_EVENT_DATA: 1,
  QUICHE_H3_EVENT_FINISHED: 2,
  QUICHE_H3_EVENT_GOAWAY: 3,
  QUICHE_H3_EVENT_RESET: 4,
  QUICHE_H3_EVENT_PRIORITY_UPDATE: 5,
} as const;

/** Packet types written to `*type` by `quiche_header_info`. */
export const QuichePacketType = {
  INITIAL: 1,
  RETRY: 2,
  HANDSHAKE: 3,
  ZERO_RTT: 4,
  SHORT: 5,
  VERSION_NEGOTIATION: 6,
} as const;

/** Values of `quiche_path_stats.validation_state`. */
export const QuichePathValidationState = {
  FAILED: -1,
  UNKNOWN: 0,
  VALIDATING: 1,
  VALIDATING_MTU: 2,
  VALIDATED: 3,
} as const;

const errorNames = new Map<number, QuicheErrorName>(
  Object.entries(QuicheError).map(([name, value]) => [value, name as QuicheErrorName]),
);

/** The C name of a `quiche_error` value, or `undefined` for a value quiche does not define. */
export function quicheErrorName(code: number): QuicheErrorName | undefined {
  return errorNames.get(code);
}
