/**
 * `ConnectionDriver`: runs one {@link ConnCore} on real sockets and timers.
 *
 * The loop, in one place:
 * - {@link ConnectionDriver.receive} feeds each UDP datagram to the core and
 *   schedules one {@link ConnectionDriver.process} per event-loop turn, so a
 *   burst of datagrams is handled as a batch (`process-queue.ts`: handshakes
 *   first, each connection once per turn);
 * - `process()` polls the core's events (handshake done, streams, datagrams,
 *   paths, tickets) and hands them to the application and the facade, lets
 *   the application do its stream I/O, keeps the CIDs routed, then flushes;
 * - {@link ConnectionDriver.flush} sends what quiche queued (see
 *   `transmit.ts`) and re-arms this connection's deadline in the shared
 *   timer heap; on expiry `onTimer()` calls the core's `onTimeout()` and
 *   processes again;
 * - once the core reports the connection closed, {@link ConnectionDriver.finish}
 *   settles everything, each step guarded so that no throwing listener can
 *   stop the cleanup, and frees the native connection.
 *
 * `destroy()` settles at once, but the native connection lingers, unseen,
 * until its CONNECTION_CLOSE is out (quiche holds even that frame back while
 * the congestion window is full, as it is during a bulk transfer) and quiche
 * has finished with it, at most {@link LINGER_MS}: without it, a peer would
 * learn of the close only from its idle timeout.
 *
 * @module
 */
import { debuglog } from 'node:util';
import type { SocketAddress } from '@quichex/ffi';
import type { Application } from '../application.js';
import type { CloseInfo } from '../core/close-info.js';
import type { ConnCore, Sockaddr } from '../core/conn-core.js';
import type { PathEvent } from '../core/path-events.js';
import { QuicError } from '../errors.js';
import type { CidRouter } from './cid-router.js';
import { processQueue, type Schedulable } from './process-queue.js';
import { type TimerOwner, timers } from './timers.js';
import { dropHeld, type HeldDatagram, type Route, transmit } from './transmit.js';
import { toSockaddr, type UdpSocket } from './udp-socket.js';

const debug = debuglog('quichex');
/** The longest a destroyed connection stays to get its CONNECTION_CLOSE out. */
export const LINGER_MS = 1000;

/** What the driver tells the public connection object. */
export interface DriverEvents {
  established(): void;
  datagram(data: Uint8Array): void;
  path(event: PathEvent): void;
  session(ticket: Uint8Array): void;
  /**
   * Whether anyone waits for the handshake to complete: only then is quiche
   * asked, each round until it completes, whether it already failed.
   */
  awaitingHandshake(): boolean;
  /** The handshake already failed (quiche is draining); the connection still closes as usual. */
  handshakeFailed(info: CloseInfo): void;
  /** After each processing round of a live connection. */
  processed(): void;
  /** The connection is closed and freed. Called once. */
  closed(info: CloseInfo, error: QuicError): void;
}

/** Options of a {@link ConnectionDriver}. */
export interface DriverOptions {
  /** The router of the socket the connection arrived on or dialled from. */
  readonly router: CidRouter<ConnectionDriver>;
  /** Send an ack-eliciting packet after this many ms without receiving anything (`null`: never). */
  readonly keepAliveMs: number | null;
  /** The peer's address already encoded for this socket (saves encoding it again). */
  readonly peerSockaddr?: Sockaddr;
}

/** Drives one connection: input, events, output, timers, cleanup. */
export class ConnectionDriver implements TimerOwner, Route, Schedulable {
  readonly core: ConnCore;
  socket: UdpSocket;
  readonly sockets: UdpSocket[];
  peer: SocketAddress;
  peerSockaddr: Sockaddr;
  /** The datagram waiting for its pacing time (see `transmit.ts`). */
  held: HeldDatagram | null = null;
  /** Set by the public connection right after construction. */
  app!: Application;
  events!: DriverEvents;
  readonly router: CidRouter<ConnectionDriver>;
  readonly #keepAliveMs: number | null;
  /** When a datagram last arrived (kept only with keep-alive). */
  #lastHeard = 0;
  #scheduled = false;
  /** Closed as far as users can tell: events sent, waiters settled. */
  #settled = false;
  /** The native connection is freed and its routes and sockets given back. */
  #released = false;
  #closeInfo: CloseInfo | null = null;
  #closeError: QuicError | null = null;
  /** After destroy(): when the lingering native connection is freed regardless. */
  #lingerUntil = 0;
  /** Run once the connection settled (its owner forgets it). */
  readonly #onSettled: Array<() => void> = [];
  /** Run once it is released (a private socket closes). */
  readonly #onReleased: Array<() => void> = [];

  constructor(core: ConnCore, socket: UdpSocket, peer: SocketAddress, options: DriverOptions) {
    this.core = core;
    this.socket = socket;
    this.sockets = [socket];
    this.peer = peer;
    this.peerSockaddr = options.peerSockaddr ?? toSockaddr(peer.address, peer.port, socket.isV6);
    this.router = options.router;
    this.#keepAliveMs = options.keepAliveMs;
    if (this.#keepAliveMs !== null) this.#lastHeard = performance.now();
  }

  /** Whether the connection is closed, as far as its users can tell. */
  get finished(): boolean {
    return this.#settled;
  }

  /** How the connection ended, once it has. */
  get closeInfo(): CloseInfo | null {
    return this.#closeInfo;
  }

  /** The error for operations on the closed connection. */
  get closeError(): QuicError {
    return this.#closeError ?? this.core.closedError();
  }

  /** Runs `fn` once the connection is closed (as users see it). */
  onFinished(fn: () => void): void {
    if (this.#settled) fn();
    else this.#onSettled.push(fn);
  }

  /** Runs `fn` once the native connection is freed and its routes are gone. */
  onReleased(fn: () => void): void {
    if (this.#released) fn();
    else this.#onReleased.push(fn);
  }

  /** Feeds one UDP datagram that arrived on `socket` from `address:port`. */
  receive(packet: Buffer, address: string, port: number, socket: UdpSocket = this.socket): void {
    if (this.core.isClosed) return;
    let from = this.peerSockaddr;
    if (port !== this.peer.port || address !== this.peer.address) {
      // NAT rebinding, migration, or an unauthenticated (possibly spoofed)
      // packet: quiche decides what the new path means and reports a real
      // move as a peer-migrated path event, which is when `peer` changes.
      from = toSockaddr(address, port, socket.isV6);
    }
    socket.recvInfo.setFrom(from.buf, from.len);
    const rc = this.core.recv(packet, socket.recvInfo);
    if (rc < 0) debug('recv: %d', rc);
    if (this.#keepAliveMs !== null) this.#lastHeard = performance.now();
    this.schedule();
  }

  /** Processes on the next turn of the event loop (once however often it is asked). */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    processQueue.add(this);
  }

  /** Whether the scheduler runs this connection ahead of established ones (see `process-queue.ts`). */
  get urgent(): boolean {
    return !this.core.established;
  }

  /** The turn scheduler's call: this connection's round of this turn. */
  runScheduled(): void {
    this.#scheduled = false;
    this.process();
  }

  /** Surfaces the core's events, runs the application, then flushes. Errors destroy this connection only. */
  process(): void {
    const core = this.core;
    if (core.isClosed) return;
    if (this.#settled) {
      this.#lingerStep();
      return;
    }
    try {
      for (let ev = core.poll(); ev !== null; ev = core.poll()) {
        switch (ev.type) {
          case 'established':
            this.events.established();
            break;
          case 'readable':
            this.app.onStreamReadable?.(ev.streamId);
            break;
          case 'writable':
            this.app.onStreamWritable?.(ev.streamId);
            break;
          case 'datagram':
            this.events.datagram(ev.data);
            break;
          case 'path':
            if (ev.event.type === 'peer-migrated' && ev.event.peer) {
              this.peer = ev.event.peer;
              this.peerSockaddr = toSockaddr(ev.event.peer.address, ev.event.peer.port, this.socket.isV6);
            }
            this.events.path(ev.event);
            break;
          case 'session':
            this.events.session(ev.ticket);
            break;
          case 'closed':
            this.finish(ev.info);
            return;
        }
      }
      this.app.process();
      if (!core.established && this.events.awaitingHandshake()) {
        const failed = core.failedHandshake();
        if (failed) this.events.handshakeFailed(failed);
      }
      this.router.upkeep(this);
      this.events.processed();
      this.flush();
    } catch (err) {
      this.destroy(err);
    }
  }

  /** Sends everything quiche has queued, then re-arms the timer or finishes the connection. */
  flush(): void {
    const core = this.core;
    if (core.isClosed) return;
    core.streams.queuePendingFins();
    const paced = transmit(core, this);
    const info = core.reapIfClosed();
    if (info !== null) {
      this.finish(info);
      return;
    }
    const ms = core.timeout();
    const now = performance.now();
    let deadline = ms === null ? Number.POSITIVE_INFINITY : now + ms;
    if (paced !== 0) deadline = Math.min(deadline, paced);
    if (this.#settled) deadline = Math.min(deadline, this.#lingerUntil);
    else if (this.#keepAliveMs !== null) deadline = Math.min(deadline, this.#lastHeard + this.#keepAliveMs);
    if (deadline === Number.POSITIVE_INFINITY) timers.clear(this);
    else timers.set(this, deadline);
  }

  /** A destroyed connection between its close and its release: send, drain, or give up. */
  #lingerStep(): void {
    try {
      if (performance.now() >= this.#lingerUntil || this.socket.closed) {
        this.#release();
        return;
      }
      this.core.onTimeout();
      this.flush();
    } catch (err) {
      debug('lingering connection: %s', err instanceof Error ? err.message : String(err));
      this.#release();
    }
  }

  /** Timer heap callback: quiche's timeout, or the keep-alive. */
  onTimer(): void {
    const core = this.core;
    if (core.isClosed) return;
    if (this.#settled) {
      this.#lingerStep();
      return;
    }
    const now = performance.now();
    if (this.#keepAliveMs !== null && now >= this.#lastHeard + this.#keepAliveMs) {
      // The peer has been quiet: an ack-eliciting packet makes it answer,
      // which keeps both idle timers from expiring.
      this.#lastHeard = now;
      if (core.established) core.sendAckEliciting();
    }
    core.onTimeout(); // quiche acts only on the timers that expired
    this.process();
  }

  /**
   * Closes immediately: one CONNECTION_CLOSE (INTERNAL_ERROR when `error` is
   * given) without waiting for the peer, then frees everything.
   */
  destroy(error?: unknown): void {
    const core = this.core;
    if (this.#settled) return;
    if (error !== undefined)
      debug('destroying connection: %s', error instanceof Error ? error.message : String(error));
    core.close(false, error === undefined ? 0n : 1n, null);
    try {
      transmit(core, this);
    } catch {
      // best effort: the connection is going away anyway
    }
    this.#settle(
      {
        code: 'ERR_QUIC_DESTROYED',
        local: true,
        type: 'transport',
        errorCode: error === undefined ? 0n : 1n,
        reason: error instanceof Error ? error.message : '',
        graceful: error === undefined,
      },
      error instanceof QuicError ? error : undefined,
    );
    if (core.reapIfClosed() !== null || this.socket.closed) {
      this.#release();
      return;
    }
    // Unseen from here: the CONNECTION_CLOSE leaves as soon as quiche lets it.
    this.#lingerUntil = performance.now() + LINGER_MS;
    this.flush();
  }

  /** A socket error that dooms the connection (e.g. ICMP unreachable during the handshake). */
  fail(error: QuicError): void {
    this.finish(
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

  /** Settles everyone waiting on the connection and frees it. Each step runs even if another throws. */
  finish(info: CloseInfo, cause?: QuicError): void {
    this.#settle(info, cause);
    this.#release();
  }

  #settle(info: CloseInfo, cause?: QuicError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#closeInfo = info;
    const error = cause ?? this.core.errorFor(info);
    this.#closeError = error;
    guard('application', () => this.app.onClose(error, info.graceful));
    for (const fn of this.#onSettled.splice(0)) guard('cleanup', fn);
    guard('closed', () => this.events.closed(info, error));
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.core.abandon(this.#closeInfo as CloseInfo);
    timers.clear(this);
    dropHeld(this);
    guard('routing', () => this.router.remove(this));
    // Sockets opened by migrate() belong to the connection; the first one to its owner.
    for (const socket of this.sockets.slice(1)) guard('socket', () => socket.close());
    for (const fn of this.#onReleased.splice(0)) guard('release', fn);
  }
}

function guard(step: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    debug('connection cleanup (%s) threw: %s', step, err instanceof Error ? err.message : String(err));
  }
}
