/**
 * quichex: QUIC for Node.js on cloudflare/quiche.
 *
 * @example
 * ```ts
 * import { Config, connect, listen } from 'quichex';
 *
 * const server = await listen({ port: 0, config: new Config({ alpn: ['echo'], cert, key }) });
 * server.on('connection', (conn) => {
 *   conn.on('stream', async (stream) => {
 *     for await (const chunk of stream) await stream.write(chunk);
 *     await stream.end();
 *   });
 * });
 * const conn = await connect({ host: '127.0.0.1', port: server.address().port, config: new Config({ alpn: ['echo'], ca }) });
 * ```
 *
 * @module
 */

export { quiche_version as quicheVersion } from '@quichex/ffi';
export type { ListenerStats, RetryMode } from './admission.js';
export type { Application, ApplicationFactory } from './application.js';
export {
  type CcAlgorithm,
  type CheckServerIdentity,
  Config,
  type ConfigOptions,
  type DgramQueues,
  type DgramSettings,
  type Pem,
  type ServerNameIdentity,
} from './config.js';
export { type ConnectOptions, connect, type LookupAddress } from './connect.js';
export {
  type CloseInfo,
  type CloseOptions,
  Connection,
  type ConnectionEvents,
  type ConnectionInfo,
  type ConnectionStats,
  type OpenStreamOptions,
  type PathEvent,
  type PathStats,
  type PeerTransportParams,
} from './connection.js';
export {
  type ClosedEvent,
  ConnCore,
  type CoreEvent,
  type CoreOptions,
  type DatagramEvent,
  type EstablishedEvent,
  type PathChangeEvent,
  type SessionEvent,
  type Sockaddr,
  type StreamEvent,
} from './core/conn-core.js';
export type { StreamChunk, StreamIO } from './core/stream-io.js';
export { channels, enableQuicheDebugLog } from './diagnostics.js';
export type { DialOptions } from './dial.js';
export { createEndpoint, Endpoint, type EndpointEvents, type EndpointOptions } from './endpoint.js';
export {
  HANDLER_ERROR_CODE,
  QuicError,
  type QuicErrorCode,
  type QuicErrorOptions,
  TransportErrorCode,
} from './errors.js';
export { Listener, type ListenerEvents, type ListenOptions, listen } from './listener.js';
export type { ConnectionLogOptions } from './logging.js';
export type { Authorizer, PeerAuthorization, Rejection } from './peer-auth.js';
export { type ResourceCounts, resourceCounts } from './resources.js';
export { Stream, type StreamEvents, type StreamWaitOptions } from './stream.js';
