/**
 * One request stream: the body that arrives (a WHATWG `ReadableStream`
 * that reads from quiche only when its consumer asks, so flow control
 * holds a slow reader's peer back) and the body that leaves (queued chunks
 * that quiche takes as the congestion and flow-control windows allow, and
 * a writer that waits while too much is queued).
 *
 * An exchange is passive: its session does the quiche calls in its
 * processing round, and the exchange asks for a round with `wake()`.
 *
 * @module
 */
import type * as q from '@quichex/ffi';
import type { FieldList } from './headers.js';

/** Bytes queued for sending before a writer waits. */
const OUT_HIGH_WATER = 256 * 1024;
/** Largest chunk handed to a body reader. */
export const READ_CHUNK = 64 * 1024;
/** Body bytes read ahead of the reader (on top of quiche's own flow-control window). */
const IN_HIGH_WATER = 256 * 1024;

/** What an exchange needs of its session. */
export interface ExchangeHost {
  /** Asks for a processing round (reads and writes happen there). */
  wake(): void;
  /** Cancels the stream both ways with `code` (RESET_STREAM and STOP_SENDING). */
  cancel(id: number, code: bigint, reason?: Error): void;
}

export class Exchange {
  readonly id: number;
  readonly #host: ExchangeHost;
  /** The peer's header list (request on servers, response on clients), once it arrived. */
  fields: FieldList | null = null;
  /** Whether a body follows the peer's headers (quiche's `has_more_frames`). */
  peerHasBody = false;

  // -- incoming body
  // Held weakly: a body that its owner dropped unread must not be kept
  // alive by the session (see `unread` below). But while a read is pending,
  // the reader (and the code awaiting it) may be reachable only through the
  // body, so a pending read holds it strongly until it is answered.
  #controller: WeakRef<ReadableStreamDefaultController<Uint8Array>> | null = null;
  #awaited: ReadableStreamDefaultController<Uint8Array> | null = null;
  #bodyMade = false;
  /** quiche has body bytes for us (a DATA event not read to its end yet). */
  dataPending = false;
  /** The peer's body ended (FINISHED). */
  finished = false;
  #inClosed = false;

  // -- outgoing
  /** (Servers) Response headers waiting for room on the stream. */
  pendingHeaders: { fields: FieldList; fin: boolean; priority: q.H3PriorityInit | null } | null = null;
  readonly #out: Uint8Array[] = [];
  #outBytes = 0;
  #outFin = false;
  /** Our side ended (FIN sent) or was reset. */
  outDone = false;
  #drained: (() => void) | null = null;

  /** (Clients) Called when the response headers arrived. */
  onHeaders: (() => void) | null = null;
  /** Called once when the session forgets the exchange (done both ways, cancelled or reset). */
  onFinish: (() => void) | null = null;
  /** Called once with the reason when the stream ends abnormally (reset, cancel, connection loss). */
  onAbort: ((reason: Error) => void) | null = null;
  #aborted: Error | null = null;

  constructor(id: number, host: ExchangeHost) {
    this.id = id;
    this.#host = host;
  }

  /** The abnormal end of this stream, if any. */
  get aborted(): Error | null {
    return this.#aborted;
  }

  // -- incoming ----------------------------------------------------------------

  /**
   * The peer's body as a stream (made once: a second call returns `null`,
   * as does a stream whose peer sends no body). Dropped with no read
   * pending, it is cancelled when collected, so its stream does not stay
   * open; a pending read keeps it (see `#awaited`).
   */
  body(): ReadableStream<Uint8Array> | null {
    if (!this.peerHasBody || this.#bodyMade) return null;
    this.#bodyMade = true;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = new WeakRef(controller);
          if (this.#aborted) controller.error(this.#aborted);
        },
        // With a high-water mark of 0, pull means a read is pending: hold the
        // body until it is answered, and ask for a round, which reads ahead
        // up to IN_HIGH_WATER (see wantsData). Returning no promise keeps the
        // stream from waiting on the session.
        pull: (controller) => {
          this.#awaited = controller;
          this.#host.wake();
        },
        cancel: () => {
          this.#awaited = null;
          this.#inClosed = true;
          if (!this.finished) this.#host.cancel(this.id, 0x10cn);
        },
      },
      { highWaterMark: 0, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    unread.register(body, this);
    return body;
  }

  /** The body was collected before its end: nobody will read the rest. */
  dropped(): void {
    if (this.finished || this.#aborted || this.#inClosed) return;
    this.#inClosed = true;
    this.#host.cancel(this.id, 0x10cn);
  }

  /** Whether someone holds the body and may still read it. */
  get reading(): boolean {
    return this.#bodyMade && !this.#inClosed;
  }

  /** Whether the session should read body bytes for this stream now: a read waits, or less than IN_HIGH_WATER is queued. */
  get wantsData(): boolean {
    if (!this.dataPending || this.#inClosed) return false;
    if (this.#awaited !== null) return true;
    // desiredSize is minus the bytes queued (the high-water mark is 0).
    const desired = this.#controller?.deref()?.desiredSize;
    return desired != null && desired > -IN_HIGH_WATER;
  }

  /** The body's controller, while the body is alive. */
  #live(): ReadableStreamDefaultController<Uint8Array> | undefined {
    return this.#awaited ?? this.#controller?.deref();
  }

  /** Hands a chunk to the body's reader. */
  deliver(chunk: Uint8Array): void {
    if (this.#inClosed) return;
    this.#live()?.enqueue(chunk);
    this.#awaited = null; // answered: the body is held weakly again
  }

  /** The peer's body ended cleanly. */
  endIncoming(): void {
    this.finished = true;
    this.dataPending = false;
    if (this.#inClosed) return;
    this.#inClosed = true;
    const controller = this.#live();
    this.#awaited = null;
    try {
      controller?.close();
    } catch {
      // already closed by its reader
    }
  }

  // -- outgoing ----------------------------------------------------------------

  /** Queues `chunk` (and the end of our body with `fin`); resolves once the queue is short again. */
  write(chunk: Uint8Array | null, fin: boolean): Promise<void> {
    if (this.#aborted) return Promise.reject(this.#aborted);
    if (this.outDone || this.#outFin) return Promise.reject(new Error('the body was already ended'));
    if (chunk !== null && chunk.length > 0) {
      this.#out.push(chunk);
      this.#outBytes += chunk.length;
    }
    if (fin) this.#outFin = true;
    this.#host.wake();
    if (this.#outBytes < OUT_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#drained = () => (this.#aborted ? reject(this.#aborted) : resolve());
    });
  }

  /** Whether the session has something to send for this stream. */
  get hasOutput(): boolean {
    return !this.outDone && this.pendingHeaders === null && (this.#out.length > 0 || this.#outFin);
  }

  /**
   * Sends what quiche takes: `send(chunk, fin)` returns the bytes taken (or
   * a negative number when the stream can take nothing now).
   */
  flush(send: (chunk: Uint8Array, fin: boolean) => number): void {
    while (!this.outDone && (this.#out.length > 0 || this.#outFin)) {
      const chunk = this.#out[0];
      const last = this.#out.length <= 1;
      const n = send(chunk ?? EMPTY, this.#outFin && last);
      if (n < 0) break;
      if (chunk === undefined) {
        this.outDone = true; // the lone FIN went out
        break;
      }
      this.#outBytes -= n;
      if (n === chunk.length) {
        this.#out.shift();
        if (this.#outFin && this.#out.length === 0) this.outDone = true;
      } else {
        this.#out[0] = chunk.subarray(n);
        break;
      }
    }
    if (this.#drained && (this.#outBytes < OUT_HIGH_WATER || this.outDone)) {
      const drained = this.#drained;
      this.#drained = null;
      drained();
    }
  }

  // -- ending --------------------------------------------------------------------

  /** Ends the stream abnormally: readers and writers fail with `reason`. Idempotent. */
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = reason;
    this.outDone = true;
    this.#out.length = 0;
    this.#outBytes = 0;
    if (!this.#inClosed) {
      this.#inClosed = true;
      const controller = this.#live();
      this.#awaited = null;
      try {
        controller?.error(reason);
      } catch {
        // already closed
      }
    }
    this.#drained?.();
    this.#drained = null;
    this.onAbort?.(reason);
  }
}

const unread = new FinalizationRegistry<Exchange>((ex) => ex.dropped());

/** A 1-byte buffer for a bare FIN: koffi passes an empty array as NULL. */
const EMPTY = new Uint8Array(1).subarray(0, 0);
