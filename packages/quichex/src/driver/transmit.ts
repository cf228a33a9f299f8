/**
 * The send loop: drains a connection's datagrams to its socket.
 *
 * With UDP GSO, datagrams are written back to back into the process's GSO
 * buffer and each run of equal-size datagrams leaves in one `sendmsg`; a
 * datagram longer than the run's size starts a new run, a shorter one ends
 * it (the kernel allows only the last segment to be short). Without GSO,
 * after a migration (several sockets), or for a datagram addressed to
 * someone other than the current peer (a probe), datagrams go one `dgram`
 * send each.
 *
 * @module
 */
import type { SocketAddress } from '@quichex/ffi';
import { GSO_MAX_SEGMENTS } from '@quichex/ffi';
import type { ConnCore, Sockaddr } from '../core/conn-core.js';
import type { UdpSocket } from './udp-socket.js';

/** The part of a {@link ConnCore} the send loop uses. */
export type PacketSource = Pick<ConnCore, 'send' | 'sentTo' | 'sentFrom' | 'sentToAddress'>;

/** Where a connection's datagrams go. */
export interface Route {
  /** The socket datagrams leave from. */
  readonly socket: UdpSocket;
  /** Every socket of the connection (more than one only after a client migration). */
  readonly sockets: readonly UdpSocket[];
  /** The peer's current address, and encoded. */
  readonly peer: SocketAddress;
  readonly peerSockaddr: Sockaddr;
}

/** Bounds one flush; quiche's congestion window ends it long before. */
const MAX_PER_FLUSH = 100_000;

/** Sends everything `source` has queued along `route`. */
export function transmit(source: PacketSource, route: Route): void {
  if (route.socket.gso !== null && route.sockets.length === 1) sendBatched(source, route);
  else sendEach(source, route);
}

function sendEach(source: PacketSource, route: Route): void {
  for (let i = 0; i < MAX_PER_FLUSH; i++) {
    let socket = route.socket;
    const out = socket.takeBuffer();
    const n = source.send(out, out.length);
    if (n === 0) {
      socket.giveBack(out);
      return;
    }
    // After a migration, probes and stragglers leave from the socket quiche names.
    if (route.sockets.length > 1)
      socket = route.sockets.find((s) => source.sentFrom(s.localSockaddr)) ?? socket;
    if (source.sentTo(route.peerSockaddr)) {
      socket.send(out, n, route.peer.port, socket.connected ? undefined : route.peer.address);
    } else {
      sendElsewhere(source, socket, out, n);
    }
  }
}

function sendBatched(source: PacketSource, route: Route): void {
  const socket = route.socket;
  const sender = (socket.gso as NonNullable<UdpSocket['gso']>).sender;
  const buf = sender.buffer;
  const max = socket.packetSize;
  const { port, address: peerAddress } = route.peer;
  const address = socket.connected ? undefined : peerAddress;
  let len = 0;
  let segment = 0;
  let count = 0;
  const ship = (): void => {
    socket.sendBatch(sender, len, segment, port, address, route.peerSockaddr);
    len = 0;
    segment = 0;
    count = 0;
  };
  for (let i = 0; i < MAX_PER_FLUSH; i++) {
    if (buf.length - len < max || count >= GSO_MAX_SEGMENTS) ship();
    const n = source.send(buf.subarray(len, len + max), max);
    if (n === 0) break;
    if (!source.sentTo(route.peerSockaddr)) {
      // A probe or a reply to another address: send it alone, after the run.
      const out = socket.takeBuffer();
      buf.copy(out, 0, len, len + n);
      ship();
      sendElsewhere(source, socket, out, n);
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
}

/** Sends a datagram quiche addressed to someone other than the current peer (a probe, a new path). */
function sendElsewhere(source: PacketSource, socket: UdpSocket, out: Buffer, n: number): void {
  const to = source.sentToAddress();
  if (to) socket.send(out, n, to.port, socket.connected ? undefined : to.address);
  else socket.giveBack(out);
}
