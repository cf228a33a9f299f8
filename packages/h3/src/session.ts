/**
 * `H3Session`: HTTP/3 on one QUIC connection, as an application on
 * quichex's seam. quiche's HTTP/3 layer reads the streams itself
 * (`quiche_h3_conn_poll`), so the session asks the driver for no stream
 * events; once per processing round it polls quiche's HTTP/3 events, feeds
 * the readers that are waiting, and sends what writers queued.
 *
 * @module
 */
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import type { Application, ConnCore, QuicError } from 'quichex';
import { Exchange, type ExchangeHost, READ_CHUNK } from './exchange.js';
import { type FieldList, field, packFields, readFields } from './headers.js';

const debug = debuglog('quichex:h3');
const E = q.QuicheH3Error;
const EV = q.QuicheH3EventType;

let sharedConfig: q.QuicheH3Config | null = null;
/** quiche's HTTP/3 settings (its defaults), one for the process. */
function h3Config(): q.QuicheH3Config {
  sharedConfig ??= q.quiche_h3_config_new();
  if (sharedConfig === null) throw new Error('quiche could not create an HTTP/3 config');
  return sharedConfig;
}

const evOut = new BigUint64Array(1);
const recvBuf = new Uint8Array(READ_CHUNK);

/** What a session reports to its owner (the server or the client pool). */
export interface SessionHooks {
  /** (Servers) A request's headers arrived on a new stream. */
  onRequest?(exchange: Exchange): void;
  /** (Clients) The server sent GOAWAY: no new requests on this connection. */
  onGoaway?(): void;
  /** A request stream finished both ways (or was dropped). */
  onStreamDone?(): void;
  /** The connection closed; every open exchange was aborted. */
  onClose?(error: QuicError): void;
}

export class H3Session implements Application, ExchangeHost {
  readonly streamEvents = false;
  readonly #core: ConnCore;
  readonly #wake: () => void;
  readonly #role: 'client' | 'server';
  readonly #hooks: SessionHooks;
  #h3: q.QuicheH3Conn | null = null;
  readonly #exchanges = new Map<number, Exchange>();
  /** The highest request stream a server saw (for its GOAWAY). */
  #lastRequestId = -1;
  /** GOAWAY received (clients) or sent (servers). */
  goingAway = false;
  /** (Clients) The server allowed no more request streams at the last try; cleared when one ends. */
  streamsBlocked = false;
  #closed: QuicError | null = null;

  constructor(core: ConnCore, wake: () => void, role: 'client' | 'server', hooks: SessionHooks) {
    this.#core = core;
    this.#wake = wake;
    this.#role = role;
    this.#hooks = hooks;
  }

  /** Open request streams. */
  get active(): number {
    return this.#exchanges.size;
  }

  /** Whether the connection closed. */
  get closed(): boolean {
    return this.#closed !== null;
  }

  wake(): void {
    this.#wake();
  }

  /** The HTTP/3 connection, made once the QUIC handshake allows it. */
  #conn(): q.QuicheH3Conn | null {
    if (this.#h3 !== null) return this.#h3;
    const conn = this.#core.handle;
    if (conn === null) return null;
    if (!this.#core.established && !q.quiche_conn_is_in_early_data(conn)) return null;
    this.#h3 = q.quiche_h3_conn_new_with_transport(conn, h3Config());
    if (this.#h3 === null) {
      debug('quiche could not start HTTP/3 on this connection');
      this.#core.close(false, 0x101n, Buffer.from('HTTP/3 setup failed'));
    }
    return this.#h3;
  }

  // -- the processing round --------------------------------------------------------

  process(): void {
    const h3 = this.#conn();
    const conn = this.#core.handle;
    if (h3 === null || conn === null) return;
    this.#poll(h3, conn);
    for (const ex of this.#exchanges.values()) {
      if (ex.wantsData) this.#read(h3, conn, ex);
      if (!this.#sendHeaders(ex)) continue;
      if (ex.hasOutput) ex.flush((chunk, fin) => this.#sendBody(h3, conn, ex.id, chunk, fin));
      this.#retire(ex);
    }
  }

  #poll(h3: q.QuicheH3Conn, conn: q.QuicheConn): void {
    for (let i = 0; i < 10_000; i++) {
      const id = Number(q.quiche_h3_conn_poll(h3, conn, evOut));
      if (id < 0) {
        if (id !== E.QUICHE_H3_ERR_DONE) debug('h3 poll: %d', id); // quiche closes the connection itself
        return;
      }
      const ev = evOut[0] as q.QuicheH3Event;
      try {
        this.#event(h3, conn, id, ev);
      } finally {
        q.quiche_h3_event_free(ev);
      }
    }
  }

  #event(h3: q.QuicheH3Conn, conn: q.QuicheConn, id: number, ev: q.QuicheH3Event): void {
    switch (q.quiche_h3_event_type(ev)) {
      case EV.QUICHE_H3_EVENT_HEADERS: {
        const fields = readFields(ev);
        const more = q.quiche_h3_event_headers_has_more_frames(ev);
        let ex = this.#exchanges.get(id);
        if (ex?.fields) return; // trailers: not exposed by the fetch API
        // Interim responses (1xx) are not exposed by the fetch API either.
        if (this.#role === 'client' && field(fields, ':status')?.startsWith('1')) return;
        if (ex === undefined) {
          if (this.#role === 'client') return; // no request of ours
          ex = new Exchange(id, this);
          this.#exchanges.set(id, ex);
          this.#lastRequestId = Math.max(this.#lastRequestId, id);
        }
        ex.fields = fields;
        ex.peerHasBody = more;
        if (!more) ex.finished = true;
        if (this.#role === 'server') this.#hooks.onRequest?.(ex);
        else ex.onHeaders?.();
        return;
      }
      case EV.QUICHE_H3_EVENT_DATA: {
        const ex = this.#exchanges.get(id);
        if (ex === undefined) return;
        ex.dataPending = true;
        if (ex.wantsData) this.#read(h3, conn, ex);
        return;
      }
      case EV.QUICHE_H3_EVENT_FINISHED:
        this.#exchanges.get(id)?.endIncoming();
        return;
      case EV.QUICHE_H3_EVENT_RESET: {
        const ex = this.#exchanges.get(id);
        if (ex === undefined) return;
        ex.abort(new H3StreamError(`the peer reset the stream`, id));
        this.#forget(ex);
        return;
      }
      case EV.QUICHE_H3_EVENT_GOAWAY:
        this.goingAway = true;
        this.#hooks.onGoaway?.();
        return;
      default:
        return; // PRIORITY_UPDATE: quiche applies it to the stream itself
    }
  }

  /** Reads body bytes while the exchange's reader has room. */
  #read(h3: q.QuicheH3Conn, conn: q.QuicheConn, ex: Exchange): void {
    while (ex.wantsData) {
      const n = q.quiche_h3_recv_body(h3, conn, ex.id, recvBuf, recvBuf.length);
      if (n > 0) {
        ex.deliver(Uint8Array.prototype.slice.call(recvBuf, 0, n));
        continue;
      }
      ex.dataPending = false;
      if (n !== E.QUICHE_H3_ERR_DONE) debug('h3 recv_body on %d: %d', ex.id, n);
    }
  }

  #sendBody(h3: q.QuicheH3Conn, conn: q.QuicheConn, id: number, chunk: Uint8Array, fin: boolean): number {
    const n = q.quiche_h3_send_body(h3, conn, id, chunk.length > 0 ? chunk : FIN_ONLY, chunk.length, fin);
    if (n >= 0) return n;
    if (n !== E.QUICHE_H3_ERR_DONE && n !== E.QUICHE_H3_ERR_STREAM_BLOCKED) {
      // STREAM_STOPPED (-1015): the peer no longer wants the body.
      const why =
        n === q.QuicheH3Error.QUICHE_H3_TRANSPORT_ERR_STREAM_STOPPED
          ? 'the peer stopped reading'
          : `quiche error ${n}`;
      this.#exchanges.get(id)?.abort(new H3StreamError(`sending the body failed: ${why}`, id));
    }
    return -1;
  }

  /**
   * Forgets an exchange that is done both ways. A server whose response is
   * complete stops reading a request body nobody reads (STOP_SENDING with
   * H3_NO_ERROR, as RFC 9114 §4.1 allows), so it is not kept for it.
   */
  #retire(ex: Exchange): void {
    if (!ex.outDone) return;
    if (!ex.finished && ex.aborted === null) {
      if (this.#role === 'client' || ex.reading) return;
      this.#core.streams.shutdown(ex.id, 'read', 0x100n);
    }
    this.#forget(ex);
  }

  /** Drops an exchange from the session. */
  #forget(ex: Exchange): void {
    if (!this.#exchanges.delete(ex.id)) return;
    const done = ex.onFinish;
    ex.onFinish = null;
    done?.();
    this.#hooks.onStreamDone?.();
  }

  // -- requests and responses --------------------------------------------------------

  /**
   * (Clients) Opens a request stream with `fields`; `fin` when there is no
   * body. Returns the exchange, or `null` when the peer allows no more
   * streams right now (try again after a round).
   */
  request(fields: FieldList, fin: boolean): Exchange | null {
    const h3 = this.#conn();
    const conn = this.#core.handle;
    if (h3 === null || conn === null)
      throw this.#closed ?? new Error('the connection is not ready for HTTP/3');
    const { headers, count } = packFields(fields);
    const id = Number(q.quiche_h3_send_request(h3, conn, headers, count, fin));
    if (
      id === E.QUICHE_H3_ERR_STREAM_BLOCKED ||
      id === q.QuicheH3Error.QUICHE_H3_TRANSPORT_ERR_STREAM_LIMIT
    ) {
      return null;
    }
    if (id < 0) throw new Error(`quiche could not send the request (h3 error ${id})`);
    const ex = new Exchange(id, this);
    if (fin) ex.outDone = true;
    this.#exchanges.set(id, ex);
    this.#wake();
    return ex;
  }

  /**
   * (Servers) Sends the response header list; `fin` when there is no body.
   * `priority` is the request's RFC 9218 `priority` field, applied to the
   * response (quiche schedules streams by urgency, then incremental). When
   * the stream has no room for the headers yet, they wait (with any body
   * queued behind them) for a later round.
   */
  respond(ex: Exchange, fields: FieldList, fin: boolean, priority?: string): void {
    if (ex.aborted) return;
    ex.pendingHeaders = {
      fields,
      fin,
      priority: priority === undefined ? null : parsePriority(priority),
    };
    this.#sendHeaders(ex);
    this.#wake();
  }

  /** Sends an exchange's waiting response headers; `false` while they must still wait. */
  #sendHeaders(ex: Exchange): boolean {
    const pending = ex.pendingHeaders;
    if (pending === null) return true;
    const h3 = this.#h3;
    const conn = this.#core.handle;
    if (h3 === null || conn === null) return false;
    const { fin, priority } = pending;
    const { headers, count } = packFields(pending.fields);
    const rc =
      priority === null
        ? q.quiche_h3_send_response(h3, conn, ex.id, headers, count, fin)
        : q.quiche_h3_send_response_with_priority(h3, conn, ex.id, headers, count, priority, fin);
    if (rc === E.QUICHE_H3_ERR_STREAM_BLOCKED) return false;
    ex.pendingHeaders = null;
    if (rc < 0) {
      ex.abort(new H3StreamError(`quiche could not send the response (h3 error ${rc})`, ex.id));
      return false;
    }
    if (fin) ex.outDone = true;
    this.#retire(ex);
    return true;
  }

  /** Cancels stream `id` both ways with `code`; its readers and writers fail with `reason`. */
  cancel(id: number, code: bigint, reason?: Error): void {
    const ex = this.#exchanges.get(id);
    if (ex) {
      ex.abort(reason ?? new H3StreamError('the request was cancelled', id));
      this.#forget(ex);
    }
    if (this.#core.handle === null) return;
    this.#core.streams.shutdown(id, 'write', code);
    this.#core.streams.shutdown(id, 'read', code);
    this.#wake();
  }

  /** (Servers) Sends GOAWAY: requests already received are answered, later ones refused. */
  goaway(): void {
    const h3 = this.#conn();
    const conn = this.#core.handle;
    if (h3 === null || conn === null || this.goingAway) return;
    this.goingAway = true;
    // The first request stream we will not answer (client bidi streams are 0, 4, 8, …).
    const rc = q.quiche_h3_send_goaway(h3, conn, this.#lastRequestId < 0 ? 0 : this.#lastRequestId + 4);
    if (rc < 0) debug('h3 goaway: %d', rc);
    this.#wake();
  }

  onClose(error: QuicError): void {
    this.#closed = error;
    for (const ex of [...this.#exchanges.values()]) {
      ex.abort(error);
      this.#forget(ex);
    }
    if (this.#h3 !== null) {
      q.quiche_h3_conn_free(this.#h3);
      this.#h3 = null;
    }
    this.#hooks.onClose?.(error);
  }
}

const priorityOut = new Uint8Array(2);

/** An RFC 9218 `priority` field value as quiche reads it, or `null` when it does not parse. */
export function parsePriority(value: string): q.H3PriorityInit | null {
  const bytes = Buffer.from(value, 'latin1');
  if (bytes.length === 0 || q.quiche_h3_parse_extensible_priority(bytes, bytes.length, priorityOut) < 0)
    return null;
  return { urgency: priorityOut[0]!, incremental: priorityOut[1] === 1 };
}

/** A request stream that ended abnormally (reset by the peer, cancelled, or failed). */
export class H3StreamError extends Error {
  /** The request stream. */
  readonly streamId: number;

  constructor(message: string, streamId: number) {
    super(message);
    this.name = 'H3StreamError';
    this.streamId = streamId;
  }
}

/** A 1-byte buffer for a bare FIN: koffi passes an empty array as NULL. */
const FIN_ONLY = new Uint8Array(1);
