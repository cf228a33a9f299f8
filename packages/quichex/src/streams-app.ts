/**
 * The raw stream application: the `Stream` objects of one connection, peer
 * streams accepted in order, local streams opened against the peer's limit.
 *
 * @module
 */
import { debuglog } from 'node:util';
import type { Application } from './application.js';
import type { ConnCore } from './core/conn-core.js';
import type { StreamChunk } from './core/stream-io.js';
import { QuicError } from './errors.js';
import { Stream, type StreamHost } from './stream.js';
import { checkSignal } from './validate.js';
import { Signal } from './waiters.js';

const debug = debuglog('quichex');

/** What the registry tells the connection about its streams. */
export interface StreamHooks {
  /** The peer opened `stream`. */
  accepted(stream: Stream): void;
  /** A stream was opened (either side) or is done. */
  opened(stream: Stream): void;
  done(stream: Stream): void;
  /** Something was queued for quiche: process soon. */
  schedule(): void;
}

/** Streams of one connection, driven through the raw stream API. */
export class StreamRegistry implements Application, StreamHost {
  readonly streamEvents = true;
  readonly #core: ConnCore;
  readonly #hooks: StreamHooks;
  readonly #streams = new Map<number, Stream>();
  readonly #credit = new Signal();
  /** Streams returned writable while nobody writes, with 'stopped' listeners: checked after the events. */
  readonly #idle: Stream[] = [];
  #nextBidi: number;
  #nextUni: number;
  #maxPeerBidi = -1;
  #maxPeerUni = -1;
  /** Peer stream ids below the highest seen whose data has not arrived yet. */
  readonly #skippedPeer = new Set<number>();
  #terminal: QuicError | null = null;

  constructor(core: ConnCore, hooks: StreamHooks) {
    this.#core = core;
    this.#hooks = hooks;
    this.#nextBidi = core.isServer ? 1 : 0;
    this.#nextUni = core.isServer ? 3 : 2;
  }

  /** Streams not finished yet. */
  get size(): number {
    return this.#streams.size;
  }

  /** Opens a local stream, waiting for the peer's credit unless `wait` is false. */
  async open(kind: 'bidi' | 'uni', options: { signal?: AbortSignal; wait?: boolean }): Promise<Stream> {
    const signal = checkSignal(options.signal);
    const wait = options.wait ?? true;
    if (typeof wait !== 'boolean') throw new TypeError('wait must be a boolean');
    for (;;) {
      if (this.#terminal) throw this.#terminal;
      const id = kind === 'bidi' ? this.#nextBidi : this.#nextUni;
      if (this.#core.streams.create(id)) {
        if (kind === 'bidi') this.#nextBidi += 4;
        else this.#nextUni += 4;
        const stream = new Stream(this, id, this.#core.isServer);
        this.#streams.set(id, stream);
        this.#hooks.opened(stream);
        return stream;
      }
      if (!wait) {
        throw new QuicError('ERR_QUIC_STREAM_LIMIT', `the peer allows no more ${kind} streams right now`, {
          streamId: id,
        });
      }
      await this.#credit.wait(signal);
    }
  }

  /** Hands every held-back last byte to quiche (the connection is closing gracefully). */
  flushTails(): void {
    for (const stream of this.#streams.values()) stream.flushTail();
  }

  // -- Application ---------------------------------------------------------------

  onStreamReadable(id: number): void {
    const stream = this.#streams.get(id) ?? this.#acceptRemote(id);
    stream?.onReadable();
  }

  onStreamWritable(id: number): void {
    // quiche reports a peer's STOP_SENDING through this iterator only for a
    // stream still in its writable set, and a stream leaves the set when
    // returned. Idle streams with 'stopped' listeners are re-armed by their
    // check in process(): during the events, they would be returned forever.
    const stream = this.#streams.get(id);
    if (stream?.onWritable()) this.#idle.push(stream);
  }

  process(): void {
    for (const stream of this.#idle.splice(0)) stream.checkStopped();
    if (this.#credit.waiting) this.#credit.notify();
  }

  onClose(error: QuicError): void {
    this.#terminal = error;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) {
      try {
        stream.onConnectionClosed(error);
      } catch (err) {
        debug('a stream close listener threw: %s', err instanceof Error ? err.message : String(err));
      }
    }
    this.#credit.fail(error);
  }

  #acceptRemote(id: number): Stream | undefined {
    const remote = ((id & 1) === 1) !== this.#core.isServer;
    if (!remote) return undefined;
    const uni = (id & 2) !== 0;
    const max = uni ? this.#maxPeerUni : this.#maxPeerBidi;
    if (id <= max) {
      // Ids below the highest seen belong to streams that already finished,
      // unless a higher stream's data overtook theirs (see below).
      if (!this.#skippedPeer.delete(id)) return undefined;
    } else {
      // Opening stream N implicitly opens the lower ones of its type (RFC 9000
      // §3.2): their first data may still be on its way. quiche's stream limit
      // bounds the gap; the guard bounds it against a huge configured limit.
      const first = max < 0 ? id & 3 : max + 4;
      for (let skipped = first, n = 0; skipped < id && n < 65_536; skipped += 4, n++)
        this.#skippedPeer.add(skipped);
      if (uni) this.#maxPeerUni = id;
      else this.#maxPeerBidi = id;
    }
    const stream = new Stream(this, id, this.#core.isServer);
    this.#streams.set(id, stream);
    this.#hooks.opened(stream);
    this.#hooks.accepted(stream);
    return stream;
  }

  // -- StreamHost ------------------------------------------------------------------

  streamRecv(id: number): StreamChunk {
    const chunk = this.#core.streams.recv(id);
    // Reading frees flow-control credit: let quiche send MAX_STREAM_DATA.
    if (chunk.data !== null || chunk.fin) this.#hooks.schedule();
    return chunk;
  }

  streamSend(id: number, data: Uint8Array, fin: boolean): number {
    const n = this.#core.streams.send(id, data, fin);
    if (n > 0 || fin) this.#hooks.schedule();
    return n;
  }

  streamStopped(id: number): QuicError | null {
    return this.#core.streams.stopped(id);
  }

  streamWantWritable(id: number, len: number): boolean {
    return this.#core.streams.wantWritable(id, len);
  }

  streamShutdown(id: number, side: 'read' | 'write', code: bigint): void {
    this.#core.streams.shutdown(id, side, code);
    this.#hooks.schedule();
  }

  streamPriority(id: number, urgency: number, incremental: boolean): void {
    this.#core.streams.priority(id, urgency, incremental);
  }

  streamDone(id: number): void {
    const stream = this.#streams.get(id);
    this.#streams.delete(id);
    if (stream) this.#hooks.done(stream);
  }

  get terminalError(): QuicError | null {
    return this.#terminal;
  }
}
