/**
 * The application seam: what drives a connection's streams.
 *
 * A connection is driven by exactly one application. The raw stream API
 * (`Stream`, `conn.openStream()`, `conn.streams()`) is one; an application
 * protocol that must own stream I/O itself (HTTP/3, where
 * `quiche_h3_conn_poll` reads the streams) is another. The driver calls the
 * application once per processing round, after incoming packets and timers
 * were handed to quiche and before anything is sent, so whatever the
 * application writes leaves in the same flush.
 *
 * @example
 * ```ts
 * // A protocol that answers every stream with its bytes reversed.
 * const reverse: ApplicationFactory = (core) => ({
 *   streamEvents: true,
 *   onStreamReadable(id) {
 *     const { data, fin } = core.streams.recv(id);
 *     if (fin) core.streams.send(id, Uint8Array.from(data ?? []).reverse(), true);
 *   },
 *   process() {},
 *   onClose() {},
 * });
 * const conn = await connect({ host, port, config, application: reverse });
 * ```
 *
 * @module
 */
import type { ConnCore } from './core/conn-core.js';
import type { QuicError } from './errors.js';

/** An application protocol on one connection. */
export interface Application {
  /**
   * Whether the driver should report streams that became readable or
   * writable through {@link Application.onStreamReadable} and
   * {@link Application.onStreamWritable}. An application that polls quiche
   * for its streams itself says `false`.
   */
  readonly streamEvents: boolean;
  /** Stream `id` has data, a FIN or a reset to read. */
  onStreamReadable?(id: number): void;
  /**
   * Stream `id` can take more data again. (quiche reports a peer's
   * STOP_SENDING here only for a stream that had no room before; check
   * `core.streams.stopped(id)` to learn of it otherwise.)
   */
  onStreamWritable?(id: number): void;
  /** Once per processing round, after the events and before sending: do stream I/O here. */
  process(): void;
  /** The connection closed (`graceful`: with error code 0): settle whatever is pending. Called once. */
  onClose(error: QuicError, graceful: boolean): void;
}

/**
 * Creates the application of a new connection, given its sans-IO core and
 * `wake`: call it after writing to the core outside the application's own
 * callbacks (from a timer, a promise), so the connection processes and
 * sends on the next turn of the event loop.
 */
export type ApplicationFactory = (core: ConnCore, wake: () => void) => Application;
