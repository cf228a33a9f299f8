/**
 * `Stream`: one QUIC stream, with pull-based reads (QUIC flow control is the
 * backpressure) and writes that resolve once quiche has taken every byte.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { abortReason, QuicError } from './errors.js';
import { toDuplex } from './stream-duplex.js';
import { checkErrorCode, checkInt, checkSignal, toBytes } from './validate.js';
import { Signal } from './waiters.js';

/** What a stream needs from its connection (implemented by `Connection`). */
export interface StreamHost {
  /** Reads what quiche holds for the stream: bytes, `null` when nothing is buffered; `fin` set on end. */
  streamRecv(id: number): { data: Uint8Array | null; fin: boolean };
  /** Writes as much as quiche takes; returns the count. Throws a QuicError when the stream cannot be written. */
  streamSend(id: number, data: Uint8Array, fin: boolean): number;
  /** The peer's STOP_SENDING for the stream as an error, or `null` when it has not stopped it. */
  streamStopped(id: number): QuicError | null;
  /** Asks quiche to report the stream once `len` bytes can be written; `true` when they already can. */
  streamWantWritable(id: number, len: number): boolean;
  /** Shuts one side of the stream down with an application error code. */
  streamShutdown(id: number, side: 'read' | 'write', code: bigint): void;
  /** Sets the stream's scheduling priority. */
  streamPriority(id: number, urgency: number, incremental: boolean): void;
  /** Forgets a stream whose both sides are done. */
  streamDone(id: number): void;
  /** The connection's terminal error, if it is closed. */
  readonly terminalError: QuicError | null;
}

/** Options of waits on a stream. */
export interface StreamWaitOptions {
  /** Aborts the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Events of a {@link Stream}. */
export interface StreamEvents {
  /** The peer's data ended (FIN read). */
  end: [];
  /** The peer reset its side: the code it sent. */
  reset: [code: bigint];
  /** The peer asked us to stop sending: the code it sent. */
  stopped: [code: bigint];
  /** Both sides are done; the stream is forgotten by its connection. */
  close: [];
}

/**
 * Low send watermark for `quiche_conn_stream_writable`: wake a blocked writer
 * as soon as any credit is free. quiche compares the watermark with
 * min(stream credit, connection credit, free congestion window); a watermark
 * above what a small window or congestion window can offer (16 KiB against an
 * initial cwnd of 13.5 KB, or after a loss) never fires and the write hangs.
 */
const WATERMARK = 1;
/** How long the last byte of a write waits for a following write, end() or read. */
const TAIL_HOLD_MS = 10;

/**
 * One QUIC stream. Created by `Connection.openStream()`/`openUniStream()` or
 * received from `Connection.streams()`.
 *
 * @example
 * ```ts
 * const stream = await conn.openStream();
 * await stream.write('ping');
 * await stream.end();
 * for await (const chunk of stream) process.stdout.write(chunk);
 * ```
 */
export class Stream extends EventEmitter<StreamEvents> {
  /** QUIC stream id (bit 0: server-initiated, bit 1: unidirectional). */
  readonly id: number;
  /** `'bidi'` or `'uni'`. */
  readonly direction: 'bidi' | 'uni';
  /** `'local'` when this side opened it. */
  readonly origin: 'local' | 'remote';
  readonly #host: StreamHost;
  readonly #readWake = new Signal();
  readonly #writeWake = new Signal();
  #readDone: boolean;
  #writeDone: boolean;
  #readError: QuicError | null = null;
  #writeError: QuicError | null = null;
  #writing: Promise<void> = Promise.resolve();
  /** Writes queued or running. */
  #queuedWrites = 0;
  /**
   * The last byte of the latest write, held back from quiche so that `end()`
   * can send it with the FIN (see {@link Stream.write}).
   */
  #tail: Uint8Array | null = null;
  #tailTimer: NodeJS.Timeout | null = null;
  #closed = false;

  /** @internal Streams are created by their connection. */
  constructor(host: StreamHost, id: number, isServer: boolean) {
    super();
    this.#host = host;
    this.id = id;
    this.direction = (id & 2) === 0 ? 'bidi' : 'uni';
    this.origin = ((id & 1) === 1) === isServer ? 'local' : 'remote';
    // A uni stream has only one side; the other is done from the start.
    this.#readDone = this.direction === 'uni' && this.origin === 'local';
    this.#writeDone = this.direction === 'uni' && this.origin === 'remote';
    // A 'stopped' listener wants STOP_SENDING even while nobody writes: check
    // now (after the listener is added), which also arms later checks.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'stopped') queueMicrotask(() => this.checkStopped());
    });
  }

  /** Whether this side can still read. */
  get readable(): boolean {
    return !this.#readDone;
  }

  /** Whether this side can still write. */
  get writable(): boolean {
    return !this.#writeDone;
  }

  /**
   * Reads the next chunk: a `Uint8Array`, or `null` once the peer's data
   * ended. Rejects with `ERR_QUIC_STREAM_RESET` (the peer's code in
   * `errorCode`) or the connection's error.
   */
  async read(options: StreamWaitOptions = {}): Promise<Uint8Array | null> {
    const signal = checkSignal(options.signal);
    if (this.direction === 'uni' && this.origin === 'local') {
      throw new TypeError(`stream ${this.id} is a local unidirectional stream and cannot be read`);
    }
    for (;;) {
      if (this.#readError) throw this.#readError;
      if (this.#readDone) return null;
      const terminal = this.#host.terminalError;
      let result: { data: Uint8Array | null; fin: boolean };
      try {
        result = this.#host.streamRecv(this.id);
      } catch (err) {
        if (terminal) throw terminal;
        this.#failRead(err as QuicError);
        throw err;
      }
      if (result.fin) {
        this.#readDone = true;
        this.emit('end');
        this.#maybeClose();
        if (result.data && result.data.length > 0) return result.data;
        return null;
      }
      if (result.data) return result.data;
      if (terminal) throw terminal;
      // About to wait for the peer, which may be waiting for our last byte.
      if (this.#tail) this.#releaseTail();
      await this.#readWake.wait(signal);
    }
  }

  /** Reads until the end of the stream and returns all bytes. */
  async readAll(options: StreamWaitOptions = {}): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const chunk = await this.read(options);
      if (chunk === null) return Buffer.concat(chunks);
      chunks.push(chunk);
    }
  }

  /** Iterates the stream's chunks until the peer's FIN. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /**
   * Writes `data`; resolves once quiche has accepted the bytes (it then owns
   * their delivery). Waits for flow-control credit as needed, so memory
   * stays bounded by the caller's own buffers. Concurrent writes are queued
   * in call order.
   *
   * The last byte of each write is held back until the next write, `end()`,
   * a read on this stream, `close()` of the connection, or 10 ms of quiet,
   * so that `end()` never has to send a FIN without data: quiche 0.30 can
   * lose such a FIN (cloudflare/quiche#2525) and leave the peer waiting.
   */
  write(data: Uint8Array | string, options: StreamWaitOptions = {}): Promise<void> {
    const bytes = toBytes('data', data);
    const signal = checkSignal(options.signal);
    return this.#enqueue(() => this.#writeAll(bytes, false, signal), signal);
  }

  /** Writes `data` (if any) and then FIN. Resolves once quiche accepted both. */
  end(data?: Uint8Array | string, options: StreamWaitOptions = {}): Promise<void> {
    const bytes = data === undefined ? new Uint8Array(0) : toBytes('data', data);
    const signal = checkSignal(options.signal);
    return this.#enqueue(() => this.#writeAll(bytes, true, signal), signal);
  }

  /**
   * Writes what flow control allows right now, without waiting; returns the
   * number of bytes quiche accepted (possibly 0).
   */
  tryWrite(data: Uint8Array | string): number {
    const bytes = toBytes('data', data);
    this.#checkWritable();
    if (bytes.length === 0) return 0;
    try {
      if (this.#tail) {
        // The held byte goes first, or the stream's bytes would be reordered.
        if (this.#host.streamSend(this.id, this.#tail, false) === 0) return 0;
        this.#tail = null;
      }
      return this.#host.streamSend(this.id, bytes, false);
    } catch (err) {
      this.#failWrite(err as QuicError);
      throw err;
    }
  }

  /** Abruptly ends our sending side (RESET_STREAM with `code`). Pending writes reject. */
  reset(code: number | bigint = 0n): void {
    const c = checkErrorCode('code', code);
    if (this.#writeDone) return;
    this.#tail = null;
    this.#host.streamShutdown(this.id, 'write', c);
    this.#failWrite(
      new QuicError('ERR_QUIC_STREAM_CLOSED', `stream ${this.id} was reset locally with code ${c}`, {
        errorCode: c,
        type: 'application',
        streamId: this.id,
      }),
    );
  }

  /** Asks the peer to stop sending (STOP_SENDING with `code`); later reads return `null`. */
  stopSending(code: number | bigint = 0n): void {
    const c = checkErrorCode('code', code);
    if (this.#readDone) return;
    this.#host.streamShutdown(this.id, 'read', c);
    this.#readDone = true;
    this.#readWake.notify();
    this.#maybeClose();
  }

  /** Sets the stream's priority: urgency 0 (first) ..7, and whether it interleaves with peers of equal urgency. */
  setPriority(urgency: number, incremental = true): void {
    checkInt('urgency', urgency, 0, 7);
    if (typeof incremental !== 'boolean') throw new TypeError('incremental must be a boolean');
    this.#host.streamPriority(this.id, urgency, incremental);
  }

  /**
   * A Node `Duplex` over this stream, for `stream.pipeline` and friends.
   * Use either the Duplex or the Stream's own read/write methods, not both.
   */
  toNodeStream(): Duplex {
    return toDuplex(this);
  }

  // -- engine side ----------------------------------------------------------

  /** @internal quiche reported the stream readable (data, FIN or reset). */
  onReadable(): void {
    this.#readWake.notify();
  }

  /**
   * @internal quiche reported the stream writable (credit, or the peer
   * stopped it). Returns `true` when nobody is writing but 'stopped' has
   * listeners: the connection then calls {@link Stream.checkStopped}.
   */
  onWritable(): boolean {
    if (this.#writeWake.waiting) {
      this.#writeWake.notify();
      return false;
    }
    return !this.#writeDone && this.listenerCount('stopped') > 0;
  }

  /** @internal Surfaces STOP_SENDING as an event on an idle stream; the check keeps quiche reporting the stream. */
  checkStopped(): void {
    if (this.#writeDone) return;
    const stopped = this.#host.streamStopped(this.id);
    if (stopped) this.#failWrite(stopped);
  }

  /** @internal The connection closed: fail whatever is pending. */
  onConnectionClosed(err: QuicError): void {
    if (this.#tailTimer) clearTimeout(this.#tailTimer);
    this.#tail = null;
    if (!this.#readDone && !this.#readError) this.#readError = err;
    if (!this.#writeDone && !this.#writeError) this.#writeError = err;
    this.#readDone = true;
    this.#writeDone = true;
    this.#readWake.fail(err);
    this.#writeWake.fail(err);
    if (!this.#closed) {
      this.#closed = true;
      this.emit('close');
    }
  }

  #enqueue(op: () => Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    // Writes run one at a time, in call order. One still waiting for its turn
    // rejects as soon as its signal aborts (and then never runs), not when
    // the writes before it are done.
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    this.#queuedWrites++;
    const run = this.#writing
      .then(() => {
        if (signal?.aborted) throw abortReason(signal);
        return op();
      })
      .finally(() => {
        this.#queuedWrites--;
      });
    this.#writing = run.catch(() => undefined);
    if (!signal) return run;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      run.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  #checkWritable(): void {
    if (this.direction === 'uni' && this.origin === 'remote') {
      throw new TypeError(`stream ${this.id} is a remote unidirectional stream and cannot be written`);
    }
    if (this.#writeError) throw this.#writeError;
    if (this.#writeDone) {
      throw new QuicError('ERR_QUIC_STREAM_CLOSED', `stream ${this.id} was already ended`, {
        streamId: this.id,
      });
    }
  }

  async #writeAll(bytes: Uint8Array, fin: boolean, signal: AbortSignal | undefined): Promise<void> {
    this.#checkWritable();
    const tail = this.#tail;
    if (tail) {
      this.#tail = null;
      const withFin = fin && bytes.length === 0;
      try {
        await this.#send(tail, withFin, signal);
      } catch (err) {
        if (!this.#writeDone) this.#tail = tail; // not sent (aborted): still ours to send
        throw err;
      }
      if (withFin) return;
    }
    if (fin) return this.#send(bytes, true, signal);
    if (bytes.length === 0) return;
    await this.#send(bytes.subarray(0, bytes.length - 1), false, signal);
    this.#tail = Uint8Array.of(bytes[bytes.length - 1]!);
    this.#tailTimer ??= setTimeout(this.#onTailTimer, TAIL_HOLD_MS).unref();
  }

  /** Sends `bytes` (and FIN) to quiche, waiting for credit; resolves once all were taken. */
  async #send(bytes: Uint8Array, fin: boolean, signal: AbortSignal | undefined): Promise<void> {
    let off = 0;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      try {
        off += this.#host.streamSend(this.id, off === 0 ? bytes : bytes.subarray(off), fin);
      } catch (err) {
        this.#failWrite(err as QuicError);
        throw err;
      }
      if (off === bytes.length) {
        // quiche applies FIN only together with the last byte, so FIN is sent now.
        if (fin) {
          this.#writeDone = true;
          this.#maybeClose();
        }
        return;
      }
      if (this.#host.streamWantWritable(this.id, Math.min(bytes.length - off, WATERMARK))) continue;
      await this.#writeWake.wait(signal);
      if (this.#writeError) throw this.#writeError;
    }
  }

  #onTailTimer = (): void => {
    this.#tailTimer = null;
    this.#releaseTail();
  };

  /** Sends the held byte now, unless a queued write will carry it anyway. */
  #releaseTail(): void {
    if (!this.#tail || this.#writeDone || this.#queuedWrites > 0) return;
    this.#enqueue(() => this.#writeAll(new Uint8Array(0), false, undefined), undefined).catch(
      () => undefined,
    );
  }

  /** @internal The connection is closing gracefully: hand the held byte to quiche right away. */
  flushTail(): void {
    if (!this.#tail || this.#writeDone) return;
    try {
      if (this.#host.streamSend(this.id, this.#tail, false) === 1) this.#tail = null;
    } catch {
      // the stream cannot be written any more; the byte goes with it
    }
  }

  #failRead(err: QuicError): void {
    this.#readError = err;
    this.#readDone = true;
    if (err.code === 'ERR_QUIC_STREAM_RESET') this.emit('reset', err.errorCode ?? 0n);
    this.#readWake.fail(err);
    this.#maybeClose();
  }

  #failWrite(err: QuicError): void {
    if (this.#writeDone && this.#writeError) return;
    this.#writeError = err;
    this.#writeDone = true;
    if (err.code === 'ERR_QUIC_STREAM_STOPPED') this.emit('stopped', err.errorCode ?? 0n);
    this.#writeWake.fail(err);
    this.#maybeClose();
  }

  #maybeClose(): void {
    if (this.#closed || !this.#readDone || !this.#writeDone) return;
    this.#closed = true;
    this.#host.streamDone(this.id);
    this.emit('close');
  }
}
