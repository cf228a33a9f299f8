/**
 * `@quichex/ffi`: every function of cloudflare/quiche's `quiche.h`, bound with
 * koffi under its exact C name, in header order.
 *
 * ## Conventions
 *
 * - **Handles** (`quiche_conn *`, …) are branded `bigint`s ({@link QuicheConn},
 *   …); constructors return `null` for NULL. Free each exactly once.
 * - **Byte buffers** are `Uint8Array`s passed by address without copy, valid
 *   only during the call. koffi passes NULL for an *empty* array: pass a
 *   1-byte array with length 0 where quiche needs a non-NULL pointer.
 * - **Out-params** are preallocated typed arrays: `bool *` → `Uint8Array`,
 *   `uint32_t *`/`socklen_t *` → `Uint32Array`, `size_t *`/`uint64_t *` →
 *   `BigUint64Array`, `const uint8_t **` → `BigUint64Array` receiving the
 *   pointer (copy it with {@link readBorrowed}).
 * - **Structs** (`quiche_send_info`, `quiche_stats`, …) are raw `Uint8Array`s
 *   of {@link StructSize} bytes, read with the `decode*` helpers;
 *   `quiche_recv_info` is a native block ({@link RecvInfo}).
 * - **64-bit integers**: inputs take `number | bigint`; outputs are `number`
 *   up to 2^53 − 1 and `bigint` beyond ({@link U64}).
 * - **Errors**: `ssize_t`/`int` results are returned as they are; negative
 *   values are `QUICHE_ERR_*` ({@link QuicheError}). Nothing here throws
 *   except loading.
 * - **Panics abort the process**: validate inputs (UTF-8 strings, sockaddr
 *   lengths 16/28, path-event accessor matching the event type) first.
 *
 * @example
 * ```ts
 * import { quiche_version } from '@quichex/ffi';
 * console.log(quiche_version()); // "0.30.0"
 * ```
 *
 * @module
 */

// Evaluation order is binding order: these side-effect imports (which the
// import sorter leaves alone) bind the functions in quiche.h order, so that
// boundFunctions() lists them in header order. The re-exports below are sorted.
import './bindings/lib.js';
import './bindings/config.js';
import './bindings/packet.js';
import './bindings/io.js';
import './bindings/stream.js';
import './bindings/state.js';
import './bindings/stats.js';
import './bindings/dgram.js';
import './bindings/path.js';
import './bindings/misc.js';
import './bindings/h3.js';
import './bindings/quichex.js';

export * from './bindings/config.js';
export * from './bindings/dgram.js';
export * from './bindings/h3.js';
export * from './bindings/io.js';
export * from './bindings/lib.js';
export * from './bindings/misc.js';
export * from './bindings/packet.js';
export * from './bindings/path.js';
export * from './bindings/quichex.js';
export * from './bindings/state.js';
export * from './bindings/stats.js';
export * from './bindings/stream.js';
export * from './constants.js';
export * from './h3-header-block.js';
export * from './handles.js';
export * from './loader.js';
export * from './memory.js';
export {
  type BoundFunction,
  boundFunctions,
  H3Header,
  type H3HeaderInit,
  H3Priority,
  type H3PriorityInit,
  library,
  registerH3HeaderCallback,
  registerKeylogCallback,
  registerLogCallback,
} from './native.js';
export * from './structs.js';
export * from './sys.js';
