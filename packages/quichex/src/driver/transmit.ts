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
 * Pacing: quiche stamps each datagram with the time it should leave
 * (`send_info.at`). A datagram due within {@link PACING_QUANTUM_MS} goes now;
 * the first one due later is held, one per connection, and the loop stops
 * until then (the driver arms the shared timer heap for it). A GSO run is
 * one pacing slot: every datagram in it was due when the run left.
 *
 * @module
 */
import type { SocketAddress } from '@quichex/ffi';
import { GSO_MAX_SEGMENTS } from '@quichex/ffi';
import type { ConnCore, Sockaddr } from '../core/conn-core.js';
import type { UdpSocket } from './udp-socket.js';

/** The part of a {@link ConnCore} the send loop uses. */
export type PacketSource = Pick<ConnCore, 'send' | 'sentAt' | 'sentTo' | 'sentFrom' | 'sentToAddress'>;

/**
 * How early a datagram may leave before its pacing time, in ms. Node's
 * timers have millisecond resolution, so the send loop wakes at most once a
 * millisecond per connection and sends what is due in that slot: finer slots
 * would make the timer, not the network, the limit.
 */
export const PACING_QUANTUM_MS = 1;

/** A datagram quiche produced ahead of its pacing time, waiting for it. */
export interface HeldDatagram {
  buf: Buffer;
  len: number;
  /** When it may leave (`performance.now()` clock). */
  at: number;
  /** Where it goes: `null` for the current peer. */
  to: SocketAddress | null;
}

/** Where a connection's datagrams go. */
export interface Route {
  /** The socket datagrams leave from. */
  readonly socket: UdpSocket;
  /** Every socket of the connection (more than one only after a client migration). */
  readonly sockets: readonly UdpSocket[];
  /** The peer's current address, and encoded. */
  readonly peer: SocketAddress;
  readonly peerSockaddr: Sockaddr;
  /** The datagram waiting for its pacing time, if any. */
  held: HeldDatagram | null;
}

/** Bounds one flush; quiche's congestion window ends it long before. */
const MAX_PER_FLUSH = 100_000;

/**
 * Sends everything `source` has queued along `route` that is due. Returns
 * when the next datagram is due (a datagram is then held), or 0 when
 * everything is out.
 */
export function transmit(source: PacketSource, route: Route): number {
  const horizon = performance.now() + PACING_QUANTUM_MS;
  const held = route.held;
  if (held !== null && held.at > horizon) return held.at;
  if (route.socket.gso !== null && route.sockets.length === 1) return sendBatched(source, route, horizon);
  return sendEach(source, route, horizon);
}

/** Drops a held datagram (the connection is gone). */
export function dropHeld(route: Route): void {
  if (route.held !== null) route.socket.giveBack(route.held.buf);
  route.held = null;
}

/** Keeps the datagram just produced, now in `buf[0..len]`, until `at`. */
function hold(source: PacketSource, route: Route, buf: Buffer, len: number, at: number): number {
  route.held = { buf, len, at, to: source.sentTo(route.peerSockaddr) ? null : source.sentToAddress() };
  return at;
}

function sendEach(source: PacketSource, route: Route, horizon: number): number {
  const held = route.held;
  if (held !== null) {
    route.held = null;
    sendOne(route.socket, held.buf, held.len, held.to ?? route.peer);
  }
  for (let i = 0; i < MAX_PER_FLUSH; i++) {
    let socket = route.socket;
    const out = socket.takeBuffer();
    const n = source.send(out, out.length);
    if (n === 0) {
      socket.giveBack(out);
      return 0;
    }
    const at = source.sentAt();
    if (at > horizon) return hold(source, route, out, n, at);
    // After a migration, probes and stragglers leave from the socket quiche names.
    if (route.sockets.length > 1)
      socket = route.sockets.find((s) => source.sentFrom(s.localSockaddr)) ?? socket;
    if (source.sentTo(route.peerSockaddr)) sendOne(socket, out, n, route.peer);
    else sendElsewhere(source, socket, out, n);
  }
  return 0;
}

function sendBatched(source: PacketSource, route: Route, horizon: number): number {
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
  const held = route.held;
  if (held !== null) {
    route.held = null;
    if (held.to !== null) sendOne(socket, held.buf, held.len, held.to);
    else {
      // The held datagram opens this slot's run.
      held.buf.copy(buf, 0, 0, held.len);
      socket.giveBack(held.buf);
      len = segment = held.len;
      count = 1;
    }
  }
  for (let i = 0; i < MAX_PER_FLUSH; i++) {
    if (buf.length - len < max || count >= GSO_MAX_SEGMENTS) ship();
    const n = source.send(buf.subarray(len, len + max), max);
    if (n === 0) break;
    const at = source.sentAt();
    if (at > horizon) {
      const out = socket.takeBuffer();
      buf.copy(out, 0, len, len + n);
      ship();
      return hold(source, route, out, n, at);
    }
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
  return 0;
}

function sendOne(socket: UdpSocket, out: Buffer, n: number, to: SocketAddress): void {
  socket.send(out, n, to.port, socket.connected ? undefined : to.address);
}

/** Sends a datagram quiche addressed to someone other than the current peer (a probe, a new path). */
function sendElsewhere(source: PacketSource, socket: UdpSocket, out: Buffer, n: number): void {
  const to = source.sentToAddress();
  if (to) sendOne(socket, out, n, to);
  else socket.giveBack(out);
}
