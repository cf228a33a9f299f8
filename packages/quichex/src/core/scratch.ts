/**
 * Process-wide scratch memory for quiche calls. The engine runs on one
 * thread and every quiche call is synchronous, so one set of out-params and
 * one receive buffer serve every connection, and idle connections cost no
 * buffers of their own. Bytes read into `recvBuf` are copied out once, into
 * the chunk handed to the user.
 *
 * @module
 */
import { StructSize } from '@quichex/ffi';

/** Stream and datagram receive buffer (64 KiB: quiche's largest datagram and a good read size). */
export const recvBuf = Buffer.allocUnsafe(64 * 1024);
/** `bool *fin` of `quiche_conn_stream_recv`. */
export const finOut = new Uint8Array(1);
/** `uint64_t *out_error_code` of stream recv/send, and other 64-bit out-params. */
export const u64Out = new BigUint64Array(1);
/** A second 64-bit out-param (pointer of a borrowed buffer). */
export const ptrOut = new BigUint64Array(1);
/** Length of a borrowed buffer. */
export const lenOut = new BigUint64Array(1);
/** `bool *is_app` of `quiche_conn_peer_error`/`local_error`. */
export const boolOut = new Uint8Array(1);
/** `quiche_send_info` written by `quiche_conn_send`. */
export const sendInfo = new Uint8Array(StructSize.quiche_send_info);
/** Two `sockaddr_storage` + `socklen_t` pairs for path events. */
export const addrA = new Uint8Array(128);
export const addrB = new Uint8Array(128);
export const lenA = new Uint32Array(1);
export const lenB = new Uint32Array(1);
/** Struct outputs (zeroed before each use where quiche leaves fields unwritten). */
export const statsBuf = new Uint8Array(StructSize.quiche_stats);
export const pathStatsBuf = new Uint8Array(StructSize.quiche_path_stats);
export const paramsBuf = new Uint8Array(StructSize.quiche_transport_params);
/** A non-empty buffer passed with length 0 where quiche rejects NULL. */
export const EMPTY = new Uint8Array(1);
