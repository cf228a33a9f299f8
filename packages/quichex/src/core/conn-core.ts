/**
 * `ConnCore`: one `quiche_conn` with no sockets, no timers and no events —
 * the sans-IO heart of a connection, in the shape of quinn-proto.
 *
 * Its caller (a driver, or a test that wires two cores together) does the I/O:
 * - {@link ConnCore.recv} feeds a UDP datagram in;
 * - {@link ConnCore.send} polls the next datagram out (its destination and
 *   pacing time are in {@link ConnCore.sendInfo});
 * - {@link ConnCore.timeout} says when to call {@link ConnCore.onTimeout};
 * - {@link ConnCore.poll} hands out what happened (handshake done, streams
 *   readable or writable, datagrams, path changes, session tickets, closed).
 *
 * Stream I/O lives in {@link ConnCore.streams}; introspection (stats, info)
 * in `introspect.ts`. The native connection is freed exactly once: when
 * {@link ConnCore.poll} reports it closed, on {@link ConnCore.abandon}, or by
 * the FinalizationRegistry if the core is dropped while still open.
 *
 * @module
 */
import * as q from '@quichex/ffi';
import { QuicError, quicheError } from '../errors.js';
import type { Authorizer, PeerAuthorization } from '../peer-auth.js';
import { track } from '../resources.js';
import { type CloseInfo, closeError, readCloseInfo } from './close-info.js';
import { nextPathEvent, type PathEvent } from './path-events.js';
import * as s from './scratch.js';
import { StreamIO } from './stream-io.js';

const { QuicheError: E } = q;
const UINT64_MAX = (1n << 64n) - 1n;
const L = q.SendInfoLayout;
/** `send_info.at` (a `timespec`: 64-bit seconds, then nanoseconds) read as 32-bit words. */
const sendInfoWords = new Uint32Array(s.sendInfo.buffer, s.sendInfo.byteOffset, s.sendInfo.byteLength >> 2);
const AT_WORD = L.at >> 2;
/**
 * CLOCK_MONOTONIC (quiche's clock, and `process.hrtime`'s) minus
 * `performance.now()`, in ms: both tick together, so one reading converts.
 */
const MONOTONIC_OFFSET_MS = monotonicOffset();

function monotonicOffset(): number {
  // The first calls of either clock can be slow (lazy set-up): take the
  // reading that two performance.now() calls bracket most tightly.
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const mono = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = mono - (before + after) / 2;
    }
  }
  return offset;
}

/** The handshake completed. */
export interface EstablishedEvent {
  /** The event's kind. */
  readonly type: 'established';
}

/** A stream has data, a FIN or a reset to read (`readable`), or room to write again (`writable`). */
export interface StreamEvent {
  /** The event's kind. */
  readonly type: 'readable' | 'writable';
  /** The stream's id. */
  readonly streamId: number;
}

/** A datagram arrived. */
export interface DatagramEvent {
  /** The event's kind. */
  readonly type: 'datagram';
  /** Its payload (a copy the receiver owns). */
  readonly data: Uint8Array;
}

/** A path changed (see {@link PathEvent}). */
export interface PathChangeEvent {
  /** The event's kind. */
  readonly type: 'path';
  /** What happened to which path. */
  readonly event: PathEvent;
}

/** (Client) A new session ticket arrived. */
export interface SessionEvent {
  /** The event's kind. */
  readonly type: 'session';
  /** The session to resume with later. */
  readonly ticket: Uint8Array;
}

/** The connection is closed and the native connection freed. */
export interface ClosedEvent {
  /** The event's kind. */
  readonly type: 'closed';
  /** How it ended. */
  readonly info: CloseInfo;
}

/** What {@link ConnCore.poll} reports. */
export type CoreEvent =
  | EstablishedEvent
  | StreamEvent
  | DatagramEvent
  | PathChangeEvent
  | SessionEvent
  | ClosedEvent;

/** An encoded `struct sockaddr` and its length. */
export interface Sockaddr {
  /** The bytes of the `sockaddr_in` or `sockaddr_in6`. */
  readonly buf: Uint8Array;
  /** How many of them are the address (16 or 28). */
  readonly len: number;
}

/** Options of a {@link ConnCore}. */
export interface CoreOptions {
  /** Whether this side accepted the connection. */
  readonly isServer: boolean;
  /** Whether our config enabled datagrams (quiche only checks the peer's limit). */
  readonly dgramEnabled: boolean;
  /**
   * Whether our config enabled 0-RTT early data (default `true`). Without
   * it quiche never reports early data, so the core need not ask.
   */
  readonly earlyData?: boolean;
  /**
   * Decides about the peer's certificate when the handshake completes
   * (see `peer-auth.ts`). A rejection closes the connection with its TLS
   * alert instead of reporting it established.
   */
  readonly authorize?: Authorizer;
}

const ESTABLISHED: CoreEvent = { type: 'established' };
const NONE_RETIRED: readonly string[] = Object.freeze([]);

const registry = new FinalizationRegistry<q.QuicheConn>((handle) => {
  q.quiche_conn_free(handle);
  track('connections', -1);
});

// poll() walks these phases once per round, then reports null and starts over.
enum Phase {
  Established,
  Readable,
  Writable,
  Datagrams,
  Paths,
  Session,
  Closed,
  Done,
}

/**
 * One QUIC connection, sans I/O.
 *
 * @example
 * ```ts
 * // Two cores, wired by hand: whatever one sends, the other receives.
 * for (let n = client.send(buf, buf.length); n > 0; n = client.send(buf, buf.length)) {
 *   server.recv(buf.subarray(0, n), serverRecvInfo);
 * }
 * for (let ev = server.poll(); ev !== null; ev = server.poll()) console.log(ev.type);
 * ```
 */
export class ConnCore {
  /** Whether this side accepted the connection. */
  readonly isServer: boolean;
  /** Whether our config enabled datagrams. */
  readonly dgramEnabled: boolean;
  /**
   * Whether {@link ConnCore.poll} reports streams that became readable or
   * writable. An application that reads streams through quiche itself
   * (HTTP/3's `quiche_h3_conn_poll`) turns it off.
   */
  streamEvents = true;
  /** Whether {@link ConnCore.poll} reports new session tickets (clients). */
  sessionEvents = false;
  /** Stream reads, writes and shutdowns. */
  readonly streams: StreamIO;
  #conn: q.QuicheConn | null;
  readonly #earlyData: boolean;
  #established = false;
  /** Whether spare source CIDs may be missing: until checked once established, and after each retirement. */
  #scidsStale = true;
  #phase = Phase.Established;
  #sessionLen = 0;
  #lastRecvError = 0;
  #closeInfo: CloseInfo | null = null;
  readonly #authorize: Authorizer | undefined;
  /** What was decided about the peer's certificate, once the handshake completed. */
  authorization: PeerAuthorization | null = null;
  /** The error the connection fails with after its peer's certificate was rejected. */
  #rejection: QuicError | null = null;

  constructor(handle: q.QuicheConn, options: CoreOptions) {
    this.#conn = handle;
    this.isServer = options.isServer;
    this.dgramEnabled = options.dgramEnabled;
    this.#earlyData = options.earlyData ?? true;
    this.#authorize = options.authorize;
    this.streams = new StreamIO(this);
    track('connections', 1);
    registry.register(this, handle, this);
  }

  /** The live native connection, for applications that call quiche directly; `null` once closed. */
  get handle(): q.QuicheConn | null {
    return this.#conn;
  }

  /** The live native connection; throws the close error once closed. */
  live(): q.QuicheConn {
    if (this.#conn === null) throw this.closedError();
    return this.#conn;
  }

  /** Whether the native connection is freed. */
  get isClosed(): boolean {
    return this.#conn === null;
  }

  /** Whether the handshake completed (as last reported by {@link ConnCore.poll}). */
  get established(): boolean {
    return this.#established;
  }

  /** How the connection ended, once {@link ConnCore.poll} reported it. */
  get closeInfo(): CloseInfo | null {
    return this.#closeInfo;
  }

  /** The error for operations on a closed connection. */
  closedError(): QuicError {
    const info = this.#closeInfo;
    if (info === null) return new QuicError('ERR_QUIC_CONNECTION_CLOSED', 'the connection is closed');
    return this.errorFor(info);
  }

  /** The error a close as `info` says means: the rejection of the peer's certificate, if that was why. */
  errorFor(info: CloseInfo): QuicError {
    return this.#rejection ?? closeError(info);
  }

  // -- packets in and out --------------------------------------------------------

  /** Feeds one UDP datagram; `info` names the addresses it travelled between. Returns quiche's result. */
  recv(packet: Uint8Array, info: q.RecvInfo): number {
    const conn = this.#conn;
    if (conn === null) return E.QUICHE_ERR_DONE;
    const rc = q.quiche_conn_recv(conn, packet, packet.length, info.ptr);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE) this.#lastRecvError = rc;
    return rc;
  }

  /**
   * Writes the next datagram to send into `out` (at most `max` bytes) and
   * returns its length, or 0 when quiche has nothing to send. Its
   * destination is in {@link ConnCore.sendInfo} until the next call.
   */
  send(out: Uint8Array, max: number): number {
    const conn = this.#conn;
    if (conn === null) return 0;
    const n = q.quiche_conn_send(conn, out, max, s.sendInfo);
    return n > 0 ? n : 0;
  }

  /**
   * The `quiche_send_info` of the last datagram {@link ConnCore.send}
   * produced (see `SendInfoLayout`). One buffer serves every core of the
   * process: read it before the next `send()` of any connection.
   */
  get sendInfo(): Uint8Array {
    return s.sendInfo;
  }

  /** Whether the last datagram goes to `to` (compares the raw sockaddr bytes: no decoding per packet). */
  sentTo(to: Sockaddr): boolean {
    return sameSockaddr(s.sendInfo, L.to, L.to_len, to);
  }

  /** Whether the last datagram leaves from `from`. */
  sentFrom(from: Sockaddr): boolean {
    return sameSockaddr(s.sendInfo, L.from, L.from_len, from);
  }

  /**
   * When the last datagram should leave, on the `performance.now()` clock
   * (quiche's pacing time, `send_info.at`); 0 when quiche gave none.
   */
  sentAt(): number {
    const sec = sendInfoWords[AT_WORD]! + sendInfoWords[AT_WORD + 1]! * 2 ** 32;
    const nsec = sendInfoWords[AT_WORD + 2]!;
    if (sec === 0 && nsec === 0) return 0;
    return sec * 1000 + nsec / 1e6 - MONOTONIC_OFFSET_MS;
  }

  /** The destination of the last datagram, decoded (for the rare packet not sent to the current peer). */
  sentToAddress(): q.SocketAddress | null {
    return q.decodeSockaddr(s.sendInfo, L.to, readLen(s.sendInfo, L.to_len));
  }

  /** Milliseconds until {@link ConnCore.onTimeout} is due, or `null` when no timer is needed. */
  timeout(): number | null {
    const conn = this.#conn;
    if (conn === null) return null;
    const ns = q.quiche_conn_timeout_as_nanos(conn);
    if (typeof ns === 'bigint' && ns === UINT64_MAX) return null;
    return Number(ns) / 1e6;
  }

  /** The timeout passed: quiche runs loss detection, idle expiry, draining. */
  onTimeout(): void {
    if (this.#conn !== null) q.quiche_conn_on_timeout(this.#conn);
  }

  /** Queues an ack-eliciting packet (a PING when nothing else is pending): keep-alive. */
  sendAckEliciting(): void {
    if (this.#conn === null) return;
    const rc = q.quiche_conn_send_ack_eliciting(this.#conn);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE) throw quicheError(rc, 'keep-alive');
  }

  // -- events ------------------------------------------------------------------

  /** The next thing that happened, or `null` when this round has nothing more (poll again after I/O). */
  poll(): CoreEvent | null {
    for (;;) {
      const conn = this.#conn;
      if (conn === null) {
        this.#phase = Phase.Established;
        return null;
      }
      switch (this.#phase) {
        case Phase.Established:
          this.#phase = Phase.Readable;
          if (!this.#established && this.#rejection === null && q.quiche_conn_is_established(conn)) {
            if (this.#admit(conn)) {
              this.#established = true;
              return ESTABLISHED;
            }
          }
          break;
        case Phase.Readable: {
          const open = this.#established || (this.#earlyData && q.quiche_conn_is_in_early_data(conn));
          if (!open || !this.streamEvents) {
            this.#phase = open ? Phase.Datagrams : Phase.Paths;
            break;
          }
          const id = Number(q.quiche_conn_stream_readable_next(conn));
          if (id >= 0) return { type: 'readable', streamId: id } satisfies StreamEvent;
          this.#phase = Phase.Writable;
          break;
        }
        case Phase.Writable: {
          const id = Number(q.quiche_conn_stream_writable_next(conn));
          if (id >= 0) return { type: 'writable', streamId: id };
          this.#phase = Phase.Datagrams;
          break;
        }
        case Phase.Datagrams: {
          // Without datagrams in our config, a DATAGRAM frame is a protocol error: none can be queued.
          const n = this.dgramEnabled ? q.quiche_conn_dgram_recv(conn, s.recvBuf, s.recvBuf.length) : -1;
          if (n >= 0) return { type: 'datagram', data: Uint8Array.prototype.slice.call(s.recvBuf, 0, n) };
          this.#phase = Phase.Paths;
          break;
        }
        case Phase.Paths: {
          const event = nextPathEvent(conn);
          if (event !== null) return { type: 'path', event };
          this.#phase = Phase.Session;
          break;
        }
        case Phase.Session: {
          this.#phase = Phase.Closed;
          const ticket = this.sessionEvents && this.#established ? this.#newTicket(conn) : null;
          if (ticket !== null) return { type: 'session', ticket };
          break;
        }
        case Phase.Closed: {
          this.#phase = Phase.Done;
          const info = this.reapIfClosed();
          if (info !== null) return { type: 'closed', info };
          break;
        }
        default:
          this.#phase = Phase.Established;
          return null;
      }
    }
  }

  /** Decides about the peer's certificate; a rejected peer gets a CONNECTION_CLOSE with the TLS alert. */
  #admit(conn: q.QuicheConn): boolean {
    if (this.#authorize === undefined) return true;
    const auth = this.#authorize(conn);
    this.authorization = auth;
    if (auth.rejection === null) return true;
    this.#rejection = auth.rejection.error;
    const reason = Buffer.from(`certificate rejected: ${auth.authorizationError}`);
    q.quiche_conn_close(conn, false, 0x100n + BigInt(auth.rejection.alert), reason, reason.length);
    return false;
  }

  /** Frees the connection if quiche says it is closed; returns how it ended (once), else `null`. */
  reapIfClosed(): CloseInfo | null {
    const conn = this.#conn;
    if (conn === null || !q.quiche_conn_is_closed(conn)) return null;
    return this.#free(readCloseInfo(conn, this.#lastRecvError));
  }

  /**
   * How the handshake already failed, while quiche drains or has queued a
   * close (TLS alert, ALPN mismatch, refusal), or `null` while it is alive.
   */
  failedHandshake(): CloseInfo | null {
    const conn = this.#conn;
    if (conn === null || this.#established) return null;
    if (this.#rejection !== null) return readCloseInfo(conn, this.#lastRecvError);
    if (!q.quiche_conn_is_draining(conn) && !q.quiche_conn_is_closed(conn)) {
      s.lenOut[0] = 0n;
      const closing =
        q.quiche_conn_local_error(conn, s.boolOut, s.u64Out, s.ptrOut, s.lenOut) ||
        q.quiche_conn_peer_error(conn, s.boolOut, s.u64Out, s.ptrOut, s.lenOut);
      if (!closing) return null;
    }
    return readCloseInfo(conn, this.#lastRecvError);
  }

  /** Starts closing: CONNECTION_CLOSE with `code` and `reason` (application or transport). */
  close(app: boolean, code: bigint, reason: Uint8Array | null): void {
    const conn = this.#conn;
    if (conn === null) return;
    q.quiche_conn_close(conn, app, code, reason?.length ? reason : null, reason?.length ?? 0);
  }

  /** Frees the connection now, whatever its state, recording `info` as how it ended. Idempotent. */
  abandon(info: CloseInfo): CloseInfo {
    return this.#conn === null ? (this.#closeInfo ?? info) : this.#free(info);
  }

  #free(info: CloseInfo): CloseInfo {
    const conn = this.#conn as q.QuicheConn;
    this.#conn = null;
    this.#closeInfo = info;
    registry.unregister(this);
    q.quiche_conn_free(conn);
    track('connections', -1);
    return info;
  }

  #newTicket(conn: q.QuicheConn): Uint8Array | null {
    s.lenOut[0] = 0n;
    q.quiche_conn_session(conn, s.ptrOut, s.lenOut);
    const len = Number(s.lenOut[0]);
    if (len === 0 || len === this.#sessionLen) return null;
    this.#sessionLen = len;
    return q.readBorrowed(s.ptrOut, s.lenOut);
  }

  // -- datagrams ---------------------------------------------------------------

  /** The largest datagram that fits now, or `null` when either side did not enable datagrams. */
  dgramMaxWritable(): number | null {
    const n = this.dgramEnabled ? q.quiche_conn_dgram_max_writable_len(this.live()) : -1;
    return n < 0 ? null : n;
  }

  /**
   * Queues a datagram; `false` when the send queue is full. Throws a
   * QuicError naming why it can never be sent (disabled, too large).
   */
  dgramSend(bytes: Uint8Array): boolean {
    const conn = this.live();
    const rc = this.dgramEnabled
      ? q.quiche_conn_dgram_send(conn, bytes.length === 0 ? s.EMPTY : bytes, bytes.length)
      : E.QUICHE_ERR_INVALID_STATE;
    if (rc >= 0) return true;
    if (rc === E.QUICHE_ERR_DONE) return false;
    // Only a refusal pays for asking quiche why.
    const max = this.dgramMaxWritable();
    if (max === null) {
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
    throw quicheError(rc, 'sendDatagram');
  }

  // -- connection IDs ----------------------------------------------------------------

  /**
   * How many more source CIDs to issue to keep `spare` of them available to
   * the peer. Only the peer retiring CIDs uses them up, so quiche is asked
   * once after the handshake and again after each retirement
   * ({@link ConnCore.retiredScids}); otherwise the answer is 0 at no cost.
   */
  scidsWanted(spare: number): number {
    const conn = this.#conn;
    if (conn === null || !this.#established || !this.#scidsStale) return 0;
    this.#scidsStale = false;
    const left = q.quiche_conn_scids_left(conn);
    return Math.max(0, Math.min(left, spare + 1 - q.quiche_conn_active_scids(conn)));
  }

  /** Issues `cid` (with its stateless-reset token) to the peer; `false` when quiche refused. */
  issueScid(cid: Uint8Array, resetToken: Uint8Array): boolean {
    const conn = this.#conn;
    return conn !== null && q.quiche_conn_new_scid(conn, cid, cid.length, resetToken, false, s.u64Out) >= 0;
  }

  /** Source CIDs the peer retired since the last call (their bytes as latin1 keys). */
  retiredScids(): readonly string[] {
    const conn = this.#conn;
    if (conn === null || q.quiche_conn_retired_scids(conn) === 0) return NONE_RETIRED;
    this.#scidsStale = true;
    const out: string[] = [];
    const iter = q.quiche_conn_retired_scid_iter(conn);
    if (iter === null) return out;
    try {
      for (let i = 0; i < 64 && q.quiche_connection_id_iter_next(iter, s.ptrOut, s.lenOut); i++) {
        out.push(Buffer.from(q.readBorrowed(s.ptrOut, s.lenOut)).toString('latin1'));
      }
    } finally {
      q.quiche_connection_id_iter_free(iter);
    }
    return out;
  }
}

function readLen(buf: Uint8Array, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8);
}

function sameSockaddr(info: Uint8Array, at: number, lenAt: number, sa: Sockaddr): boolean {
  const len = readLen(info, lenAt);
  if (len !== sa.len) return false;
  for (let i = 0; i < len; i++) if (info[at + i] !== sa.buf[i]) return false;
  return true;
}
