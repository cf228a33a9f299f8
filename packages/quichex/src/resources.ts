/**
 * Counts of live native objects, to check that nothing leaks: every quiche
 * object a quichex object creates is counted here until it is freed.
 *
 * @module
 */

const counts = { configs: 0, connections: 0, sockets: 0 };

/** @internal */
export function track(kind: keyof typeof counts, delta: 1 | -1): void {
  counts[kind] += delta;
}

/** What {@link resourceCounts} returns. */
export interface ResourceCounts {
  /** Native quiche configs (one per live `Config`). */
  configs: number;
  /** Native quiche connections (handshaking, open, or draining). */
  connections: number;
  /** UDP sockets (one per listener and per client connection, plus migrated ones). */
  sockets: number;
}

/**
 * Live native resources held by quichex in this process: quiche configs,
 * quiche connections, and UDP sockets.
 *
 * @example
 * ```ts
 * await conn.close();
 * console.log(resourceCounts()); // { configs: 1, connections: 0, sockets: 0 }
 * ```
 */
export function resourceCounts(): Readonly<ResourceCounts> {
  return { ...counts };
}
