/**
 * `Listener`: accepts connections on an endpoint's socket, delivers the
 * established ones to `onConnection`, the `'connection'` event or
 * `accept()`/iteration, and closes them all when it closes.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import { Admission, type ListenerStats, type RetryMode } from './admission.js';
import type { ApplicationFactory } from './application.js';
import { Config } from './config.js';
import { Connection, internals as connectionInternals } from './connection.js';
import { channels, type InitialAction } from './diagnostics.js';
import { Acceptor } from './driver/acceptor.js';
import type { LongHeader } from './driver/cid-router.js';
import { type TimerOwner, timers } from './driver/timers.js';
import { createEndpoint, type Endpoint, endpointInternals, type InitialHandler } from './endpoint.js';
import { HANDLER_ERROR_CODE, QuicError, TransportErrorCode } from './errors.js';
import { type ConnectionLogOptions, checkLogOptions } from './logging.js';
import { RetryTokens } from './retry.js';
import { checkBool, checkInt, checkPort, checkSignal, describe, keepAliveInterval } from './validate.js';
import { AsyncQueue, emitGuarded } from './waiters.js';

export { HANDLER_ERROR_CODE } from './errors.js';

const debug = debuglog('quichex');
/** Connections being refused at once (each costs a quiche connection until its CONNECTION_CLOSE is out). */
const MAX_REFUSING = 1024;
const SERVER_BUSY = Buffer.from('server busy');
const MIN_INITIAL_DATAGRAM = 1200;

/** Options of {@link listen}. */
export interface ListenOptions extends ConnectionLogOptions {
  /** Address to bind (default `'::'`, dual-stack, falling back to `'0.0.0.0'`). */
  host?: string;
  /** UDP port; 0 picks a free one (see {@link Listener.address}). */
  port: number;
  /** Server configuration: ALPN, certificate and key are required. */
  config: Config;
  /**
   * Address validation with a stateless Retry: `true` demands it of every
   * client, `false` never asks, `'auto'` (default) asks only under load
   * (see {@link ListenOptions.retryThreshold}).
   */
  retry?: RetryMode;
  /** Connections in their handshake at once; beyond, Initials are dropped (default 1024). */
  maxHandshakes?: number;
  /**
   * Half-open connections from one source address; beyond, its Initials
   * need a Retry token (with `retry: false`, they are dropped) (default 16).
   */
  maxHandshakesPerAddress?: number;
  /** With `retry: 'auto'`: half-open connections beyond which every new client gets a Retry (default 64). */
  retryThreshold?: number;
  /** Milliseconds a connection may take to complete its handshake; then it is dropped silently (default 10 000). */
  handshakeTimeout?: number;
  /** Live connections allowed; beyond it new clients are refused with CONNECTION_REFUSED (default unlimited). */
  maxConnections?: number;
  /**
   * Called for each established connection. If it throws or its promise
   * rejects, that connection alone is closed (application error 1,
   * {@link HANDLER_ERROR_CODE}). When given, connections are not queued for
   * `accept()`/iteration.
   */
  onConnection?: (conn: Connection) => unknown;
  /** Closes the listener when aborted. */
  signal?: AbortSignal;
  /**
   * Send runs of datagrams with one `sendmsg` through UDP generic
   * segmentation offload where the platform has it (Linux), falling back to
   * one `dgram` send per datagram otherwise (default `true`).
   */
  gso?: boolean;
  /**
   * Receive and send buffer size asked of the kernel for the UDP socket, in
   * bytes (default 4 MiB; Linux caps it at `net.core.rmem_max`/`wmem_max`).
   * Smaller buffers drop bursts; larger ones queue more behind a busy
   * process: see the performance guide's "Socket buffers".
   */
  socketBufferSize?: number;
  /** Keep quiet connections open with ack-eliciting packets (see `ConnectOptions.keepAlive`; default off). */
  keepAlive?: boolean | number;
  /** An application protocol that drives each connection's streams instead of the raw stream API. */
  application?: ApplicationFactory;
}

/** Events of a {@link Listener}. */
export interface ListenerEvents {
  /**
   * A connection completed its handshake. An async listener that rejects
   * closes that connection alone with {@link HANDLER_ERROR_CODE}.
   */
  connection: [conn: Connection];
  /**
   * One line of TLS key material of a connection, in NSS key log format
   * with its newline, as node:tls's Server emits it (for Wireshark;
   * keep it secret). Connections accepted while nobody listens log none.
   */
  keylog: [line: Buffer, conn: Connection];
  /**
   * A client's TLS handshake failed, as node:tls's Server reports it: its
   * certificate was rejected (`error.authorizationError` says why, with
   * `requestCert`), it sent none where one is required, or TLS failed
   * otherwise (a TLS alert; `error.remote` when the client sent it). The
   * connection is closed; it never reached `'connection'`.
   */
  tlsClientError: [error: QuicError, conn: Connection];
  /** The socket reported an error (the listener keeps running). */
  error: [error: Error];
  /** The listener closed. */
  close: [];
}

/**
 * A QUIC server. Create it with {@link listen} (a socket of its own) or `Endpoint.listen()`.
 *
 * Established connections go to `onConnection` when given; otherwise to the
 * `'connection'` event, and to `accept()`/iteration once either was called
 * (or while nobody listens to `'connection'`). A connection that closes
 * leaves the accept queue, so one that nobody accepts is never kept alive by it.
 *
 * @example
 * ```ts
 * const listener = await listen({ port: 4433, config });
 * listener.on('connection', (conn) => {
 *   conn.on('stream', async (stream) => {
 *     for await (const chunk of stream) await stream.write(chunk);
 *     await stream.end();
 *   });
 * });
 * ```
 */
export class Listener extends EventEmitter<ListenerEvents> {
  readonly #endpoint: Endpoint;
  readonly #ownsEndpoint: boolean;
  readonly #acceptor: Acceptor;
  readonly #admission: Admission;
  readonly #config: Config;
  readonly #maxConnections: number;
  readonly #onConnection: ((conn: Connection) => unknown) | undefined;
  readonly #application: ApplicationFactory | undefined;
  readonly #live = new Set<Connection>();
  readonly #refusing = new Set<Connection>();
  readonly #accepted = new AsyncQueue<Connection>();
  #pull = false;
  #closing: Promise<void> | null = null;
  readonly #handler: InitialHandler;

  /** @internal Use {@link listen} or `Endpoint.listen()`. */
  constructor(
    endpoint: Endpoint,
    options: Omit<ListenOptions, 'host' | 'port' | 'gso'>,
    ownsEndpoint: boolean,
  ) {
    super({ captureRejections: true });
    checkListenOptions(options);
    this.#endpoint = endpoint;
    this.#ownsEndpoint = ownsEndpoint;
    this.#config = options.config;
    this.#maxConnections = options.maxConnections ?? Number.POSITIVE_INFINITY;
    this.#onConnection = options.onConnection;
    this.#application = options.application;
    const socket = endpointInternals.socket(endpoint);
    socket.growPacketSize(options.config.maxSendUdpPayloadSize);
    this.#admission = new Admission(options);
    this.#acceptor = new Acceptor(socket, endpointInternals.router(endpoint), {
      config: options.config,
      retry: new RetryTokens(),
      logs: checkLogOptions(options, 'server'),
      keepAliveMs: keepAliveInterval(options.keepAlive, options.config.maxIdleTimeout),
    });
    this.#handler = {
      onInitial: (packet, hdr, address, port) => this.#onInitial(packet, hdr, address, port),
      close: () => this.close(),
    };
    endpointInternals.attach(endpoint, this.#handler);
    if (ownsEndpoint)
      endpoint.on('error', (err) => this.listenerCount('error') > 0 && this.emit('error', err));
  }

  /** The bound address (with the real port when 0 was asked for). */
  address(): q.SocketAddress {
    return this.#endpoint.address();
  }

  /** The endpoint (UDP socket) this listener accepts on; it can also dial out. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  /** Live connections: handshaking and established. */
  get connections(): ReadonlySet<Connection> {
    return this.#live;
  }

  /**
   * What the listener has done with Initials from unknown clients, and how
   * many connections are in their handshake now.
   */
  stats(): Readonly<ListenerStats> {
    return { ...this.#admission.stats };
  }

  /** Whether {@link Listener.close} was called. */
  get closing(): boolean {
    return this.#closing !== null;
  }

  /** Waits for the next established connection; `null` once the listener closed. */
  accept(options: { signal?: AbortSignal } = {}): Promise<Connection | null> {
    this.#pull = true;
    return this.#accepted.next(checkSignal(options.signal));
  }

  /** Iterates established connections until the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    this.#pull = true;
    return this.#accepted[Symbol.asyncIterator]();
  }

  /**
   * Stops accepting, closes every connection gracefully (application code
   * 0), waits for them (at most `timeoutMs`, then destroys the rest) and,
   * when it made its own socket (`listen()`), closes it. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const timeoutMs = checkInt('timeoutMs', options.timeoutMs ?? 5000, 0, 600_000) as number;
    this.#closing = (async () => {
      this.#accepted.end();
      const all = [...this.#live, ...this.#refusing];
      const closed = Promise.all(all.map((c) => c.close({ errorCode: 0, reason: 'server closing' })));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([closed, timeout]);
      clearTimeout(timer);
      for (const c of all) c.destroy();
      endpointInternals.detach(this.#endpoint, this.#handler);
      // When the endpoint is what is closing (it closes its listener first), it goes on by itself.
      if (this.#ownsEndpoint && !this.#endpoint.closing) await this.#endpoint.close();
      emitGuarded(this, 'close');
    })();
    return this.#closing;
  }

  /** Same as {@link Listener.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A rejected async `'connection'` listener closes that connection alone. */
  override [EventEmitter.captureRejectionSymbol](err: Error, event: unknown, ...args: unknown[]): void {
    debug('a %s listener failed: %s', String(event), err instanceof Error ? err.message : String(err));
    if (event === 'connection') failHandler(args[0] as Connection);
  }

  #onInitial(packet: Buffer, hdr: LongHeader, address: string, port: number): void {
    const action = this.#admit(packet, hdr, address, port);
    if (channels.initial.hasSubscribers) channels.initial.publish({ listener: this, address, port, action });
  }

  /** Answers an Initial from an unknown client, as the admission policy says; returns what it did. */
  #admit(packet: Buffer, hdr: LongHeader, address: string, port: number): InitialAction {
    const admission = this.#admission;
    const stats = admission.stats;
    // RFC 9000 §14.1: an Initial (and a version negotiation trigger) arrives in a datagram of
    // at least 1200 bytes; anything smaller gets no answer and no state.
    if (this.#closing || packet.length < MIN_INITIAL_DATAGRAM) {
      stats.initialsRefused++;
      return 'refused';
    }
    if (!q.quiche_version_is_supported(hdr.version)) {
      stats.versionNegotiations++;
      this.#acceptor.negotiateVersion(hdr, packet.length, address, port);
      return 'version-negotiation';
    }
    if (hdr.dcid.length < 8) {
      // RFC 9000 §7.2: a client's first DCID has at least 8 bytes.
      stats.initialsRefused++;
      return 'refused';
    }
    const odcid = this.#acceptor.verifyToken(hdr, address, port);
    if (odcid === false) {
      stats.badTokens++;
      stats.initialsRefused++;
      return 'refused';
    }
    const verdict = admission.decide(address, odcid !== null);
    if (verdict === 'retry') {
      stats.retriesSent++;
      this.#acceptor.sendRetry(hdr, packet.length, address, port);
      return 'retry';
    }
    const full = this.#live.size >= this.#maxConnections;
    if (verdict === 'refuse' || (full && this.#refusing.size >= MAX_REFUSING)) {
      stats.initialsRefused++;
      return 'refused';
    }
    let created: ReturnType<Acceptor['create']>;
    // Key log lines arrive in a microtask, once the Connection below exists.
    let keylogOwner: Connection | undefined;
    const keylog =
      this.listenerCount('keylog') === 0
        ? undefined
        : (line: Buffer) => keylogOwner && this.emit('keylog', line, keylogOwner);
    try {
      created = this.#acceptor.create(hdr, address, port, odcid, keylog);
    } catch (err) {
      debug('could not accept a client from %s:%d: %s', address, port, (err as Error).message);
      created = null;
    }
    if (created === null) {
      stats.initialsRefused++;
      return 'refused';
    }
    const { driver, odcidKey } = created;
    const conn = new Connection(driver, {
      dgramRecvQueueLen: this.#config.dgram.recvQueueLen,
      paced: this.#config.pacedFor('server'),
      application: this.#application,
    });
    keylogOwner = conn;
    const set = full ? this.#refusing : this.#live;
    set.add(conn);
    const handshakeDone = admission.opened(address);
    // A handshake that does not complete in time is dropped without another
    // packet. Its deadline waits in the process's timer heap (with the
    // connections' own deadlines) rather than in a Node timer of its own.
    const deadline: TimerOwner = {
      onTimer: () => {
        if (conn.established || driver.finished) return;
        stats.handshakeTimeouts++;
        driver.finish({
          code: 'ERR_QUIC_HANDSHAKE_TIMEOUT',
          local: true,
          type: 'transport',
          errorCode: 0n,
          reason: 'handshake timeout',
          graceful: false,
        });
      },
    };
    timers.set(deadline, performance.now() + admission.handshakeTimeout);
    driver.onFinished(() => {
      timers.clear(deadline);
      handshakeDone();
      set.delete(conn);
      this.#accepted.remove(conn);
      const error = driver.closeError;
      if (!conn.established && !full && error.code === 'QUICHE_ERR_TLS_FAIL')
        emitGuarded(this, 'tlsClientError', [error, conn]);
    });
    if (full) {
      driver.receive(packet, address, port);
      driver.core.close(false, TransportErrorCode.CONNECTION_REFUSED, SERVER_BUSY);
      driver.process();
      return 'accepted';
    }
    connectionInternals.onEstablished(conn, () => {
      timers.clear(deadline);
      handshakeDone();
      if (odcidKey !== null) driver.router.delete(driver, odcidKey);
      this.#deliver(conn);
    });
    driver.receive(packet, address, port);
    return 'accepted';
  }

  #deliver(conn: Connection): void {
    if (!this.#onConnection) {
      if (this.#pull || this.listenerCount('connection') === 0) this.#accepted.push(conn);
      emitGuarded(this, 'connection', [conn], () => failHandler(conn));
      return;
    }
    emitGuarded(this, 'connection', [conn]);
    try {
      const result = this.#onConnection(conn);
      if (result && typeof (result as Promise<unknown>).then === 'function')
        (result as Promise<unknown>).then(undefined, (err: unknown) => {
          debug('onConnection failed: %s', err instanceof Error ? err.message : String(err));
          failHandler(conn);
        });
    } catch (err) {
      debug('onConnection threw: %s', err instanceof Error ? err.message : String(err));
      failHandler(conn);
    }
  }
}

function failHandler(conn: Connection): void {
  if (!conn.isClosed)
    conn.close({ errorCode: HANDLER_ERROR_CODE, reason: 'connection handler failed' }).catch(() => undefined);
}

function checkListenOptions(options: Omit<ListenOptions, 'host' | 'port' | 'gso'>): void {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  if (!(options.config instanceof Config)) throw new TypeError('config must be a Config');
  if (options.config.freed) throw new QuicError('ERR_QUIC_DESTROYED', 'config has been freed');
  if (options.config.alpn.length === 0)
    throw new TypeError('config must set alpn (application protocols) to listen');
  if (!options.config.hasCertificate)
    throw new TypeError(
      'config must load a certificate chain and its key (cert and key, certChainFile and privKeyFile) or sni identities to listen',
    );
  new Admission(options); // validates the admission options
  if (options.maxConnections !== undefined) checkInt('maxConnections', options.maxConnections, 0, 10_000_000);
  if (options.onConnection !== undefined && typeof options.onConnection !== 'function') {
    throw new TypeError('onConnection must be a function');
  }
  if (options.application !== undefined && typeof options.application !== 'function') {
    throw new TypeError(`application must be a function, got ${describe(options.application)}`);
  }
  checkLogOptions(options, 'server');
}

/**
 * Starts a QUIC server on a UDP socket of its own.
 *
 * @throws {TypeError|RangeError} for invalid options (named).
 * @throws {QuicError} `ERR_QUIC_SOCKET` when the address cannot be bound (e.g. port in use).
 * @example
 * ```ts
 * const config = new Config({ alpn: ['echo'], certChainFile: 'cert.pem', privKeyFile: 'key.pem' });
 * const listener = await listen({ host: '127.0.0.1', port: 4433, config });
 * console.log('listening on', listener.address());
 * ```
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  checkListenOptions(options);
  const port = checkPort('port', options.port);
  if (options.host !== undefined && typeof options.host !== 'string')
    throw new TypeError('host must be a string');
  if (options.gso !== undefined) checkBool('gso', options.gso);
  keepAliveInterval(options.keepAlive, options.config.maxIdleTimeout);
  const signal = checkSignal(options.signal);
  if (signal?.aborted) throw signal.reason;
  const endpoint = await createEndpoint({
    host: options.host,
    port,
    gso: options.gso,
    socketBufferSize: options.socketBufferSize,
  });
  const listener = new Listener(endpoint, options, true);
  signal?.addEventListener('abort', () => void listener.close(), { once: true });
  return listener;
}
