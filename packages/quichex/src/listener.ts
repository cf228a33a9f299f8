/**
 * `Listener`: a server socket that routes datagrams to connections by
 * destination connection ID, answers unknown versions, optionally demands a
 * Retry round-trip, and accepts only Initial packets for new connections.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import { Config, kHandle } from './config.js';
import { Connection, type ConnectionOwner } from './connection.js';
import { Endpoint, SOCKET_BUFFER_SIZE, toSockaddr } from './endpoint.js';
import { QuicError, TransportErrorCode } from './errors.js';
import { attachLogs, type ConnectionLogOptions, checkLogOptions } from './logging.js';
import { RetryTokens } from './retry.js';
import * as s from './scratch.js';
import { checkBool, checkInt, checkPort, checkSignal, describe } from './validate.js';
import { AsyncQueue } from './waiters.js';

const debug = debuglog('quichex');
const CID_LEN = 16;
const MAX_REFUSING = 1024;

/** Options of {@link listen}. */
export interface ListenOptions extends ConnectionLogOptions {
  /** Address to bind (default `'::'`, dual-stack, falling back to `'0.0.0.0'`). */
  host?: string;
  /** UDP port; 0 picks a free one (see {@link Listener.address}). */
  port: number;
  /** Server configuration: ALPN, certificate and key are required. */
  config: Config;
  /** Demand a stateless Retry (address validation) before accepting (default false). */
  retry?: boolean;
  /** Live connections allowed; beyond it new clients are refused with CONNECTION_REFUSED (default unlimited). */
  maxConnections?: number;
  /**
   * Called for each established connection. If it throws or its promise
   * rejects, that connection alone is closed (application error 1).
   * When given, connections are not queued for `accept()`/iteration.
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
}

/** Events of a {@link Listener}. */
export interface ListenerEvents {
  /** A connection completed its handshake. */
  connection: [conn: Connection];
  /** The socket reported an error (the listener keeps running). */
  error: [error: Error];
  /** The listener closed. */
  close: [];
}

/**
 * Application error code used when an `onConnection` handler fails.
 *
 * @example
 * ```ts
 * const info = await conn.closed; // on the client
 * if (info.type === 'application' && info.errorCode === HANDLER_ERROR_CODE) console.error('server handler crashed');
 * ```
 */
export const HANDLER_ERROR_CODE = 1n;

/**
 * A QUIC server endpoint. Create it with {@link listen}.
 *
 * @example
 * ```ts
 * const listener = await listen({ port: 4433, config });
 * for await (const conn of listener) {
 *   for await (const stream of conn.streams()) {
 *     for await (const chunk of stream) await stream.write(chunk);
 *     await stream.end();
 *   }
 * }
 * ```
 */
export class Listener extends EventEmitter<ListenerEvents> implements ConnectionOwner {
  readonly #endpoint: Endpoint;
  readonly #config: Config;
  readonly #retry: RetryTokens | null;
  readonly #maxConnections: number;
  readonly #onConnection: ((conn: Connection) => unknown) | undefined;
  readonly #logs: { qlogDir?: string; keylogFile?: string };
  readonly #byCid = new Map<string, Connection>();
  readonly #cidsOf = new Map<Connection, Set<string>>();
  readonly #odcidOf = new Map<Connection, string>();
  readonly #live = new Set<Connection>();
  readonly #refusing = new Set<Connection>();
  readonly #accepted = new AsyncQueue<Connection>();
  #closing: Promise<void> | null = null;
  // header_info out-params (capacities in, lengths out)
  readonly #version = new Uint32Array(1);
  readonly #type = new Uint8Array(1);
  readonly #scid = new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN);
  readonly #scidLen = new BigUint64Array(1);
  readonly #dcid = new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN);
  readonly #dcidLen = new BigUint64Array(1);
  readonly #token = new Uint8Array(512);
  readonly #tokenLen = new BigUint64Array(1);
  /** The connection the last short-header packet went to, and its CID (the fast path's cache). */
  #lastRouted: Connection | null = null;
  readonly #lastCid = Buffer.alloc(CID_LEN);

  /** @internal Use {@link listen}. */
  constructor(endpoint: Endpoint, options: ListenOptions) {
    super();
    this.#endpoint = endpoint;
    this.#config = options.config;
    this.#retry = options.retry ? new RetryTokens() : null;
    this.#maxConnections = options.maxConnections ?? Number.POSITIVE_INFINITY;
    this.#onConnection = options.onConnection;
    this.#logs = checkLogOptions(options);
    endpoint.socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    endpoint.socket.on('error', (err) => {
      debug('listener socket error: %s', err.message);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  /** The bound address (with the real port when 0 was asked for). */
  address(): q.SocketAddress {
    return this.#endpoint.local;
  }

  /** Live connections: handshaking and established. */
  get connections(): ReadonlySet<Connection> {
    return this.#live;
  }

  /** Whether {@link Listener.close} was called. */
  get closing(): boolean {
    return this.#closing !== null;
  }

  /** Waits for the next established connection; `null` once the listener closed. */
  accept(options: { signal?: AbortSignal } = {}): Promise<Connection | null> {
    return this.#accepted.next(checkSignal(options.signal));
  }

  /** Iterates established connections until the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#accepted[Symbol.asyncIterator]();
  }

  /**
   * Stops accepting, closes every connection gracefully (application code
   * 0), waits for them (at most `timeoutMs`, then destroys the rest) and
   * closes the socket. Idempotent.
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
      this.#endpoint.close();
      this.emit('close');
    })();
    return this.#closing;
  }

  /** Same as {@link Listener.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -- routing --------------------------------------------------------------------

  #onMessage(packet: Buffer, address: string, port: number): void {
    // Fast path: a short-header packet (the bulk of traffic) carries our
    // fixed-length CID right after the first byte, so it can be routed
    // without parsing the header through quiche or building a string key.
    if (packet.length > CID_LEN && (packet[0]! & 0x80) === 0) {
      const last = this.#lastRouted;
      if (last && !last.isClosed && packet.compare(this.#lastCid, 0, CID_LEN, 1, 1 + CID_LEN) === 0) {
        last.receive(packet, address, port);
        return;
      }
      const conn = this.#byCid.get(packet.toString('latin1', 1, 1 + CID_LEN));
      if (conn) {
        this.#lastRouted = conn;
        packet.copy(this.#lastCid, 0, 1, 1 + CID_LEN);
        conn.receive(packet, address, port);
      }
      return;
    }
    this.#scidLen[0] = BigInt(this.#scid.length);
    this.#dcidLen[0] = BigInt(this.#dcid.length);
    this.#tokenLen[0] = BigInt(this.#token.length);
    const rc = q.quiche_header_info(
      packet,
      packet.length,
      CID_LEN,
      this.#version,
      this.#type,
      this.#scid,
      this.#scidLen,
      this.#dcid,
      this.#dcidLen,
      this.#token,
      this.#tokenLen,
    );
    if (rc < 0) {
      debug('dropping unparsable datagram from %s:%d', address, port);
      return;
    }
    const dcidLen = Number(this.#dcidLen[0]);
    const key = Buffer.from(this.#dcid.buffer, 0, dcidLen).toString('latin1');
    const conn = this.#byCid.get(key);
    if (conn) {
      conn.receive(packet, address, port);
      return;
    }
    if (this.#type[0] !== q.QuichePacketType.INITIAL || this.#closing) return;
    try {
      this.#newClient(packet, address, port, key);
    } catch (err) {
      debug('could not accept a client from %s:%d: %s', address, port, (err as Error).message);
    }
  }

  #newClient(packet: Buffer, address: string, port: number, dcidKey: string): void {
    const scidLen = Number(this.#scidLen[0]);
    const dcidLen = Number(this.#dcidLen[0]);
    const scid = this.#scid.subarray(0, scidLen);
    const dcid = this.#dcid.subarray(0, dcidLen);
    const peer = { family: address.includes(':') ? 'IPv6' : 'IPv4', address, port } as const;
    const peerSa = toSockaddr(address, port, this.#endpoint.isV6);

    if (!q.quiche_version_is_supported(this.#version[0]!)) {
      const out = this.#endpoint.takeBuffer();
      const n = q.quiche_negotiate_version(
        scid.length ? scid : s.EMPTY,
        scidLen,
        dcid,
        dcidLen,
        out,
        out.length,
      );
      if (n > 0) this.#endpoint.send(out, n, port, address);
      else this.#endpoint.giveBack(out);
      return;
    }
    if (dcidLen < 8) return; // RFC 9000 §7.2: a client's first DCID has at least 8 bytes

    let odcid: Uint8Array | null = null;
    let newScid: Uint8Array;
    if (this.#retry) {
      const tokenLen = Number(this.#tokenLen[0]);
      if (tokenLen === 0) {
        const retryScid = randomBytes(CID_LEN);
        const token = this.#retry.mint(dcid, address, port);
        const out = this.#endpoint.takeBuffer();
        const n = q.quiche_retry(
          scid.length ? scid : s.EMPTY,
          scidLen,
          dcid,
          dcidLen,
          retryScid,
          CID_LEN,
          token,
          token.length,
          this.#version[0]!,
          out,
          out.length,
        );
        if (n > 0) this.#endpoint.send(out, n, port, address);
        else this.#endpoint.giveBack(out);
        return;
      }
      odcid = this.#retry.verify(this.#token.subarray(0, tokenLen), address, port);
      if (odcid === null || dcidLen !== CID_LEN) {
        debug('invalid retry token from %s:%d', address, port);
        return;
      }
      newScid = Uint8Array.from(dcid);
    } else {
      newScid = randomBytes(CID_LEN);
    }

    const refuse = this.#live.size >= this.#maxConnections;
    if (refuse && this.#refusing.size >= MAX_REFUSING) return;
    this.#config.prepareFor('server', this.#logs.keylogFile !== undefined);
    const handle = q.quiche_accept(
      newScid,
      CID_LEN,
      odcid,
      odcid ? odcid.length : 0,
      this.#endpoint.localSockaddr.buf,
      this.#endpoint.localSockaddr.len,
      peerSa.buf,
      peerSa.len,
      this.#config[kHandle],
    );
    if (handle === null) return;
    attachLogs(handle, this.#logs, 'server');
    const conn = new Connection(handle, this.#endpoint, peer, this, {
      isServer: true,
      dgramEnabled: this.#config.dgram.enabled,
      dgramRecvQueueLen: this.#config.dgram.recvQueueLen,
    });
    this.#map(conn, Buffer.from(newScid).toString('latin1'));
    if (!this.#retry) {
      // Until the handshake completes the client still uses its own DCID.
      this.#byCid.set(dcidKey, conn);
      this.#odcidOf.set(conn, dcidKey);
    }
    if (refuse) {
      this.#refusing.add(conn);
      conn.receive(packet, address, port);
      q.quiche_conn_close(
        handle,
        false,
        TransportErrorCode.CONNECTION_REFUSED,
        Buffer.from('server busy'),
        11,
      );
      conn.process();
      return;
    }
    this.#live.add(conn);
    conn.once('connected', () => this.#deliver(conn));
    conn.receive(packet, address, port);
  }

  #deliver(conn: Connection): void {
    const odcid = this.#odcidOf.get(conn);
    if (odcid !== undefined) {
      this.#byCid.delete(odcid);
      this.#odcidOf.delete(conn);
    }
    try {
      this.emit('connection', conn);
    } catch (err) {
      debug('a connection listener threw: %s', (err as Error).message);
    }
    if (!this.#onConnection) {
      this.#accepted.push(conn);
      return;
    }
    const fail = (err: unknown): void => {
      debug('onConnection failed: %s', err instanceof Error ? err.message : String(err));
      conn
        .close({ errorCode: HANDLER_ERROR_CODE, reason: 'connection handler failed' })
        .catch(() => undefined);
    };
    try {
      const result = this.#onConnection(conn);
      if (result && typeof (result as Promise<unknown>).then === 'function')
        (result as Promise<unknown>).then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  }

  #map(conn: Connection, key: string): void {
    this.#byCid.set(key, conn);
    let set = this.#cidsOf.get(conn);
    if (!set) {
      set = new Set();
      this.#cidsOf.set(conn, set);
    }
    set.add(key);
  }

  /** @internal Keeps the CID map in step with quiche: retired SCIDs removed. */
  afterProcess(conn: Connection): void {
    const handle = conn.handle;
    if (handle === null) return;
    if (q.quiche_conn_retired_scids(handle) > 0) {
      const iter = q.quiche_conn_retired_scid_iter(handle);
      if (iter !== null) {
        try {
          for (let i = 0; i < 64 && q.quiche_connection_id_iter_next(iter, s.ptrOut, s.lenOut); i++) {
            const key = Buffer.from(q.readBorrowed(s.ptrOut, s.lenOut)).toString('latin1');
            this.#byCid.delete(key);
            this.#cidsOf.get(conn)?.delete(key);
          }
        } finally {
          q.quiche_connection_id_iter_free(iter);
        }
      }
    }
  }

  /** @internal The connection issued a spare SCID: route it here too. */
  onScidIssued(conn: Connection, key: string): void {
    this.#map(conn, key);
  }

  /** @internal A connection closed: forget it everywhere. */
  onClosed(conn: Connection): void {
    for (const key of this.#cidsOf.get(conn) ?? []) {
      if (this.#byCid.get(key) === conn) this.#byCid.delete(key);
    }
    this.#cidsOf.delete(conn);
    const odcid = this.#odcidOf.get(conn);
    if (odcid !== undefined && this.#byCid.get(odcid) === conn) this.#byCid.delete(odcid);
    this.#odcidOf.delete(conn);
    this.#live.delete(conn);
    this.#refusing.delete(conn);
  }
}

/**
 * Starts a QUIC server on a UDP socket.
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
  if (options === null || typeof options !== 'object')
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  if (!(options.config instanceof Config)) throw new TypeError('config must be a Config');
  if (options.config.freed) throw new QuicError('ERR_QUIC_DESTROYED', 'config has been freed');
  if (options.config.alpn.length === 0)
    throw new TypeError('config must set alpn (application protocols) to listen');
  if (!options.config.hasCertificate)
    throw new TypeError('config must load a certificate chain (cert/certChainFile) to listen');
  const port = checkPort('port', options.port);
  if (options.host !== undefined && typeof options.host !== 'string')
    throw new TypeError('host must be a string');
  if (options.retry !== undefined) checkBool('retry', options.retry);
  if (options.gso !== undefined) checkBool('gso', options.gso);
  if (options.maxConnections !== undefined) checkInt('maxConnections', options.maxConnections, 0, 10_000_000);
  if (options.onConnection !== undefined && typeof options.onConnection !== 'function') {
    throw new TypeError('onConnection must be a function');
  }
  checkLogOptions(options);
  const signal = checkSignal(options.signal);
  if (signal?.aborted) throw signal.reason;

  const socket = await bindSocket(options.host, port);
  const listener = new Listener(
    new Endpoint(socket, options.config.maxSendUdpPayloadSize, false, options.gso ?? true),
    options,
  );
  signal?.addEventListener('abort', () => void listener.close(), { once: true });
  return listener;
}

async function bindSocket(host: string | undefined, port: number): Promise<dgram.Socket> {
  const tryBind = (type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> =>
    new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type,
        ipv6Only: false,
        recvBufferSize: SOCKET_BUFFER_SIZE,
        sendBufferSize: SOCKET_BUFFER_SIZE,
      });
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind({ port, address }, () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
    });
  try {
    if (host === undefined) {
      try {
        return await tryBind('udp6', '::');
      } catch {
        return await tryBind('udp4', '0.0.0.0');
      }
    }
    return await tryBind(host.includes(':') ? 'udp6' : 'udp4', host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new QuicError(
      'ERR_QUIC_SOCKET',
      `cannot listen on ${host ?? '::'}:${port}: ${e.code ?? e.message}`,
      { cause: err },
    );
  }
}
