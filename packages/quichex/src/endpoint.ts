/**
 * `Endpoint`: one UDP socket shared by many connections. It can accept
 * (through a {@link Listener}) and dial out at once, so a peer-to-peer
 * application dials from the port it listens on. `listen()` and `connect()`
 * are the simple entry points on top of it.
 *
 * @module
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type * as q from '@quichex/ffi';
import { QuichePacketType } from '@quichex/ffi';
import type { Connection } from './connection.js';
import { type DialOptions, dial } from './dial.js';
import { CidRouter, type LongHeader, unknownVersionHeader } from './driver/cid-router.js';
import type { ConnectionDriver } from './driver/conn-driver.js';
import { checkSocketBufferSize, UdpSocket } from './driver/udp-socket.js';
import { QuicError } from './errors.js';
import { Listener, type ListenOptions } from './listener.js';
import { checkBool, checkPort, describe } from './validate.js';

const debug = debuglog('quichex');

/** Options of {@link createEndpoint}. */
export interface EndpointOptions {
  /** Address to bind (default `'::'`, dual-stack, falling back to `'0.0.0.0'`). */
  host?: string;
  /** UDP port (default 0: a free one, see {@link Endpoint.address}). */
  port?: number;
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
}

/** Events of an {@link Endpoint}. */
export interface EndpointEvents {
  /** The socket reported an error (the endpoint keeps running). */
  error: [error: Error];
  /** The endpoint and its socket closed. */
  close: [];
}

/** What a listener attached to an endpoint handles. */
export interface InitialHandler {
  /** An Initial packet for no known connection. */
  onInitial(packet: Buffer, hdr: LongHeader, address: string, port: number): void;
  /** The endpoint is closing. */
  close(): Promise<void>;
}

/** Engine access for `listen()` and `connect()`; not part of the public API. */
export const endpointInternals = {} as {
  socket(endpoint: Endpoint): UdpSocket;
  router(endpoint: Endpoint): CidRouter<ConnectionDriver>;
  attach(endpoint: Endpoint, handler: InitialHandler): void;
  detach(endpoint: Endpoint, handler: InitialHandler): void;
};

/**
 * A UDP socket that accepts and dials QUIC connections. Create it with {@link createEndpoint}.
 *
 * @example
 * ```ts
 * const endpoint = await createEndpoint({ port: 4433 });
 * const listener = endpoint.listen({ config: serverConfig });  // accept on :4433 …
 * const conn = await endpoint.connect({ host: 'peer.example', port: 4433, config: clientConfig }); // … and dial from it
 * await endpoint.close();
 * ```
 */
export class Endpoint extends EventEmitter<EndpointEvents> {
  readonly #socket: UdpSocket;
  readonly #router = new CidRouter<ConnectionDriver>();
  readonly #dialled = new Set<Connection>();
  #handler: InitialHandler | null = null;
  #closing: Promise<void> | null = null;

  static {
    endpointInternals.socket = (e) => e.#socket;
    endpointInternals.router = (e) => e.#router;
    endpointInternals.attach = (e, handler) => {
      if (e.#closing) throw new QuicError('ERR_QUIC_DESTROYED', 'the endpoint is closed');
      if (e.#handler) throw new QuicError('QUICHE_ERR_INVALID_STATE', 'the endpoint already has a listener');
      e.#handler = handler;
    };
    endpointInternals.detach = (e, handler) => {
      if (e.#handler === handler) e.#handler = null;
    };
  }

  /** @internal Use {@link createEndpoint}. */
  constructor(socket: UdpSocket) {
    super();
    this.#socket = socket;
    socket.socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    socket.socket.on('error', (err) => {
      debug('endpoint socket error: %s', err.message);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  /** The bound address (with the real port when 0 was asked for). */
  address(): q.SocketAddress {
    return this.#socket.local;
  }

  /** Whether {@link Endpoint.close} was called. */
  get closing(): boolean {
    return this.#closing !== null;
  }

  /**
   * Accepts connections on this endpoint's socket. At most one listener per
   * endpoint; closing the listener leaves the endpoint open.
   */
  listen(options: Omit<ListenOptions, 'host' | 'port' | 'gso' | 'socketBufferSize'>): Listener {
    return new Listener(this, options, false);
  }

  /**
   * Dials a server from this endpoint's socket (the host must be an IP
   * literal of the socket's family, or a name that resolves to one).
   * Resolves once the handshake completed.
   */
  connect(
    options: Omit<DialOptions, 'localAddress' | 'localPort' | 'gso' | 'socketBufferSize'>,
  ): Promise<Connection> {
    if (this.#closing) return Promise.reject(new QuicError('ERR_QUIC_DESTROYED', 'the endpoint is closed'));
    return dial(this.#socket, this.#router, options, (conn) => {
      this.#dialled.add(conn);
      void conn.closed.then(() => this.#dialled.delete(conn));
    });
  }

  /**
   * Closes the listener (if any) and every connection dialled from here
   * gracefully, then the socket. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = (async () => {
      await Promise.all([
        this.#handler?.close(),
        ...[...this.#dialled].map((c) => c.close({ errorCode: 0, reason: 'endpoint closing' })),
      ]);
      this.#socket.close();
      this.emit('close');
    })();
    return this.#closing;
  }

  /** Same as {@link Endpoint.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onMessage(packet: Buffer, address: string, port: number): void {
    if (this.#router.route(packet, address, port)) return;
    const hdr = this.#router.parse(packet);
    const conn = hdr === null ? undefined : this.#router.get(hdr.dcidKey);
    if (conn) {
      conn.receive(packet, address, port);
      return;
    }
    if (this.#handler === null) return;
    if (hdr !== null && hdr.type === QuichePacketType.INITIAL) {
      this.#handler.onInitial(packet, hdr, address, port);
      return;
    }
    // A version we do not speak may not parse as a v1 Initial: its invariant
    // header (RFC 8999) is enough to offer the versions we do.
    const unknown = unknownVersionHeader(packet);
    if (unknown !== null) this.#handler.onInitial(packet, unknown, address, port);
    else debug('dropping a datagram for no connection from %s:%d', address, port);
  }
}

/**
 * Binds a UDP socket for an {@link Endpoint}.
 *
 * @throws {QuicError} `ERR_QUIC_SOCKET` when the address cannot be bound (e.g. port in use).
 * @example
 * ```ts
 * const endpoint = await createEndpoint({ host: '127.0.0.1', port: 0 });
 * console.log(endpoint.address().port);
 * ```
 */
export async function createEndpoint(options: EndpointOptions = {}): Promise<Endpoint> {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const port = checkPort('port', options.port ?? 0);
  if (options.host !== undefined && typeof options.host !== 'string')
    throw new TypeError('host must be a string');
  if (options.gso !== undefined) checkBool('gso', options.gso);
  const bufferSize = checkSocketBufferSize(options.socketBufferSize);
  const socket = await bindSocket(options.host, port, bufferSize);
  const udp = new UdpSocket(socket, 1350, false, options.gso ?? true);
  udp.bufferSize = bufferSize;
  return new Endpoint(udp);
}

async function bindSocket(host: string | undefined, port: number, bufferSize: number): Promise<dgram.Socket> {
  const tryBind = (type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> =>
    new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type,
        ipv6Only: false,
        recvBufferSize: bufferSize,
        sendBufferSize: bufferSize,
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
      {
        cause: err,
      },
    );
  }
}
