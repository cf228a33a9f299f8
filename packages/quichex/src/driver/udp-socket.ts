/**
 * A UDP socket as the driver sees it: packets in, packets out, the local
 * address encoded once, and a pool of send buffers.
 *
 * A send buffer is handed to `socket.send()` and only returns to the pool in
 * its callback, because libuv may still read it until then.
 *
 * @module
 */
import dgram from 'node:dgram';
import { debuglog } from 'node:util';
import { createGsoSender, encodeSockaddr, type GsoSender, RecvInfo, type SocketAddress } from '@quichex/ffi';
import type { Sockaddr } from '../core/conn-core.js';
import { QuicError } from '../errors.js';
import { track } from '../resources.js';
import { checkInt } from '../validate.js';
import { socketFd } from './socket-fd.js';

const debug = debuglog('quichex');

/**
 * Socket buffer size asked of the kernel for both directions by default.
 * Linux's own default (208 KiB) holds under a hundred full-size packets, so
 * bursts overflow it and count as loss, and a lost Initial costs a client a
 * one-second retransmission timeout. The kernel caps the request at
 * `net.core.rmem_max`/`wmem_max`.
 */
export const SOCKET_BUFFER_SIZE = 4 * 1024 * 1024;

/** Validates a `socketBufferSize` option (64 KiB to 1 GiB); returns the size to ask for. */
export function checkSocketBufferSize(value: unknown): number {
  if (value === undefined) return SOCKET_BUFFER_SIZE;
  return checkInt('socketBufferSize', value, 64 * 1024, 1024 * 1024 * 1024) as number;
}

let gsoSender: GsoSender | null | undefined;

/** The process's GSO sender (one native batch buffer; flushes are synchronous), or `null`. */
function sharedGso(): GsoSender | null {
  if (gsoSender === undefined) gsoSender = createGsoSender();
  return gsoSender;
}

/** Encodes an address for quiche, mapping IPv4 onto a v6 socket's family. */
export function toSockaddr(address: string, port: number, v6Socket: boolean): Sockaddr {
  const mapped = v6Socket && !address.includes(':') ? `::ffff:${address}` : address;
  const { buf, len } = encodeSockaddr(mapped, port);
  return { buf, len };
}

/** Wraps one bound `dgram` socket. */
export class UdpSocket {
  readonly socket: dgram.Socket;
  readonly local: SocketAddress;
  readonly localSockaddr: Sockaddr;
  /** Reused for every `quiche_conn_recv` on this socket; `to` is fixed. */
  readonly recvInfo = new RecvInfo();
  /** Whether the socket is connected to one peer (clients): sends then name no address. */
  readonly connected: boolean;
  /** The buffer size asked for (a migration's new socket asks the same). */
  bufferSize = SOCKET_BUFFER_SIZE;
  readonly #v6: boolean;
  /** Size of the packet buffers (the largest UDP payload this side sends). */
  #packetSize: number;
  #pool: Buffer[] = [];
  #closed = false;
  /**
   * Told when the kernel refuses a packet. On a connected socket a pending
   * ICMP error (ECONNREFUSED) is reported by the next send, not as an
   * 'error' event, so a client must hear about it here.
   */
  onSendError: ((err: NodeJS.ErrnoException) => void) | null = null;

  /**
   * Batched sending through UDP GSO on this socket, or `null` (not Linux,
   * no descriptor, the kernel refused it, or turned off by the `gso` option).
   */
  gso: { sender: GsoSender; fd: number } | null = null;

  constructor(socket: dgram.Socket, packetSize: number, connected = false, gso = true) {
    this.socket = socket;
    this.connected = connected;
    if (gso) {
      const sender = sharedGso();
      const fd = sender ? socketFd(socket) : null;
      if (sender && fd !== null) this.gso = { sender, fd };
    }
    const a = socket.address();
    this.#v6 = a.family === 'IPv6';
    this.local = { family: this.#v6 ? 'IPv6' : 'IPv4', address: a.address, port: a.port };
    this.localSockaddr = toSockaddr(a.address, a.port, this.#v6);
    this.recvInfo.setTo(this.localSockaddr.buf, this.localSockaddr.len);
    this.#packetSize = Math.max(1350, packetSize);
    track('sockets', 1);
  }

  /** Whether the socket is IPv6 (IPv4 peers then appear as `::ffff:a.b.c.d`). */
  get isV6(): boolean {
    return this.#v6;
  }

  /** Size of the packet buffers (the largest UDP payload sent from this socket). */
  get packetSize(): number {
    return this.#packetSize;
  }

  /** Makes packet buffers at least `size` bytes (a connection's config may send larger packets). */
  growPacketSize(size: number): void {
    if (size <= this.#packetSize) return;
    this.#packetSize = size;
    this.#pool = [];
  }

  /** A buffer for one outgoing packet. */
  takeBuffer(): Buffer {
    return this.#pool.pop() ?? Buffer.allocUnsafe(this.#packetSize);
  }

  /** Returns an unused buffer to the pool. */
  giveBack(buf: Buffer): void {
    if (this.#pool.length < 256 && buf.length === this.#packetSize) this.#pool.push(buf);
  }

  /** Sends `buf[0..len]` to `address:port`; the buffer returns to the pool once the kernel is done with it. */
  send(buf: Buffer, len: number, port: number, address: string | undefined): void {
    if (this.#closed) {
      this.giveBack(buf);
      return;
    }
    const done = (err: Error | null): void => {
      this.giveBack(buf);
      if (err) {
        debug('send to %s:%d failed: %s', address, port, err.message);
        this.onSendError?.(err as NodeJS.ErrnoException);
      }
    };
    if (address === undefined) this.socket.send(buf, 0, len, done);
    else this.socket.send(buf, 0, len, port, address, done);
  }

  /**
   * Sends the first `len` bytes of `sender`'s buffer as datagrams of
   * `segment` bytes to `port`/`address` (`to` encoded) in one `sendmsg`.
   * When GSO is off (or turned itself off earlier in the same flush), or the
   * kernel refuses, the datagrams go one `dgram` send each: none is dropped.
   * A refusal other than a full buffer turns GSO off for this socket.
   */
  sendBatch(
    sender: GsoSender,
    len: number,
    segment: number,
    port: number,
    address: string | undefined,
    to: Sockaddr,
  ): void {
    if (this.#closed || len === 0) return;
    const gso = this.gso;
    if (gso !== null) {
      const rc = gso.sender.send(gso.fd, len, segment, this.connected ? null : to.buf, to.len);
      if (rc === len) return;
      if (rc !== -11 && rc !== -105) {
        debug('UDP GSO unavailable (errno %d): sending datagram by datagram', -rc);
        this.gso = null;
      }
    }
    const data = sender.buffer;
    for (let off = 0; off < len; off += segment) {
      const n = Math.min(segment, len - off);
      const buf = this.takeBuffer();
      data.copy(buf, 0, off, off + n);
      this.send(buf, n, port, address);
    }
  }

  /** Whether {@link UdpSocket.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the socket and frees the native recv info. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    track('sockets', -1);
    try {
      this.socket.close();
    } catch {
      // already closed by Node
    }
    // The recv info is only used synchronously inside message handlers, which
    // cannot run after close().
    this.recvInfo.free();
  }
}

/**
 * Opens a UDP socket bound to `localAddress:localPort` and connected to the
 * server (so ICMP errors are reported and only the server's packets arrive).
 */
export function openClientSocket(
  v6: boolean,
  localAddress: string,
  localPort: number,
  address: string,
  port: number,
  bufferSize: number,
): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({
      type: v6 ? 'udp6' : 'udp4',
      recvBufferSize: bufferSize,
      sendBufferSize: bufferSize,
    });
    const fail = (err: NodeJS.ErrnoException): void => {
      socket.close();
      reject(
        new QuicError(
          'ERR_QUIC_SOCKET',
          `cannot open a UDP socket to ${address}:${port}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    };
    socket.once('error', fail);
    socket.bind({ port: localPort, address: localAddress }, () => {
      socket.connect(port, address, () => {
        socket.removeListener('error', fail);
        resolve(socket);
      });
    });
  });
}
