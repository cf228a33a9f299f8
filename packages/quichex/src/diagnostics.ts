/**
 * Observability without dependencies: `node:diagnostics_channel` channels
 * that tools can subscribe to, and forwarding of quiche's own debug log.
 *
 * | channel | published when | message |
 * |---|---|---|
 * | `quichex:connection:created` | a connection object exists (client connect or server accept) | `{ connection, isServer }` |
 * | `quichex:connection:established` | the handshake completed | `{ connection }` |
 * | `quichex:connection:closed` | the connection closed (`closed` resolves at the same moment) | `{ connection, info }` |
 * | `quichex:stream:opened` | a stream was opened locally or by the peer | `{ connection, stream }` |
 * | `quichex:stream:closed` | both sides of a stream are done | `{ connection, stream }` |
 * | `quichex:datagram` | a datagram was sent or received | `{ connection, direction: 'in' \| 'out', size }` |
 * | `quichex:path` | a path event (new, validated, failed, closed, peer migrated, …) | `{ connection, event }` |
 * | `quichex:packet-loss` | quiche declared packets lost since the last check | `{ connection, lost, totalLost }` |
 * | `quichex:listener:initial` | a listener answered an Initial from an unknown client | `{ listener, address, port, action: 'accepted' \| 'retry' \| 'refused' \| 'version-negotiation' }` |
 *
 * Messages carry live objects; subscribers must not keep them past the
 * connection's life. Publishing costs nothing when nobody subscribes.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('quichex:connection:closed', ({ info }) => console.log('closed', info.code));
 * ```
 *
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import * as q from '@quichex/ffi';

/** What a listener did with an Initial from an unknown client (`quichex:listener:initial`). */
export type InitialAction = 'accepted' | 'retry' | 'refused' | 'version-negotiation';

/**
 * The channels, by short name (the same objects `diagnostics_channel.channel(name)` returns).
 *
 * @example
 * ```ts
 * channels.packetLoss.subscribe((msg) => {
 *   const { lost, totalLost } = msg as { lost: number; totalLost: number };
 *   console.log(`lost ${lost} packets (${totalLost} so far)`);
 * });
 * ```
 */
export const channels = {
  /** `quichex:connection:created` */
  connectionCreated: diagnostics_channel.channel('quichex:connection:created'),
  /** `quichex:connection:established` */
  connectionEstablished: diagnostics_channel.channel('quichex:connection:established'),
  /** `quichex:connection:closed` */
  connectionClosed: diagnostics_channel.channel('quichex:connection:closed'),
  /** `quichex:stream:opened` */
  streamOpened: diagnostics_channel.channel('quichex:stream:opened'),
  /** `quichex:stream:closed` */
  streamClosed: diagnostics_channel.channel('quichex:stream:closed'),
  /** `quichex:datagram` */
  datagram: diagnostics_channel.channel('quichex:datagram'),
  /** `quichex:path` */
  path: diagnostics_channel.channel('quichex:path'),
  /** `quichex:packet-loss` */
  packetLoss: diagnostics_channel.channel('quichex:packet-loss'),
  /** `quichex:listener:initial` */
  initial: diagnostics_channel.channel('quichex:listener:initial'),
} as const;

let debugSink: ((line: string) => void) | null = null;
let debugInstalled = false;

/**
 * Forwards quiche's internal debug log (every trace line, formatted by
 * quiche) to `sink`; `null` stops forwarding. quiche keeps its logger for
 * the life of the process, so the native hook is installed once and later
 * calls only change where lines go. Meant for debugging: it is verbose and
 * slows every connection down.
 *
 * @example
 * ```ts
 * enableQuicheDebugLog((line) => process.stderr.write(`${line}\n`));
 * ```
 */
export function enableQuicheDebugLog(sink: ((line: string) => void) | null): void {
  if (sink !== null && typeof sink !== 'function') throw new TypeError('sink must be a function or null');
  debugSink = sink;
  if (sink === null || debugInstalled) return;
  // Registered (not transient) because quiche calls it after this returns;
  // never unregistered, because quiche never forgets it.
  const cb = q.registerLogCallback((line) => debugSink?.(line));
  if (q.quiche_enable_debug_logging(cb, null) === 0) debugInstalled = true;
}
