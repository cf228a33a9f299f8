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
  /** Nothing more to do right now (not a failure): no packet to send, no data to read, and so on. */
  QUICHE_ERR_DONE: -1,
  /** The buffer passed in cannot hold the result. */
  QUICHE_ERR_BUFFER_TOO_SHORT: -2,
  /** The packet uses a QUIC version quiche does not know, so it could not be parsed. */
  QUICHE_ERR_UNKNOWN_VERSION: -3,
  /** The packet holds a malformed frame. */
  QUICHE_ERR_INVALID_FRAME: -4,
  /** The packet could not be parsed. */
  QUICHE_ERR_INVALID_PACKET: -5,
  /** The connection's current state does not allow the operation. */
  QUICHE_ERR_INVALID_STATE: -6,
  /** The stream's state does not allow the operation: for instance it does not exist (or is already closed), or it is a unidirectional stream used in the wrong direction. */
  QUICHE_ERR_INVALID_STREAM_STATE: -7,
  /** The peer's transport parameters are malformed. */
  QUICHE_ERR_INVALID_TRANSPORT_PARAM: -8,
  /** A cryptographic operation (packet protection) failed. */
  QUICHE_ERR_CRYPTO_FAIL: -9,
  /** The TLS handshake failed. */
  QUICHE_ERR_TLS_FAIL: -10,
  /** The peer sent more data than the flow control limits we advertised allow. */
  QUICHE_ERR_FLOW_CONTROL: -11,
  /** The peer opened more streams than we allowed. */
  QUICHE_ERR_STREAM_LIMIT: -12,
  /** The peer asked us to stop sending on this stream (STOP_SENDING); its error code goes to `out_error_code`. */
  QUICHE_ERR_STREAM_STOPPED: -15,
  /** The peer reset this stream (RESET_STREAM); its error code goes to `out_error_code`. */
  QUICHE_ERR_STREAM_RESET: -16,
  /** Data received on a stream goes past the stream's final size. */
  QUICHE_ERR_FINAL_SIZE: -13,
  /** The congestion controller reported an error. */
  QUICHE_ERR_CONGESTION_CONTROL: -14,
  /** More connection IDs were supplied than the limit allows. */
  QUICHE_ERR_ID_LIMIT: -17,
  /** No spare connection ID is available for the operation. */
  QUICHE_ERR_OUT_OF_IDENTIFIERS: -18,
  /** A key update failed or was invalid. */
  QUICHE_ERR_KEY_UPDATE: -19,
  /** The peer sent more CRYPTO frame data than quiche is willing to buffer. */
  QUICHE_ERR_CRYPTO_BUFFER_EXCEEDED: -20,
  /** The peer sent an ACK frame whose ranges are invalid. */
  QUICHE_ERR_INVALID_ACK_RANGE: -21,
  /** The peer acknowledged a packet number quiche deliberately skipped, i.e. it is acknowledging packets it never received (optimistic ACK attack). */
  QUICHE_ERR_OPTIMISTIC_ACK_DETECTED: -22,
  /** A client-chosen destination connection ID was refused when creating a connection (shorter than 8 bytes, or combined with Retry IDs, or quiche built without `custom-client-dcid`). */
  QUICHE_ERR_INVALID_DCID_INITIALIZATION: -23,
} as const;
/** A name of {@link QuicheError}. */
export type QuicheErrorName = keyof typeof QuicheError;

/** `enum quiche_cc_algorithm`: congestion control algorithms. */
export const QuicheCcAlgorithm = {
  /** NewReno, the loss-based algorithm of RFC 9002. */
  QUICHE_CC_RENO: 0,
  /** CUBIC (RFC 9438), quiche's default. */
  QUICHE_CC_CUBIC: 1,
  /** BBRv2, as ported from Google's gcongestion code. */
  QUICHE_CC_BBR2_GCONGESTION: 4,
} as const;

/** `enum quiche_shutdown`: which side of a stream `quiche_conn_stream_shutdown` closes. */
export const QuicheShutdown = {
  /** Stop reading: discard buffered and future incoming data, and ask the peer to stop sending (STOP_SENDING) unless it already finished. */
  QUICHE_SHUTDOWN_READ: 0,
  /** Stop writing: drop data not yet sent and reset the stream (RESET_STREAM). */
  QUICHE_SHUTDOWN_WRITE: 1,
} as const;

/** `enum quiche_path_event_type`: what `quiche_path_event_type` returns. */
export const QuichePathEventType = {
  /** A packet arrived over a path not seen before (servers only); read it with `quiche_path_event_new`. */
  QUICHE_PATH_EVENT_NEW: 0,
  /** A path passed validation; read it with `quiche_path_event_validated`. */
  QUICHE_PATH_EVENT_VALIDATED: 1,
  /** A path failed validation and will not be used unless probed again; read it with `quiche_path_event_failed_validation`. */
  QUICHE_PATH_EVENT_FAILED_VALIDATION: 2,
  /** A path was closed and can no longer be used; read it with `quiche_path_event_closed`. */
  QUICHE_PATH_EVENT_CLOSED: 3,
  /** The peer now uses one of its connection IDs on a different path; read it with `quiche_path_event_reused_source_connection_id`. */
  QUICHE_PATH_EVENT_REUSED_SOURCE_CONNECTION_ID: 4,
  /** The peer moved its traffic to another, validated path (servers only); read it with `quiche_path_event_peer_migrated`. */
  QUICHE_PATH_EVENT_PEER_MIGRATED: 5,
  /** Path MTU discovery changed the validated PMTU of a path; read it with `quiche_path_event_pmtu_updated`. */
  QUICHE_PATH_EVENT_PMTU_UPDATED: 6,
} as const;

/**
 * `enum quiche_h3_error`: negative return values of the HTTP/3 functions.
 *
 * The `QUICHE_H3_TRANSPORT_ERR_*` members are QUIC transport errors passed up
 * through the HTTP/3 layer: each is the matching {@link QuicheError} value minus 1000.
 *
 * @property __type.QUICHE_H3_TRANSPORT_ERR_DONE Transport error `QUICHE_ERR_DONE` seen through HTTP/3 (-1001).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_BUFFER_TOO_SHORT Transport error `QUICHE_ERR_BUFFER_TOO_SHORT` seen through HTTP/3 (-1002).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_UNKNOWN_VERSION Transport error `QUICHE_ERR_UNKNOWN_VERSION` seen through HTTP/3 (-1003).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_FRAME Transport error `QUICHE_ERR_INVALID_FRAME` seen through HTTP/3 (-1004).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_PACKET Transport error `QUICHE_ERR_INVALID_PACKET` seen through HTTP/3 (-1005).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_STATE Transport error `QUICHE_ERR_INVALID_STATE` seen through HTTP/3 (-1006).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_STREAM_STATE Transport error `QUICHE_ERR_INVALID_STREAM_STATE` seen through HTTP/3 (-1007).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_TRANSPORT_PARAM Transport error `QUICHE_ERR_INVALID_TRANSPORT_PARAM` seen through HTTP/3 (-1008).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_CRYPTO_FAIL Transport error `QUICHE_ERR_CRYPTO_FAIL` seen through HTTP/3 (-1009).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_TLS_FAIL Transport error `QUICHE_ERR_TLS_FAIL` seen through HTTP/3 (-1010).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_FLOW_CONTROL Transport error `QUICHE_ERR_FLOW_CONTROL` seen through HTTP/3 (-1011).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_STREAM_LIMIT Transport error `QUICHE_ERR_STREAM_LIMIT` seen through HTTP/3 (-1012).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_STREAM_STOPPED Transport error `QUICHE_ERR_STREAM_STOPPED` seen through HTTP/3 (-1015).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_STREAM_RESET Transport error `QUICHE_ERR_STREAM_RESET` seen through HTTP/3 (-1016).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_FINAL_SIZE Transport error `QUICHE_ERR_FINAL_SIZE` seen through HTTP/3 (-1013).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_CONGESTION_CONTROL Transport error `QUICHE_ERR_CONGESTION_CONTROL` seen through HTTP/3 (-1014).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_ID_LIMIT Transport error `QUICHE_ERR_ID_LIMIT` seen through HTTP/3 (-1017).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_OUT_OF_IDENTIFIERS Transport error `QUICHE_ERR_OUT_OF_IDENTIFIERS` seen through HTTP/3 (-1018).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_KEY_UPDATE Transport error `QUICHE_ERR_KEY_UPDATE` seen through HTTP/3 (-1019).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_CRYPTO_BUFFER_EXCEEDED Transport error `QUICHE_ERR_CRYPTO_BUFFER_EXCEEDED` seen through HTTP/3 (-1020).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_ACK_RANGE Transport error `QUICHE_ERR_INVALID_ACK_RANGE` seen through HTTP/3 (-1021).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_OPTIMISTIC_ACK_DETECTED Transport error `QUICHE_ERR_OPTIMISTIC_ACK_DETECTED` seen through HTTP/3 (-1022).
 * @property __type.QUICHE_H3_TRANSPORT_ERR_INVALID_DCID_INITIALIZATION Transport error `QUICHE_ERR_INVALID_DCID_INITIALIZATION` seen through HTTP/3 (-1023); quiche.h omits this one, but the minus-1000 rule defines it.
 */
export const QuicheH3Error = {
  /** Nothing more to do right now (not a failure). */
  QUICHE_H3_ERR_DONE: -1,
  /** The buffer passed in cannot hold the result. */
  QUICHE_H3_ERR_BUFFER_TOO_SHORT: -2,
  /** The HTTP/3 layer hit an internal error. */
  QUICHE_H3_ERR_INTERNAL_ERROR: -3,
  /** The peer behaves in a way that puts excessive load on this endpoint. */
  QUICHE_H3_ERR_EXCESSIVE_LOAD: -4,
  /** A stream or push ID was misused, e.g. it exceeds a limit, lowers a limit, or is reused. */
  QUICHE_H3_ERR_ID_ERROR: -5,
  /** The peer opened a stream of a type this endpoint does not accept. */
  QUICHE_H3_ERR_STREAM_CREATION_ERROR: -6,
  /** A stream HTTP/3 depends on (control or QPACK stream) was closed. */
  QUICHE_H3_ERR_CLOSED_CRITICAL_STREAM: -7,
  /** The peer's control stream did not start with a SETTINGS frame. */
  QUICHE_H3_ERR_MISSING_SETTINGS: -8,
  /** A frame arrived that is not allowed in the current state. */
  QUICHE_H3_ERR_FRAME_UNEXPECTED: -9,
  /** A frame is malformed or breaks the size rules. */
  QUICHE_H3_ERR_FRAME_ERROR: -10,
  /** A QPACK-encoded header block could not be decoded. */
  QUICHE_H3_ERR_QPACK_DECOMPRESSION_FAILED: -11,
  /** The QUIC stream or connection lacks the capacity to accept this now; retry later (e.g. once the stream is writable). */
  QUICHE_H3_ERR_STREAM_BLOCKED: -13,
  /** A SETTINGS frame carries an invalid payload. */
  QUICHE_H3_ERR_SETTINGS_ERROR: -14,
  /** The server refused the request without processing it. */
  QUICHE_H3_ERR_REQUEST_REJECTED: -15,
  /** The request, or its response, was cancelled. */
  QUICHE_H3_ERR_REQUEST_CANCELLED: -16,
  /** The client's request stream ended before a complete request was received. */
  QUICHE_H3_ERR_REQUEST_INCOMPLETE: -17,
  /** An HTTP message is malformed and cannot be processed. */
  QUICHE_H3_ERR_MESSAGE_ERROR: -18,
  /** The TCP connection opened for a CONNECT request was reset or closed abnormally. */
  QUICHE_H3_ERR_CONNECT_ERROR: -19,
  /** The request cannot be served over HTTP/3; the client should retry with HTTP/1.1. */
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
  /** A header section arrived; iterate it with `quiche_h3_event_for_each_header`. */
  QUICHE_H3_EVENT_HEADERS: 0,
  /** Body data is ready; read it with `quiche_h3_recv_body` until it returns `QUICHE_H3_ERR_DONE`. */
  QUICHE_H3_EVENT_DATA: 1,
  /** The peer finished the stream: no more data will arrive on it. */
  QUICHE_H3_EVENT_FINISHED: 2,
  /** The peer sent GOAWAY; the ID `quiche_h3_conn_poll` returns is the one carried by the frame, not a stream to act on. */
  QUICHE_H3_EVENT_GOAWAY: 3,
  /** The peer reset the stream. */
  QUICHE_H3_EVENT_RESET: 4,
  /** A PRIORITY_UPDATE arrived for the ID `quiche_h3_conn_poll` returns; fetch it with `quiche_h3_take_last_priority_update`. */
  QUICHE_H3_EVENT_PRIORITY_UPDATE: 5,
} as const;

/** Packet types written to `*type` by `quiche_header_info`. */
export const QuichePacketType = {
  /** Initial (long header): carries the first handshake messages. */
  INITIAL: 1,
  /** Retry (long header): the server asks the client to retry with an address validation token. */
  RETRY: 2,
  /** Handshake (long header): carries the rest of the TLS handshake. */
  HANDSHAKE: 3,
  /** 0-RTT (long header): early application data sent by a resuming client. */
  ZERO_RTT: 4,
  /** 1-RTT (short header): application data once the handshake is done. */
  SHORT: 5,
  /** Version Negotiation: lists the versions the server supports. */
  VERSION_NEGOTIATION: 6,
} as const;

/** Values of `quiche_path_stats.validation_state`. */
export const QuichePathValidationState = {
  /** Validation of the path failed. */
  FAILED: -1,
  /** The path exists but has not been validated. */
  UNKNOWN: 0,
  /** Validation of the path is in progress. */
  VALIDATING: 1,
  /** The peer address is validated; the path MTU is not yet. */
  VALIDATING_MTU: 2,
  /** The path is fully validated. */
  VALIDATED: 3,
} as const;

const errorNames = new Map<number, QuicheErrorName>(
  Object.entries(QuicheError).map(([name, value]) => [value, name as QuicheErrorName]),
);

/**
 * The C name of a `quiche_error` value, or `undefined` for a value quiche does not define.
 *
 * @example
 * ```ts
 * quicheErrorName(-1); // 'QUICHE_ERR_DONE'
 * quicheErrorName(-99); // undefined
 * ```
 */
export function quicheErrorName(code: number): QuicheErrorName | undefined {
  return errorNames.get(code);
}
