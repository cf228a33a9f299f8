/**
 * `Connection`: the public face of one QUIC connection. The engine behind it
 * is a sans-IO core (`core/conn-core.ts`) run by a driver
 * (`driver/conn-driver.ts`); streams belong to the raw stream application
 * (`streams-app.ts`) unless another application took the connection over.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type * as q from '@quichex/ffi';
import type { Application, ApplicationFactory } from './application.js';
import type {
  CloseOptions,
  ConnectionEvents,
  ConnectionInfo,
  OpenStreamOptions,
} from './connection-types.js';
import type { CloseInfo } from './core/close-info.js';
import {
  type ConnectionStats,
  type PathStats,
  readLost,
  readNegotiated,
  readPathStats,
  readSession,
  readStats,
} from './core/introspect.js';
import type { PathEvent } from './core/path-events.js';
import { channels } from './diagnostics.js';
import type { ConnectionDriver, DriverEvents } from './driver/conn-driver.js';
import { HANDLER_ERROR_CODE, QuicError } from './errors.js';
import { migrate } from './migration.js';
import type { Stream } from './stream.js';
import { StreamRegistry } from './streams-app.js';
import { checkErrorCode, checkSignal, toBytes } from './validate.js';
import { AsyncQueue, emitGuarded, Signal } from './waiters.js';

export type {
  CloseOptions,
  ConnectionEvents,
  ConnectionInfo,
  OpenStreamOptions,
} from './connection-types.js';
export type { CloseInfo } from './core/close-info.js';
export type { ConnectionStats, PathStats, PeerTransportParams } from './core/introspect.js';
export type { PathEvent } from './core/path-events.js';

const REASON_MAX = 1024;

/** Engine access for the modules that create connections; not part of the public API. */
export const internals = {} as {
  /** Waits for the handshake; rejects with the close error if it fails first. */
  waitEstablished(conn: Connection, signal?: AbortSignal): Promise<void>;
  /** Rejects whoever waits in {@link internals.waitEstablished} with `error` (a handshake timeout). */
  failWaitEstablished(conn: Connection, error: QuicError): void;
  /**
   * Runs `fn` once the handshake completes, right after the `'connected'`
   * listeners (one hook per connection: the listener's, instead of one more
   * `'connected'` listener on every connection it accepts).
   */
  onEstablished(conn: Connection, fn: () => void): void;
};

/**
 * A QUIC connection, from `connect()`, a `Listener` or an `Endpoint`.
 *
 * Iterating {@link Connection.streams} or {@link Connection.datagrams} ends
 * when the connection closes, however it closes; the reason is in
 * {@link Connection.closed}.
 *
 * @example
 * ```ts
 * const conn = await connect({ host: 'localhost', port: 4433, config });
 * const stream = await conn.openStream();
 * await stream.end('hello');
 * console.log(Buffer.from(await stream.readAll()).toString());
 * await conn.close();
 * ```
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly #driver: ConnectionDriver;
  /** The raw stream API, or `null` when another application owns the streams. */
  readonly #streams: StreamRegistry | null;
  readonly #incoming = new AsyncQueue<Stream>();
  readonly #datagrams = new AsyncQueue<Uint8Array>();
  readonly #dgramLimit: number;
  readonly #paced: boolean;
  /** Whether someone asked for streams or datagrams through the queues (not only events). */
  #pullStreams = false;
  #pullDatagrams = false;
  readonly #established = new Signal();
  #lostSeen = 0;
  #onEstablished: (() => void) | null = null;
  #peerChain: X509Certificate[] | null = null;
  #watchingListeners = false;
  #resolveClosed!: (info: CloseInfo) => void;
  /** Resolves with the close info once the connection is closed and freed. Never rejects. */
  readonly closed: Promise<CloseInfo>;
  /**
   * The application protocol that drives this connection's streams, as its
   * factory made it (see `ApplicationFactory`); `null` for the raw stream API.
   */
  readonly application: Application | null = null;

  static {
    internals.waitEstablished = async (conn, signal) => {
      const core = conn.#driver.core;
      while (!core.established) {
        if (conn.#driver.finished) throw conn.#driver.closeError;
        await conn.#established.wait(signal);
      }
    };
    internals.failWaitEstablished = (conn, error) => conn.#established.fail(error);
    internals.onEstablished = (conn, fn) => {
      conn.#onEstablished = fn;
    };
  }

  /** @internal Created by `connect()`, `Listener` and `Endpoint`. */
  constructor(
    driver: ConnectionDriver,
    options: { dgramRecvQueueLen: number; paced: boolean; application?: ApplicationFactory },
  ) {
    super({ captureRejections: true });
    this.#driver = driver;
    this.#paced = options.paced;
    this.#dgramLimit = options.dgramRecvQueueLen;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    let app: Application;
    if (options.application) {
      app = options.application(driver.core, () => driver.schedule());
      this.application = app;
      this.#streams = null;
    } else {
      this.#streams = new StreamRegistry(driver.core, {
        accepted: (stream) => this.#accepted(stream),
        opened: (stream) => {
          if (channels.streamOpened.hasSubscribers)
            channels.streamOpened.publish({ connection: this, stream });
        },
        done: (stream) => {
          if (channels.streamClosed.hasSubscribers)
            channels.streamClosed.publish({ connection: this, stream });
        },
        schedule: () => driver.schedule(),
      });
      app = this.#streams;
    }
    driver.app = app;
    driver.core.streamEvents = app.streamEvents;
    driver.events = this.#engineEvents();
    if (channels.connectionCreated.hasSubscribers) {
      channels.connectionCreated.publish({ connection: this, isServer: driver.core.isServer });
    }
  }

  /** Whether the handshake completed. */
  get established(): boolean {
    return this.#driver.core.established;
  }

  /** Whether the connection is closed (native state freed). */
  get isClosed(): boolean {
    return this.#driver.finished;
  }

  /** How the connection ended, once it has. */
  get closeInfo(): CloseInfo | null {
    return this.#driver.closeInfo;
  }

  /** The peer's current address. */
  get remoteAddress(): q.SocketAddress {
    return this.#driver.peer;
  }

  /** The local socket address. */
  get localAddress(): q.SocketAddress {
    return this.#driver.socket.local;
  }

  /** Open streams (local and remote) that are not finished yet. */
  get streamCount(): number {
    return this.#streams?.size ?? 0;
  }

  /**
   * Opens a bidirectional stream. Waits for stream credit when the peer's
   * limit is reached (unless `wait: false`, which fails with `ERR_QUIC_STREAM_LIMIT`).
   */
  async openStream(options: OpenStreamOptions = {}): Promise<Stream> {
    return this.#rawStreams().open('bidi', options);
  }

  /** Opens a unidirectional (send-only) stream; same waiting rules as {@link Connection.openStream}. */
  async openUniStream(options: OpenStreamOptions = {}): Promise<Stream> {
    return this.#rawStreams().open('uni', options);
  }

  /**
   * Iterates streams opened by the peer; ends when the connection closes.
   * Streams are queued for it only once it (or {@link Connection.acceptStream})
   * was called, or while nobody listens to `'stream'`.
   */
  streams(): AsyncIterable<Stream> {
    this.#pullStreams = true;
    return this.#incoming;
  }

  /** Waits for the next stream opened by the peer; `null` once the connection closed. */
  acceptStream(options: { signal?: AbortSignal } = {}): Promise<Stream | null> {
    this.#pullStreams = true;
    return this.#incoming.next(checkSignal(options.signal));
  }

  /**
   * Iterates received datagrams; ends when the connection closes. At most
   * `dgramRecvQueueLen` wait unread (the oldest are dropped); none are queued
   * while only `'datagram'` listeners take them.
   */
  datagrams(): AsyncIterable<Uint8Array> {
    this.#pullDatagrams = true;
    return this.#datagrams;
  }

  /** Waits for the next datagram; `null` once the connection closed. */
  receiveDatagram(options: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    this.#pullDatagrams = true;
    return this.#datagrams.next(checkSignal(options.signal));
  }

  /** The largest datagram payload that can be sent now, or `null` when either side did not enable datagrams. */
  get maxDatagramSize(): number | null {
    this.#live();
    return this.#driver.core.dgramMaxWritable();
  }

  /**
   * Queues an unreliable datagram. Throws `ERR_QUIC_DATAGRAM_DISABLED` when
   * either side did not enable datagrams, `ERR_QUIC_DATAGRAM_TOO_LARGE`
   * (naming the limit) when it does not fit, `ERR_QUIC_DATAGRAM_QUEUE_FULL`
   * when the send queue is full.
   */
  sendDatagram(data: Uint8Array | string): void {
    if (!this.trySendDatagram(data))
      throw new QuicError('ERR_QUIC_DATAGRAM_QUEUE_FULL', 'the datagram send queue is full');
  }

  /**
   * Queues an unreliable datagram like {@link Connection.sendDatagram}, but
   * returns `false` instead of throwing when the send queue is full: the
   * cheap check for a sender that fills the queue on purpose (an exception
   * per refused datagram costs more than sending one). Still throws for a
   * datagram that can never be sent, or a closed connection.
   *
   * @example
   * ```ts
   * while (queue.length > 0 && conn.trySendDatagram(queue[0])) queue.shift();
   * ```
   */
  trySendDatagram(data: Uint8Array | string): boolean {
    const bytes = toBytes('data', data);
    this.#live();
    if (!this.#driver.core.dgramSend(bytes)) return false;
    if (channels.datagram.hasSubscribers)
      channels.datagram.publish({ connection: this, direction: 'out', size: bytes.length });
    this.#driver.schedule();
    return true;
  }

  /** Connection statistics. */
  stats(): ConnectionStats {
    return readStats(this.#live());
  }

  /** Statistics of every path (the active one first as quiche orders them). */
  pathStats(): PathStats[] {
    return readPathStats(this.#live());
  }

  /** Addresses, negotiated parameters and state. */
  info(): ConnectionInfo {
    const d = this.#driver;
    return {
      localAddress: d.socket.local.address,
      localPort: d.socket.local.port,
      remoteAddress: d.peer.address,
      remotePort: d.peer.port,
      isServer: d.core.isServer,
      pacing: this.#paced ? 'user-space' : 'none',
      authorized: d.core.authorization?.authorized ?? false,
      authorizationError: d.core.authorization?.authorizationError ?? null,
      ...readNegotiated(this.#live()),
    };
  }

  /**
   * Lets the process exit while this connection is open, as
   * `socket.unref()` does: the sockets the connection owns (a `connect()`
   * connection's own socket, those `migrate()` opened) stop holding the
   * event loop. A listener's or an endpoint's shared socket is not
   * affected. Connection pools use it for idle connections.
   *
   * @example
   * ```ts
   * const conn = await connect({ host, port, config });
   * conn.unref(); // the process may exit while conn is idle
   * ```
   */
  unref(): this {
    for (const socket of this.#ownSockets()) socket.unref();
    return this;
  }

  /** Undoes {@link Connection.unref}: the connection's own sockets hold the event loop again. */
  ref(): this {
    for (const socket of this.#ownSockets()) socket.ref();
    return this;
  }

  /** The sockets this connection owns: a `connect()` connection's own, and those `migrate()` opened. */
  *#ownSockets(): Generator<dgram.Socket> {
    for (const [i, socket] of this.#driver.sockets.entries())
      if (i > 0 || socket.connected) yield socket.socket;
  }

  /**
   * The peer's certificate (node:crypto's `X509Certificate`), or `null`
   * when it sent none (a server that did not ask for one, or before the
   * handshake completed). Still available after the connection closed.
   *
   * @example
   * ```ts
   * const cert = conn.peerCertificate();
   * console.log(cert?.subject, cert?.fingerprint256);
   * ```
   */
  peerCertificate(): X509Certificate | null {
    return this.peerCertificateChain()[0] ?? null;
  }

  /** The peer's certificates as it sent them, leaf first (empty when it sent none). */
  peerCertificateChain(): X509Certificate[] {
    const chain = this.#driver.core.authorization?.chain ?? [];
    this.#peerChain ??= chain.length === 0 ? null : chain.map((der) => new X509Certificate(der));
    return this.#peerChain === null ? [] : [...this.#peerChain];
  }

  /**
   * (Client) The TLS session to resume this connection later with
   * `connect({ session })`, or `null` before the server sent a ticket.
   */
  session(): Uint8Array | null {
    return readSession(this.#live());
  }

  /**
   * (Client) Moves the connection to a new local socket (active migration):
   * binds `localAddress:localPort` (default: any address, a new port), starts
   * path validation, and sends from the new socket from now on. Resolves once
   * the peer validated the new path; rejects with `QUICHE_ERR_OUT_OF_IDENTIFIERS`
   * when the peer gave no spare connection ID, or when validation fails.
   */
  migrate(
    options: { localAddress?: string; localPort?: number; signal?: AbortSignal } = {},
  ): Promise<PathEvent> {
    return migrate(this, this.#driver, options);
  }

  /**
   * Closes gracefully: sends CONNECTION_CLOSE with the application code and
   * reason, waits for the draining period, frees everything. Idempotent:
   * every call returns the same {@link Connection.closed} promise.
   */
  close(options: CloseOptions = {}): Promise<CloseInfo> {
    const code = checkErrorCode('errorCode', options.errorCode ?? 0n);
    if (typeof (options.reason ?? '') !== 'string') throw new TypeError('reason must be a string');
    const reason = Buffer.from(options.reason ?? '', 'utf8');
    if (reason.length > REASON_MAX)
      throw new RangeError(`reason must be at most ${REASON_MAX} bytes, got ${reason.length}`);
    if (!this.#driver.finished) {
      // Bytes written are delivered before the close (streams hold back their last byte).
      this.#streams?.flushTails();
      this.#driver.core.close(true, code, reason);
      this.#driver.process();
    }
    return this.closed;
  }

  /**
   * Closes immediately, without waiting for the peer: {@link Connection.closed}
   * resolves and everything pending rejects now. The CONNECTION_CLOSE
   * (INTERNAL_ERROR when `error` is given) leaves as soon as quiche lets it
   * (a full congestion window holds it back); the native connection is freed
   * then, within 1 s at most.
   */
  destroy(error?: unknown): void {
    this.#driver.destroy(error);
  }

  /** Same as {@link Connection.close} with no error. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A rejected async listener: a `'stream'` handler fails its stream; any other, the connection. */
  override [EventEmitter.captureRejectionSymbol](err: Error, event: unknown, ...args: unknown[]): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (event === 'stream') {
      const stream = args[0] as Stream;
      stream.reset(HANDLER_ERROR_CODE);
      stream.stopSending(HANDLER_ERROR_CODE);
      return;
    }
    if (!this.isClosed) {
      this.close({
        errorCode: HANDLER_ERROR_CODE,
        reason: `${String(event)} handler failed: ${reason}`.slice(0, 200),
      });
    }
  }

  /** A listener that throws closes this connection alone (on the next turn, outside the engine). */
  #emit<K extends keyof ConnectionEvents>(event: K, ...args: ConnectionEvents[K]): void {
    emitGuarded(this, event, args, (err) => {
      if (event !== 'close' && event !== 'error') setImmediate(() => this.destroy(err));
    });
  }

  /** The native connection while users may still use it. */
  #live(): q.QuicheConn {
    if (this.#driver.finished) throw this.#driver.closeError;
    return this.#driver.core.live();
  }

  #rawStreams(): StreamRegistry {
    if (this.#streams === null) {
      throw new QuicError(
        'ERR_QUIC_APPLICATION_OWNS_STREAMS',
        'an application protocol drives the streams of this connection',
      );
    }
    return this.#streams;
  }

  #handOver = (): void => {
    if (this.#pullStreams) return;
    for (let s = this.#incoming.shift(); s !== undefined; s = this.#incoming.shift()) this.#emit('stream', s);
  };

  #accepted(stream: Stream): void {
    if (this.#pullStreams || this.listenerCount('stream') === 0) {
      this.#incoming.push(stream);
      if (!this.#pullStreams) this.#watchStreamListeners();
    }
    this.#emit('stream', stream);
  }

  /**
   * Peer streams that arrived before the first `'stream'` listener (0-RTT
   * data comes before the handshake completes) go to it, not to a queue
   * that nobody reads. Watched from the first such stream on: most
   * connections never need it.
   */
  #watchStreamListeners(): void {
    if (this.#watchingListeners) return;
    this.#watchingListeners = true;
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'stream' && !this.#pullStreams && this.#incoming.size > 0) queueMicrotask(this.#handOver);
    });
  }

  #engineEvents(): DriverEvents {
    const driver = this.#driver;
    return {
      established: () => {
        this.#established.notify();
        if (channels.connectionEstablished.hasSubscribers)
          channels.connectionEstablished.publish({ connection: this });
        this.#emit('connected');
        const hook = this.#onEstablished;
        this.#onEstablished = null;
        hook?.();
      },
      datagram: (data) => {
        if (this.#pullDatagrams || this.listenerCount('datagram') === 0) {
          // Datagrams are unreliable: when nobody drains the queue, drop the oldest.
          if (this.#datagrams.size >= this.#dgramLimit) this.#datagrams.shift();
          this.#datagrams.push(data);
        }
        if (channels.datagram.hasSubscribers)
          channels.datagram.publish({ connection: this, direction: 'in', size: data.length });
        this.#emit('datagram', data);
      },
      path: (event) => {
        if (channels.path.hasSubscribers) channels.path.publish({ connection: this, event });
        this.#emit('path', event);
      },
      session: (ticket) => this.#emit('session', ticket),
      awaitingHandshake: () => this.#established.waiting,
      handshakeFailed: (info) => {
        if (!this.#established.waiting) return;
        this.#established.fail(driver.core.errorFor(info));
      },
      processed: () => {
        driver.core.sessionEvents = !driver.core.isServer && this.listenerCount('session') > 0;
        if (channels.packetLoss.hasSubscribers) this.#reportLoss();
      },
      closed: (info, error) => {
        // Iteration ends quietly; how the connection ended is in `closed`.
        this.#incoming.end();
        this.#datagrams.end();
        this.#established.fail(error);
        if (channels.connectionClosed.hasSubscribers)
          channels.connectionClosed.publish({ connection: this, info });
        if (!info.graceful && this.listenerCount('error') > 0) this.#emit('error', error);
        this.#emit('close', info);
        this.#resolveClosed(info);
      },
    };
  }

  #reportLoss(): void {
    const conn = this.#driver.core.handle;
    if (conn === null) return;
    const totalLost = readLost(conn);
    if (totalLost > this.#lostSeen) {
      channels.packetLoss.publish({ connection: this, lost: totalLost - this.#lostSeen, totalLost });
      this.#lostSeen = totalLost;
    }
  }
}
