/**
 * `Connection`: one QUIC connection and the event loop that drives it.
 *
 * The loop, in one place:
 * - {@link Connection.receive} feeds each UDP datagram to `quiche_conn_recv`
 *   and schedules one {@link Connection.process} per event-loop turn, so a
 *   burst of datagrams is handled as a batch;
 * - `process()` surfaces what quiche has for us (handshake done, readable and
 *   writable streams, datagrams, path events), then {@link Connection.flush}es;
 * - `flush()` drains `quiche_conn_send` to the socket and re-arms this
 *   connection's deadline in the shared timer heap; on expiry `onTimer()`
 *   calls `quiche_conn_on_timeout` and processes again;
 * - once `quiche_conn_is_closed`, the close info is read, the native
 *   connection freed exactly once, and every waiter settled.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import { GSO_MAX_SEGMENTS } from '@quichex/ffi';
import { type CloseInfo, describeClose, earlyDataOutcome, readCloseInfo } from './close-info.js';
import { channels } from './diagnostics.js';
import { Endpoint, openClientSocket, type Sockaddr, toSockaddr } from './endpoint.js';
import { QuicError, quicheError } from './errors.js';
import { nextPathEvent, type PathEvent } from './path-events.js';
import { track } from './resources.js';
import * as s from './scratch.js';
import { Stream, type StreamHost } from './stream.js';
import { type TimerOwner, timers } from './timers.js';
import { checkErrorCode, checkSignal, toBytes } from './validate.js';
import { AsyncQueue, Signal } from './waiters.js';

const debug = debuglog('quichex');
const { QuicheError: E } = q;

export type { CloseInfo } from './close-info.js';
export type { PathEvent } from './path-events.js';

const UINT64_MAX = (1n << 64n) - 1n;

/** Connection statistics (quiche's `quiche_stats`, camelCased). */
export type ConnectionStats = { [K in keyof q.Stats as CamelCase<K>]: q.Stats[K] };
/** Per-path statistics (quiche's `quiche_path_stats`, camelCased; RTTs in ns). */
export type PathStats = { [K in keyof q.PathStats as CamelCase<K>]: q.PathStats[K] };
/** The peer's transport parameters (camelCased). */
export type PeerTransportParams = { [K in keyof q.TransportParams as CamelCase<K>]: q.TransportParams[K] };
type CamelCase<S> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

/** What {@link Connection.info} reports. */
export interface ConnectionInfo {
  /** Local IP address of the socket (`0.0.0.0`/`::` when bound to any). */
  readonly localAddress: string;
  /** Local UDP port. */
  readonly localPort: number;
  /** The peer's current IP address (IPv4 peers of a dual-stack socket appear as `::ffff:a.b.c.d`). */
  readonly remoteAddress: string;
  /** The peer's current UDP port. */
  readonly remotePort: number;
  /** Negotiated ALPN protocol ('' before the handshake). */
  readonly alpn: string;
  /** SNI server name (client: what it asked for; server: what the client sent). */
  readonly serverName: string | null;
  /** Whether this side accepted the connection. */
  readonly isServer: boolean;
  /** Whether the handshake completed. */
  readonly established: boolean;
  /** Whether the session was resumed from a ticket. */
  readonly resumed: boolean;
  /** Whether the connection is still in 0-RTT (early data before the handshake completed). */
  readonly inEarlyData: boolean;
  /**
   * What became of 0-RTT: `'accepted'`, `'rejected'` (the peer declined; data
   * was resent after the handshake), or `'none'` (not attempted or not known yet).
   */
  readonly earlyData: 'accepted' | 'rejected' | 'none';
  /** quiche's trace id, which also names qlog files. */
  readonly traceId: string;
  /** The transport parameters the peer announced, once known. */
  readonly peerTransportParams: PeerTransportParams | null;
}

/** Options of {@link Connection.close}. */
export interface CloseOptions {
  /** Application error code (default 0: no error). */
  errorCode?: number | bigint;
  /** Reason phrase (UTF-8, at most 1024 bytes). */
  reason?: string;
}

/** Options of {@link Connection.openStream}. */
export interface OpenStreamOptions {
  /** Abort the wait for stream credit. */
  signal?: AbortSignal;
  /** Wait for the peer to allow another stream (default). `false` fails fast with `ERR_QUIC_STREAM_LIMIT`. */
  wait?: boolean;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /** The handshake completed. */
  connected: [];
  /** The peer opened a stream. */
  stream: [stream: Stream];
  /** A datagram arrived. */
  datagram: [data: Uint8Array];
  /** A path was created, validated, failed, closed, or the peer migrated. */
  path: [event: PathEvent];
  /** The connection ended abnormally (also reflected in {@link Connection.closed}). Emitted only when listened to. */
  error: [error: QuicError];
  /** The connection is closed and its resources freed. */
  closed: [info: CloseInfo];
  /** (Client) A session ticket arrived: pass it as `connect({ session })` to resume later. */
  session: [session: Uint8Array];
}

/** @internal What a connection's owner (listener or client) does for it. */
export interface ConnectionOwner {
  /** Called after each process() on a live connection (server CID upkeep). */
  afterProcess?(conn: Connection): void;
  /** Called when the connection issues a new source connection ID (key: its bytes as latin1). */
  onScidIssued?(conn: Connection, key: string): void;
  /** Called once the connection is closed and freed. */
  onClosed(conn: Connection): void;
}

const registry = new FinalizationRegistry<q.QuicheConn>((handle) => {
  q.quiche_conn_free(handle);
  track('connections', -1);
});
const reasonMax = 1024;
const SPARE_SCIDS = 2;

/**
 * A QUIC connection, from `connect()` or a `Listener`.
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
export class Connection extends EventEmitter<ConnectionEvents> implements TimerOwner, StreamHost {
  #conn: q.QuicheConn | null;
  /** The socket packets leave from; a client's changes when it migrates. */
  #endpoint: Endpoint;
  /** Every socket of this connection (more than one only after a client migration). */
  readonly #endpoints: Endpoint[];
  readonly #owner: ConnectionOwner;
  readonly #isServer: boolean;
  #peer: q.SocketAddress;
  #peerSockaddr: Sockaddr;
  readonly #streams = new Map<number, Stream>();
  readonly #incoming = new AsyncQueue<Stream>();
  readonly #datagrams = new AsyncQueue<Uint8Array>();
  readonly #dgramLimit: number;
  readonly #dgramEnabled: boolean;
  readonly #streamCredit = new Signal();
  readonly #established = new Signal();
  #isEstablished = false;
  #nextBidi: number;
  #nextUni: number;
  #maxPeerBidi = -1;
  #maxPeerUni = -1;
  /** Peer stream ids below the highest seen whose data has not arrived yet. */
  readonly #skippedPeer = new Set<number>();
  #processScheduled = false;
  /** Streams whose lone FIN waits to be queued (see #queuePendingFins). */
  readonly #pendingFins = new Set<number>();
  /** Length of the last session ticket reported by the 'session' event. */
  #sessionLen = 0;
  #lastError = 0;
  #closeInfo: CloseInfo | null = null;
  #terminal: QuicError | null = null;
  #resolveClosed!: (info: CloseInfo) => void;
  /** Resolves with the close info once the connection is closed and freed. Never rejects. */
  readonly closed: Promise<CloseInfo>;

  /** @internal Created by `connect()` and `Listener`. */
  constructor(
    handle: q.QuicheConn,
    endpoint: Endpoint,
    peer: q.SocketAddress,
    owner: ConnectionOwner,
    options: { isServer: boolean; dgramEnabled: boolean; dgramRecvQueueLen: number },
  ) {
    super();
    this.#conn = handle;
    this.#endpoint = endpoint;
    this.#endpoints = [endpoint];
    this.#owner = owner;
    this.#isServer = options.isServer;
    this.#peer = peer;
    this.#peerSockaddr = toSockaddr(peer.address, peer.port, endpoint.isV6);
    this.#dgramLimit = options.dgramRecvQueueLen;
    this.#dgramEnabled = options.dgramEnabled;
    this.#nextBidi = this.#isServer ? 1 : 0;
    this.#nextUni = this.#isServer ? 3 : 2;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    track('connections', 1);
    registry.register(this, handle, this);
    if (channels.connectionCreated.hasSubscribers) {
      channels.connectionCreated.publish({ connection: this, isServer: this.#isServer });
    }
  }

  // -- public API -------------------------------------------------------------

  /** Whether the handshake completed. */
  get established(): boolean {
    return this.#isEstablished;
  }

  /** Whether the connection is closed (native state freed). */
  get isClosed(): boolean {
    return this.#conn === null;
  }

  /** The peer's current address. */
  get remoteAddress(): q.SocketAddress {
    return this.#peer;
  }

  /** The local socket address. */
  get localAddress(): q.SocketAddress {
    return this.#endpoint.local;
  }

  /** Open streams (local and remote) that are not finished yet. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Opens a bidirectional stream. Waits for stream credit when the peer's
   * limit is reached (unless `wait: false`, which fails with `ERR_QUIC_STREAM_LIMIT`).
   */
  openStream(options: OpenStreamOptions = {}): Promise<Stream> {
    return this.#open('bidi', options);
  }

  /** Opens a unidirectional (send-only) stream; same waiting rules as {@link Connection.openStream}. */
  openUniStream(options: OpenStreamOptions = {}): Promise<Stream> {
    return this.#open('uni', options);
  }

  /** Iterates streams opened by the peer; ends when the connection closes (throws if it failed). */
  streams(): AsyncIterable<Stream> {
    return this.#incoming;
  }

  /** Waits for the next stream opened by the peer; `null` once the connection closed gracefully. */
  acceptStream(options: { signal?: AbortSignal } = {}): Promise<Stream | null> {
    return this.#incoming.next(checkSignal(options.signal));
  }

  /** Iterates received datagrams; ends when the connection closes. */
  datagrams(): AsyncIterable<Uint8Array> {
    return this.#datagrams;
  }

  /** Waits for the next datagram; `null` once the connection closed gracefully. */
  receiveDatagram(options: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    return this.#datagrams.next(checkSignal(options.signal));
  }

  /** The largest datagram payload that can be sent now, or `null` when either side did not enable datagrams. */
  get maxDatagramSize(): number | null {
    const conn = this.#live();
    // quiche looks only at the peer's limit; without our own dgram option its
    // send queue holds nothing, and every send would fail as "queue full".
    const n = this.#dgramEnabled ? q.quiche_conn_dgram_max_writable_len(conn) : -1;
    return n < 0 ? null : n;
  }

  /**
   * Queues an unreliable datagram. Throws `ERR_QUIC_DATAGRAM_DISABLED` when
   * either side did not enable datagrams, `ERR_QUIC_DATAGRAM_TOO_LARGE`
   * (naming the limit) when it does not fit, `ERR_QUIC_DATAGRAM_QUEUE_FULL`
   * when the send queue is full.
   */
  sendDatagram(data: Uint8Array | string): void {
    const bytes = toBytes('data', data);
    const conn = this.#live();
    const max = this.#dgramEnabled ? q.quiche_conn_dgram_max_writable_len(conn) : -1;
    if (max < 0) {
      throw new QuicError(
        'ERR_QUIC_DATAGRAM_DISABLED',
        'datagrams are not enabled on this connection (enableDgram on both sides)',
      );
    }
    if (bytes.length > max) {
      throw new QuicError(
        'ERR_QUIC_DATAGRAM_TOO_LARGE',
        `datagram of ${bytes.length} bytes exceeds the limit of ${max} bytes`,
      );
    }
    const rc = q.quiche_conn_dgram_send(conn, bytes.length === 0 ? s.EMPTY : bytes, bytes.length);
    if (rc === E.QUICHE_ERR_DONE)
      throw new QuicError('ERR_QUIC_DATAGRAM_QUEUE_FULL', 'the datagram send queue is full');
    if (rc < 0) throw quicheError(rc, 'sendDatagram');
    if (channels.datagram.hasSubscribers)
      channels.datagram.publish({ connection: this, direction: 'out', size: bytes.length });
    this.#scheduleProcess();
  }

  /** Connection statistics. */
  stats(): ConnectionStats {
    s.statsBuf.fill(0);
    q.quiche_conn_stats(this.#live(), s.statsBuf);
    return camel(q.decodeStats(s.statsBuf)) as ConnectionStats;
  }

  /** Statistics of every path (the active one first as quiche orders them). */
  pathStats(): PathStats[] {
    const conn = this.#live();
    const out: PathStats[] = [];
    for (let i = 0; i < 64; i++) {
      s.pathStatsBuf.fill(0); // quiche never writes max_rtt
      if (q.quiche_conn_path_stats(conn, i, s.pathStatsBuf) < 0) break;
      out.push(camel(q.decodePathStats(s.pathStatsBuf)) as PathStats);
    }
    return out;
  }

  /** Addresses, negotiated parameters and state. */
  info(): ConnectionInfo {
    const conn = this.#live();
    const text = (fn: (c: q.QuicheConn, o: BigUint64Array, l: BigUint64Array) => void): string => {
      s.lenOut[0] = 0n;
      fn(conn, s.ptrOut, s.lenOut);
      return Buffer.from(q.readBorrowed(s.ptrOut, s.lenOut)).toString('utf8');
    };
    s.paramsBuf.fill(0);
    const haveParams = q.quiche_conn_peer_transport_params(conn, s.paramsBuf);
    const sni = text(q.quiche_conn_server_name);
    return {
      localAddress: this.#endpoint.local.address,
      localPort: this.#endpoint.local.port,
      remoteAddress: this.#peer.address,
      remotePort: this.#peer.port,
      alpn: text(q.quiche_conn_application_proto),
      serverName: sni === '' ? null : sni,
      isServer: this.#isServer,
      established: q.quiche_conn_is_established(conn),
      resumed: q.quiche_conn_is_resumed(conn),
      inEarlyData: q.quiche_conn_is_in_early_data(conn),
      earlyData: earlyDataOutcome(q.quichex_conn_early_data_reason(conn)),
      traceId: text(q.quiche_conn_trace_id),
      peerTransportParams: haveParams
        ? (camel(q.decodeTransportParams(s.paramsBuf)) as PeerTransportParams)
        : null,
    };
  }

  /**
   * (Client) The TLS session to resume this connection later with
   * `connect({ session })`, or `null` before the server sent a ticket.
   */
  session(): Uint8Array | null {
    const conn = this.#live();
    s.lenOut[0] = 0n;
    q.quiche_conn_session(conn, s.ptrOut, s.lenOut);
    return s.lenOut[0] === 0n ? null : q.readBorrowed(s.ptrOut, s.lenOut);
  }

  /**
   * (Client) Moves the connection to a new local socket (active migration):
   * binds `localAddress:localPort` (default: any address, a new port), starts
   * path validation, and sends from the new socket from now on. Resolves once
   * the peer validated the new path; rejects with `QUICHE_ERR_OUT_OF_IDENTIFIERS`
   * when the peer gave no spare connection ID, or when validation fails.
   */
  async migrate(
    options: { localAddress?: string; localPort?: number; signal?: AbortSignal } = {},
  ): Promise<PathEvent> {
    if (this.#isServer)
      throw new QuicError('QUICHE_ERR_INVALID_STATE', 'only a client can migrate its connection');
    const signal = checkSignal(options.signal);
    this.#live();
    const v6 = this.#endpoint.isV6;
    const socket = await openClientSocket(
      v6,
      options.localAddress ?? (v6 ? '::' : '0.0.0.0'),
      options.localPort ?? 0,
      this.#peer.address,
      this.#peer.port,
    );
    const endpoint = new Endpoint(socket, this.#endpoint.packetSize, true);
    const conn = this.#conn;
    if (conn === null) {
      endpoint.close();
      throw this.#terminal ?? new QuicError('ERR_QUIC_CONNECTION_CLOSED', 'the connection is closed');
    }
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address, rinfo.port, endpoint));
    socket.on('error', (err) => debug('migrated socket error: %s', err.message));
    // Probe first (PATH_CHALLENGE from the new socket); switch to the path
    // only once the peer proved it reachable, as RFC 9000 §9 intends.
    const rc = q.quiche_conn_probe_path(
      conn,
      endpoint.localSockaddr.buf,
      endpoint.localSockaddr.len,
      this.#peerSockaddr.buf,
      this.#peerSockaddr.len,
      s.u64Out,
    );
    if (rc < 0) {
      endpoint.close();
      throw quicheError(rc, 'migrate');
    }
    this.#endpoints.push(endpoint);
    const local = endpoint.local;
    const outcome = new Promise<PathEvent>((resolve, reject) => {
      const done = (): void => {
        this.off('path', onPath);
        signal?.removeEventListener('abort', onAbort);
      };
      const onPath = (event: PathEvent): void => {
        if (event.local?.port !== local.port) return;
        if (event.type === 'validated') {
          done();
          const live = this.#conn;
          const switched =
            live === null
              ? E.QUICHE_ERR_INVALID_STATE
              : q.quiche_conn_migrate(
                  live,
                  endpoint.localSockaddr.buf,
                  endpoint.localSockaddr.len,
                  this.#peerSockaddr.buf,
                  this.#peerSockaddr.len,
                  s.u64Out,
                );
          if (switched < 0) {
            reject(quicheError(switched, 'migrate'));
            return;
          }
          this.#endpoint = endpoint;
          this.#scheduleProcess();
          resolve(event);
        } else if (event.type === 'failed') {
          done();
          reject(new QuicError('ERR_QUIC_TRANSPORT_ERROR', `path validation from port ${local.port} failed`));
        }
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      this.on('path', onPath);
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.closed.then(() => {
        done();
        reject(
          this.#terminal ??
            new QuicError('ERR_QUIC_CONNECTION_CLOSED', 'the connection closed during migration'),
        );
      });
    });
    this.process();
    return outcome;
  }

  /**
   * Closes gracefully: sends CONNECTION_CLOSE with the application code and
   * reason, waits for the draining period, frees everything. Idempotent:
   * every call returns the same {@link Connection.closed} promise.
   */
  close(options: CloseOptions = {}): Promise<CloseInfo> {
    const code = checkErrorCode('errorCode', options.errorCode ?? 0n);
    const reason = Buffer.from(options.reason ?? '', 'utf8');
    if (typeof (options.reason ?? '') !== 'string') throw new TypeError('reason must be a string');
    if (reason.length > reasonMax)
      throw new RangeError(`reason must be at most ${reasonMax} bytes, got ${reason.length}`);
    const conn = this.#conn;
    if (conn !== null) {
      // Bytes written are delivered before the close (streams hold back their last byte).
      for (const stream of this.#streams.values()) stream.flushTail();
      const rc = q.quiche_conn_close(conn, true, code, reason.length ? reason : null, reason.length);
      if (rc < 0 && rc !== E.QUICHE_ERR_DONE) debug('close: quiche error %d', rc);
      this.process();
    }
    return this.closed;
  }

  /**
   * Closes immediately: sends one CONNECTION_CLOSE (INTERNAL_ERROR when
   * `error` is given) without waiting for the peer, then frees everything.
   */
  destroy(error?: unknown): void {
    const conn = this.#conn;
    if (conn === null) return;
    if (error !== undefined)
      debug('destroying connection: %s', error instanceof Error ? error.message : String(error));
    q.quiche_conn_close(conn, false, error === undefined ? 0n : 1n, null, 0);
    try {
      this.flush();
    } catch {
      // best effort: the connection is going away anyway
    }
    const info: CloseInfo = {
      code: 'ERR_QUIC_DESTROYED',
      local: true,
      type: 'transport',
      errorCode: error === undefined ? 0n : 1n,
      reason: error instanceof Error ? error.message : '',
      graceful: error === undefined,
    };
    this.#finish(info, error instanceof QuicError ? error : undefined);
  }

  /** Same as {@link Connection.close} with no error. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -- engine: input ------------------------------------------------------------

  /** @internal Feeds one UDP datagram that arrived on `endpoint` from `fromAddress:fromPort` to quiche. */
  receive(packet: Buffer, fromAddress: string, fromPort: number, endpoint: Endpoint = this.#endpoint): void {
    const conn = this.#conn;
    if (conn === null) return;
    let from = this.#peerSockaddr;
    if (fromPort !== this.#peer.port || fromAddress !== this.#peer.address) {
      // NAT rebinding, migration, or an unauthenticated (possibly spoofed) packet:
      // quiche decides what the new path means, and reports a real move as a
      // PEER_MIGRATED path event, which is when #peer changes.
      from = toSockaddr(fromAddress, fromPort, endpoint.isV6);
    }
    const info = endpoint.recvInfo;
    info.setFrom(from.buf, from.len);
    const rc = q.quiche_conn_recv(conn, packet, packet.length, info.ptr);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE) {
      this.#lastError = rc;
      debug('recv: %s', q.quicheErrorName(rc) ?? rc);
    }
    this.#scheduleProcess();
  }

  /** @internal A socket error that dooms a client connection (e.g. ICMP unreachable). */
  fail(error: QuicError): void {
    if (this.#conn === null) return;
    this.#finish(
      {
        code: error.code,
        local: true,
        type: 'transport',
        errorCode: 0n,
        reason: error.message,
        graceful: false,
      },
      error,
    );
  }

  /** @internal Timer heap callback. */
  onTimer(): void {
    const conn = this.#conn;
    if (conn === null) return;
    q.quiche_conn_on_timeout(conn);
    this.process();
  }

  #scheduleProcess(): void {
    if (this.#processScheduled) return;
    this.#processScheduled = true;
    setImmediate(this.#processNow);
  }

  #processNow = (): void => {
    this.#processScheduled = false;
    this.process();
  };

  /** @internal Surfaces quiche's state changes, then flushes. Errors destroy this connection only. */
  process(): void {
    const conn = this.#conn;
    if (conn === null) return;
    try {
      if (!this.#isEstablished && q.quiche_conn_is_established(conn)) {
        this.#isEstablished = true;
        this.#established.notify();
        if (channels.connectionEstablished.hasSubscribers)
          channels.connectionEstablished.publish({ connection: this });
        this.emit('connected');
      }
      if (this.#isEstablished || q.quiche_conn_is_in_early_data(conn)) {
        this.#drainStreams(conn);
        this.#drainDatagrams(conn);
      }
      this.#drainPathEvents(conn);
      if (this.#streamCredit.waiting) this.#streamCredit.notify();
      if (this.#isEstablished) {
        this.#issueSpareScids(conn);
        if (!this.#isServer && this.listenerCount('session') > 0) this.#reportSession(conn);
      }
      if (channels.packetLoss.hasSubscribers) this.#reportLoss(conn);
      if (this.#pendingFins.size > 0) this.#queuePendingFins(conn);
      if (!this.#isEstablished && this.#established.waiting) this.#failHandshakeEarly(conn);
      this.#owner.afterProcess?.(this);
      if (this.#conn !== null) this.flush();
    } catch (err) {
      this.destroy(err);
    }
  }

  /** @internal Sends everything quiche has queued, then re-arms the timer or finishes the connection. */
  flush(): void {
    const conn = this.#conn;
    if (conn === null) return;
    const endpoint = this.#endpoint;
    if (endpoint.gso !== null && this.#endpoints.length === 1) this.#sendBatched(conn, endpoint);
    else this.#sendEach(conn);
    if (q.quiche_conn_is_closed(conn)) {
      this.#finish(readCloseInfo(conn, this.#lastError));
      return;
    }
    const ns = q.quiche_conn_timeout_as_nanos(conn);
    if (typeof ns === 'bigint' && ns === UINT64_MAX) timers.clear(this);
    else timers.set(this, performance.now() + Number(ns) / 1e6);
  }

  /** Drains quiche_conn_send, one `dgram` send per datagram. */
  #sendEach(conn: q.QuicheConn): void {
    for (;;) {
      let endpoint = this.#endpoint;
      const out = endpoint.takeBuffer();
      const n = q.quiche_conn_send(conn, out, out.length, s.sendInfo);
      if (n < 0) {
        endpoint.giveBack(out);
        if (n !== E.QUICHE_ERR_DONE) debug('send: %s', q.quicheErrorName(n) ?? n);
        break;
      }
      // After a migration, probes and stragglers leave from the socket quiche names.
      if (this.#endpoints.length > 1) endpoint = this.#endpointFor(s.sendInfo) ?? endpoint;
      if (this.#toCurrentPeer()) {
        endpoint.send(out, n, this.#peer.port, endpoint.connected ? undefined : this.#peer.address);
      } else {
        this.#sendElsewhere(endpoint, out, n);
      }
    }
  }

  /**
   * Drains quiche_conn_send into the GSO buffer back to back and hands each
   * run of equal-size datagrams to the kernel in one sendmsg. A datagram
   * longer than the run's size starts a new run; a shorter one ends it (the
   * kernel allows only the last segment to be short).
   */
  #sendBatched(conn: q.QuicheConn, endpoint: Endpoint): void {
    const buf = (endpoint.gso as NonNullable<Endpoint['gso']>).sender.buffer;
    const max = endpoint.packetSize;
    const address = endpoint.connected ? undefined : this.#peer.address;
    let len = 0;
    let segment = 0;
    let count = 0;
    const ship = (): void => {
      if (len > 0) endpoint.sendBatch(len, segment, this.#peer.port, address, this.#peerSockaddr);
      len = 0;
      segment = 0;
      count = 0;
    };
    for (let guard = 0; guard < 100_000 && endpoint.gso !== null; guard++) {
      if (buf.length - len < max || count >= GSO_MAX_SEGMENTS) ship();
      const n = q.quiche_conn_send(conn, buf.subarray(len, len + max), max, s.sendInfo);
      if (n < 0) {
        if (n !== E.QUICHE_ERR_DONE) debug('send: %s', q.quicheErrorName(n) ?? n);
        break;
      }
      if (!this.#toCurrentPeer()) {
        // A probe or a reply to another address: send it alone, after the run.
        const out = endpoint.takeBuffer();
        buf.copy(out, 0, len, len + n);
        ship();
        this.#sendElsewhere(endpoint, out, n);
        continue;
      }
      if (count > 0 && n > segment) {
        // Cannot join the run: ship the run, then start a new one with this datagram.
        const start = len;
        ship();
        buf.copyWithin(0, start, start + n);
        len = n;
        segment = n;
        count = 1;
        continue;
      }
      if (count === 0) segment = n;
      len += n;
      count++;
      if (n < segment) ship();
    }
    ship();
    // GSO turned itself off mid-flush: whatever quiche still has goes the plain way.
    if (endpoint.gso === null) this.#sendEach(conn);
  }

  /** Sends a datagram quiche addressed to someone other than the current peer (a probe, a new path). */
  #sendElsewhere(endpoint: Endpoint, out: Buffer, n: number): void {
    const to = q.decodeSockaddr(s.sendInfo, 136, s.sendInfo[264]! | (s.sendInfo[265]! << 8));
    if (to) endpoint.send(out, n, to.port, endpoint.connected ? undefined : to.address);
    else endpoint.giveBack(out);
  }

  /** Whether the datagram quiche just wrote goes to the current peer (compares the raw sockaddr bytes). */
  #toCurrentPeer(): boolean {
    const peer = this.#peerSockaddr;
    const toLen = s.sendInfo[264]! | (s.sendInfo[265]! << 8);
    if (toLen !== peer.len) return false;
    for (let i = 0; i < toLen; i++) if (s.sendInfo[136 + i] !== peer.buf[i]) return false;
    return true;
  }

  #endpointFor(info: Uint8Array): Endpoint | undefined {
    const fromLen = info[128]! | (info[129]! << 8);
    return this.#endpoints.find((ep) => {
      const local = ep.localSockaddr;
      if (local.len !== fromLen) return false;
      for (let i = 0; i < fromLen; i++) if (info[i] !== local.buf[i]) return false;
      return true;
    });
  }

  /**
   * Queues FINs that carry no data. quiche 0.30 drops such a FIN when it is
   * queued while the stream's data is still in flight and the ACK for that
   * data is processed before the FIN went out (cloudflare/quiche#2525):
   * quiche frees the stream with the FIN unsent. Streams avoid lone FINs by
   * holding back their last byte (see Stream.write); the few left are queued
   * here, after received ACKs were processed and right before a flush, with
   * the stream made most urgent so the FIN leaves in the next packet.
   */
  #queuePendingFins(conn: q.QuicheConn): void {
    for (const id of this.#pendingFins) {
      q.quiche_conn_stream_priority(conn, id, 0, false);
      const rc = q.quiche_conn_stream_send(conn, id, null as unknown as Uint8Array, 0, true, s.u64Out);
      if (rc < 0 && rc !== E.QUICHE_ERR_DONE) debug('FIN on stream %d: %s', id, q.quicheErrorName(rc) ?? rc);
    }
    this.#pendingFins.clear();
  }

  /** Spare source CIDs let the peer migrate or rebind without linking its paths. */
  #issueSpareScids(conn: q.QuicheConn): void {
    for (
      let i = 0;
      i < SPARE_SCIDS &&
      q.quiche_conn_scids_left(conn) > 0 &&
      q.quiche_conn_active_scids(conn) <= SPARE_SCIDS;
      i++
    ) {
      const cid = randomBytes(16);
      if (q.quiche_conn_new_scid(conn, cid, cid.length, randomBytes(16), false, s.u64Out) < 0) break;
      this.#owner.onScidIssued?.(this, cid.toString('latin1'));
    }
  }

  #reportSession(conn: q.QuicheConn): void {
    s.lenOut[0] = 0n;
    q.quiche_conn_session(conn, s.ptrOut, s.lenOut);
    const len = Number(s.lenOut[0]);
    if (len === 0 || len === this.#sessionLen) return;
    this.#sessionLen = len;
    this.#emitSafely('session', q.readBorrowed(s.ptrOut, s.lenOut));
  }

  #lostSeen = 0;

  #reportLoss(conn: q.QuicheConn): void {
    s.statsBuf.fill(0);
    q.quiche_conn_stats(conn, s.statsBuf);
    const totalLost = q.decodeStats(s.statsBuf).lost;
    if (totalLost > this.#lostSeen) {
      channels.packetLoss.publish({ connection: this, lost: totalLost - this.#lostSeen, totalLost });
      this.#lostSeen = totalLost;
    }
  }

  // -- engine: streams ---------------------------------------------------------

  #drainStreams(conn: q.QuicheConn): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const id = Number(q.quiche_conn_stream_readable_next(conn));
      if (id < 0) break;
      const stream = this.#streams.get(id) ?? this.#acceptRemote(id);
      stream?.onReadable();
    }
    // quiche reports a peer's STOP_SENDING through this iterator only for a
    // stream still in its writable set, and a stream leaves the set when
    // returned. Idle streams with 'stopped' listeners are re-armed by their
    // check, after the loop: inside it, they would be returned again forever.
    const idle: Stream[] = [];
    for (let guard = 0; guard < 100_000; guard++) {
      const id = Number(q.quiche_conn_stream_writable_next(conn));
      if (id < 0) break;
      const stream = this.#streams.get(id);
      if (stream?.onWritable()) idle.push(stream);
    }
    for (const stream of idle) stream.checkStopped();
  }

  #acceptRemote(id: number): Stream | undefined {
    const remote = ((id & 1) === 1) !== this.#isServer;
    if (!remote) return undefined;
    const uni = (id & 2) !== 0;
    const max = uni ? this.#maxPeerUni : this.#maxPeerBidi;
    if (id <= max) {
      // Ids below the highest seen belong to streams that already finished,
      // unless a higher stream's data overtook theirs (see below).
      if (!this.#skippedPeer.delete(id)) return undefined;
    } else {
      // Opening stream N implicitly opens the lower ones of its type (RFC 9000
      // §3.2): their first data may still be on its way. quiche's stream limit
      // bounds the gap; the guard bounds it against a huge configured limit.
      const first = max < 0 ? id & 3 : max + 4;
      for (let skipped = first, n = 0; skipped < id && n < 65_536; skipped += 4, n++)
        this.#skippedPeer.add(skipped);
      if (uni) this.#maxPeerUni = id;
      else this.#maxPeerBidi = id;
    }
    const stream = new Stream(this, id, this.#isServer);
    this.#streams.set(id, stream);
    if (channels.streamOpened.hasSubscribers) channels.streamOpened.publish({ connection: this, stream });
    this.#incoming.push(stream);
    this.#emitSafely('stream', stream);
    return stream;
  }

  async #open(kind: 'bidi' | 'uni', options: OpenStreamOptions): Promise<Stream> {
    const signal = checkSignal(options.signal);
    const wait = options.wait ?? true;
    if (typeof wait !== 'boolean') throw new TypeError('wait must be a boolean');
    for (;;) {
      const conn = this.#live();
      const id = kind === 'bidi' ? this.#nextBidi : this.#nextUni;
      // Setting a priority makes quiche create the stream now, counting it
      // against the peer's limit, before any data is written.
      const rc = q.quiche_conn_stream_priority(conn, id, 127, true);
      if (rc === 0) {
        if (kind === 'bidi') this.#nextBidi += 4;
        else this.#nextUni += 4;
        const stream = new Stream(this, id, this.#isServer);
        this.#streams.set(id, stream);
        if (channels.streamOpened.hasSubscribers) channels.streamOpened.publish({ connection: this, stream });
        return stream;
      }
      if (rc !== E.QUICHE_ERR_STREAM_LIMIT) throw quicheError(rc, 'openStream', { streamId: id });
      if (!wait) {
        throw new QuicError('ERR_QUIC_STREAM_LIMIT', `the peer allows no more ${kind} streams right now`, {
          streamId: id,
        });
      }
      await this.#streamCredit.wait(signal);
    }
  }

  /** @internal */
  streamRecv(id: number): { data: Uint8Array | null; fin: boolean } {
    const conn = this.#live();
    s.finOut[0] = 0;
    const n = q.quiche_conn_stream_recv(conn, id, s.recvBuf, s.recvBuf.length, s.finOut, s.u64Out);
    if (n === E.QUICHE_ERR_DONE) return { data: null, fin: false };
    if (n < 0) {
      if (n === E.QUICHE_ERR_STREAM_RESET) {
        const code = s.u64Out[0]!;
        throw new QuicError('ERR_QUIC_STREAM_RESET', `stream ${id} was reset by the peer with code ${code}`, {
          errorCode: code,
          type: 'application',
          remote: true,
          streamId: id,
        });
      }
      throw quicheError(n, `reading stream ${id}`, { streamId: id });
    }
    // Reading frees flow-control credit: let quiche send MAX_STREAM_DATA.
    this.#scheduleProcess();
    return { data: n > 0 ? Uint8Array.prototype.slice.call(s.recvBuf, 0, n) : null, fin: s.finOut[0] === 1 };
  }

  /** @internal */
  streamSend(id: number, data: Uint8Array, fin: boolean): number {
    const conn = this.#live();
    if (fin && data.length === 0) {
      this.#pendingFins.add(id);
      this.#scheduleProcess();
      return 0;
    }
    const n = q.quiche_conn_stream_send(
      conn,
      id,
      data.length ? data : (null as unknown as Uint8Array),
      data.length,
      fin,
      s.u64Out,
    );
    if (n === E.QUICHE_ERR_DONE) return 0;
    if (n < 0) {
      if (n === E.QUICHE_ERR_STREAM_STOPPED) {
        const code = s.u64Out[0]!;
        throw new QuicError(
          'ERR_QUIC_STREAM_STOPPED',
          `stream ${id} was stopped by the peer with code ${code}`,
          {
            errorCode: code,
            type: 'application',
            remote: true,
            streamId: id,
          },
        );
      }
      throw quicheError(n, `writing stream ${id}`, { streamId: id });
    }
    if (n > 0 || fin) this.#scheduleProcess();
    return n;
  }

  /** @internal */
  streamStopped(id: number): QuicError | null {
    if (this.#conn === null) return null;
    // Only a send reports the peer's code, and it keeps the stream armed (see
    // #drainStreams). quiche_conn_stream_capacity would free a stopped stream
    // whose receiving side is finished, and the code with it: no event, and
    // later writes took 0 bytes forever.
    try {
      this.streamSend(id, new Uint8Array(0), false);
    } catch (err) {
      return err as QuicError;
    }
    return null;
  }

  /** @internal */
  streamWantWritable(id: number, len: number): boolean {
    const rc = q.quiche_conn_stream_writable(this.#live(), id, len);
    // STOP_SENDING is reported, with its code, by the next write attempt. Any
    // other error means quiche no longer has the stream: a write would take 0
    // bytes, and the writer would spin.
    if (rc < 0 && rc !== E.QUICHE_ERR_STREAM_STOPPED) {
      throw quicheError(rc, `writing stream ${id}`, { streamId: id });
    }
    return rc !== 0;
  }

  /** @internal */
  streamShutdown(id: number, side: 'read' | 'write', code: bigint): void {
    const conn = this.#conn;
    if (conn === null) return;
    const dir =
      side === 'read' ? q.QuicheShutdown.QUICHE_SHUTDOWN_READ : q.QuicheShutdown.QUICHE_SHUTDOWN_WRITE;
    const rc = q.quiche_conn_stream_shutdown(conn, id, dir, code);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE) debug('shutdown stream %d: %d', id, rc);
    this.#scheduleProcess();
  }

  /** @internal */
  streamPriority(id: number, urgency: number, incremental: boolean): void {
    const rc = q.quiche_conn_stream_priority(this.#live(), id, urgency, incremental);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE)
      throw quicheError(rc, `setPriority on stream ${id}`, { streamId: id });
  }

  /** @internal */
  streamDone(id: number): void {
    const stream = this.#streams.get(id);
    this.#streams.delete(id);
    if (stream && channels.streamClosed.hasSubscribers)
      channels.streamClosed.publish({ connection: this, stream });
  }

  /** @internal */
  get terminalError(): QuicError | null {
    return this.#terminal;
  }

  // -- engine: datagrams and paths ---------------------------------------------

  #drainDatagrams(conn: q.QuicheConn): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const n = q.quiche_conn_dgram_recv(conn, s.recvBuf, s.recvBuf.length);
      if (n < 0) break;
      const data = Uint8Array.prototype.slice.call(s.recvBuf, 0, n);
      // Datagrams are unreliable: when nobody drains the queue, drop the oldest.
      if (this.#datagrams.size >= this.#dgramLimit) this.#datagrams.shift();
      this.#datagrams.push(data);
      if (channels.datagram.hasSubscribers)
        channels.datagram.publish({ connection: this, direction: 'in', size: n });
      this.#emitSafely('datagram', data);
    }
  }

  #drainPathEvents(conn: q.QuicheConn): void {
    for (let guard = 0; guard < 1000; guard++) {
      const event = nextPathEvent(conn);
      if (event === null) break;
      if (event.type === 'peer-migrated' && event.peer) {
        this.#peer = event.peer;
        this.#peerSockaddr = toSockaddr(event.peer.address, event.peer.port, this.#endpoint.isV6);
      }
      if (channels.path.hasSubscribers) channels.path.publish({ connection: this, event });
      this.#emitSafely('path', event);
    }
  }

  // -- engine: lifecycle ----------------------------------------------------------

  /** @internal Waits for the handshake; rejects with the close error if it fails first. */
  async waitEstablished(signal?: AbortSignal): Promise<void> {
    while (!this.#isEstablished) {
      if (this.#terminal) throw this.#terminal;
      if (this.#conn === null)
        throw new QuicError('ERR_QUIC_CONNECTION_CLOSED', 'the connection closed during the handshake');
      await this.#established.wait(signal);
    }
  }

  /** @internal The live native handle (for the listener's CID upkeep). */
  get handle(): q.QuicheConn | null {
    return this.#conn;
  }

  /**
   * A handshake that quiche has already given up on (TLS alert, ALPN
   * mismatch, refusal) fails `connect()` now rather than after the draining
   * period; the connection itself still drains and frees as usual.
   */
  #failHandshakeEarly(conn: q.QuicheConn): void {
    if (!q.quiche_conn_is_draining(conn) && !q.quiche_conn_is_closed(conn)) {
      s.lenOut[0] = 0n;
      const closing =
        q.quiche_conn_local_error(conn, s.boolOut, s.u64Out, s.ptrOut, s.lenOut) ||
        q.quiche_conn_peer_error(conn, s.boolOut, s.u64Out, s.ptrOut, s.lenOut);
      if (!closing) return;
    }
    const info = readCloseInfo(conn, this.#lastError);
    this.#established.fail(
      new QuicError(info.code, describeClose(info), {
        errorCode: info.errorCode,
        type: info.type,
        remote: !info.local,
      }),
    );
  }

  #finish(info: CloseInfo, cause?: QuicError): void {
    const conn = this.#conn;
    if (conn === null) return;
    this.#conn = null;
    timers.clear(this);
    registry.unregister(this);
    q.quiche_conn_free(conn);
    track('connections', -1);
    this.#closeInfo = info;
    const error =
      cause ??
      new QuicError(info.code, describeClose(info), {
        errorCode: info.errorCode,
        type: info.type,
        remote: !info.local,
      });
    this.#terminal = error;
    const ending = info.graceful ? undefined : error;
    for (const stream of this.#streams.values()) stream.onConnectionClosed(error);
    this.#streams.clear();
    this.#incoming.end(ending);
    this.#datagrams.end(ending);
    this.#streamCredit.fail(error);
    this.#established.fail(error);
    try {
      this.#owner.onClosed(this);
      // Sockets opened by migrate() belong to the connection; the first one to its owner.
      for (const ep of this.#endpoints.slice(1)) ep.close();
      if (channels.connectionClosed.hasSubscribers)
        channels.connectionClosed.publish({ connection: this, info });
    } finally {
      if (!info.graceful && this.listenerCount('error') > 0) this.#emitSafely('error', error);
      this.#emitSafely('closed', info);
      this.#resolveClosed(info);
    }
  }

  /** How the connection ended, once it has. */
  get closeInfo(): CloseInfo | null {
    return this.#closeInfo;
  }

  #live(): q.QuicheConn {
    if (this.#conn === null) {
      throw this.#terminal ?? new QuicError('ERR_QUIC_CONNECTION_CLOSED', 'the connection is closed');
    }
    return this.#conn;
  }

  /** Listeners run inside the engine; one that throws must not break the loop. */
  #emitSafely<K extends keyof ConnectionEvents>(event: K, ...args: ConnectionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: ConnectionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      debug('a %s listener threw: %s', event, err instanceof Error ? err.message : String(err));
      if (event !== 'closed' && event !== 'error' && this.#conn !== null) {
        setImmediate(() => this.destroy(err));
      }
    }
  }
}

function camel(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}
