/**
 * HTTP/3 error codes (RFC 9114 §8.1), as they travel in RESET_STREAM,
 * STOP_SENDING and CONNECTION_CLOSE.
 *
 * @module
 */

/**
 * HTTP/3 error codes.
 *
 * @example
 * ```ts
 * const info = await conn.closed;
 * if (info.errorCode === H3ErrorCode.H3_NO_ERROR) console.log('closed cleanly');
 * ```
 */
export const H3ErrorCode = {
  /** No error: a graceful close. */
  H3_NO_ERROR: 0x100n,
  /** The peer violated the protocol in a way no more specific code covers. */
  H3_GENERAL_PROTOCOL_ERROR: 0x101n,
  /** An internal error of the endpoint (a handler that failed after its response began). */
  H3_INTERNAL_ERROR: 0x102n,
  /** A stream the peer was not allowed to open. */
  H3_STREAM_CREATION_ERROR: 0x103n,
  /** A control stream was closed. */
  H3_CLOSED_CRITICAL_STREAM: 0x104n,
  /** A frame not allowed in its place. */
  H3_FRAME_UNEXPECTED: 0x105n,
  /** A malformed frame. */
  H3_FRAME_ERROR: 0x106n,
  /** The peer generates excessive load. */
  H3_EXCESSIVE_LOAD: 0x107n,
  /** A stream or push ID used wrongly. */
  H3_ID_ERROR: 0x108n,
  /** Bad SETTINGS. */
  H3_SETTINGS_ERROR: 0x109n,
  /** No SETTINGS frame at the start of the control stream. */
  H3_MISSING_SETTINGS: 0x10an,
  /** The server did not process the request: it is safe to retry. */
  H3_REQUEST_REJECTED: 0x10bn,
  /** The request or its response is no longer wanted. */
  H3_REQUEST_CANCELLED: 0x10cn,
  /** The stream ended before the request was complete. */
  H3_REQUEST_INCOMPLETE: 0x10dn,
  /** A malformed message (bad or missing pseudo-headers, forbidden fields). */
  H3_MESSAGE_ERROR: 0x10en,
  /** A CONNECT request's connection failed. */
  H3_CONNECT_ERROR: 0x10fn,
  /** The request should be retried over HTTP/1.1. */
  H3_VERSION_FALLBACK: 0x110n,
} as const;
