/**
 * Stream I/O on a {@link ConnCore}: reads, writes, shutdowns, priorities and
 * local stream creation, with quiche's return codes turned into QuicErrors.
 *
 * It also carries the one workaround for quiche 0.30's lone FIN
 * (cloudflare/quiche#2525): a FIN that carries no data, queued while the
 * stream's data is in flight, is lost when the ACK for that data is processed
 * before the FIN leaves. Such FINs wait here and are queued by
 * {@link StreamIO.queuePendingFins} right before the next send, after ACKs
 * were processed, with the stream made most urgent.
 *
 * @module
 */
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import { QuicError, quicheError } from '../errors.js';
import type { ConnCore } from './conn-core.js';
import * as s from './scratch.js';

const debug = debuglog('quichex');
const { QuicheError: E } = q;
const NO_DATA = null as unknown as Uint8Array;

/** What one read from a stream gave. */
export interface StreamChunk {
  /** Bytes read, or `null` when none were buffered. */
  readonly data: Uint8Array | null;
  /** Whether the peer's data ended with this read. */
  readonly fin: boolean;
}

const NOTHING: StreamChunk = { data: null, fin: false };

/** Stream operations of one connection. */
export class StreamIO {
  readonly #core: ConnCore;
  readonly #pendingFins = new Set<number>();

  /** @internal Made by its core. */
  constructor(core: ConnCore) {
    this.#core = core;
  }

  /** Whether lone FINs wait for {@link StreamIO.queuePendingFins}. */
  get hasPendingFins(): boolean {
    return this.#pendingFins.size > 0;
  }

  /**
   * Creates local stream `id` now, counting it against the peer's limit.
   * Returns `false` when the peer allows no more streams of its kind.
   */
  create(id: number): boolean {
    // Setting a priority makes quiche create the stream before any data is written.
    const rc = q.quiche_conn_stream_priority(this.#core.live(), id, 127, true);
    if (rc === 0) return true;
    if (rc === E.QUICHE_ERR_STREAM_LIMIT) return false;
    throw quicheError(rc, 'openStream', { streamId: id });
  }

  /** Reads what quiche holds for stream `id`. Throws `ERR_QUIC_STREAM_RESET` with the peer's code. */
  recv(id: number): StreamChunk {
    const conn = this.#core.live();
    s.finOut[0] = 0;
    const n = q.quiche_conn_stream_recv(conn, id, s.recvBuf, s.recvBuf.length, s.finOut, s.u64Out);
    if (n === E.QUICHE_ERR_DONE) return NOTHING;
    if (n < 0) {
      if (n === E.QUICHE_ERR_STREAM_RESET) {
        const code = s.u64Out[0]!;
        throw new QuicError('ERR_QUIC_STREAM_RESET', `stream ${id} was reset by the peer with code ${code}`, {
          errorCode: code,
          type: 'application',
          remote: true,
          streamId: id,
        });
      }
      throw quicheError(n, `reading stream ${id}`, { streamId: id });
    }
    return { data: n > 0 ? Uint8Array.prototype.slice.call(s.recvBuf, 0, n) : null, fin: s.finOut[0] === 1 };
  }

  /**
   * Writes as much of `data` as quiche takes (and FIN with the last byte);
   * returns the count. Throws `ERR_QUIC_STREAM_STOPPED` with the peer's code.
   */
  send(id: number, data: Uint8Array, fin: boolean): number {
    const conn = this.#core.live();
    if (fin && data.length === 0) {
      this.#pendingFins.add(id);
      return 0;
    }
    const n = q.quiche_conn_stream_send(conn, id, data.length ? data : NO_DATA, data.length, fin, s.u64Out);
    if (n === E.QUICHE_ERR_DONE) return 0;
    if (n < 0) {
      if (n === E.QUICHE_ERR_STREAM_STOPPED) {
        const code = s.u64Out[0]!;
        throw new QuicError(
          'ERR_QUIC_STREAM_STOPPED',
          `stream ${id} was stopped by the peer with code ${code}`,
          {
            errorCode: code,
            type: 'application',
            remote: true,
            streamId: id,
          },
        );
      }
      throw quicheError(n, `writing stream ${id}`, { streamId: id });
    }
    return n;
  }

  /**
   * The peer's STOP_SENDING for stream `id` as an error, or `null`. Only a
   * send reports the code, and a zero-length one keeps the stream in quiche's
   * writable set; `quiche_conn_stream_capacity` would free a stopped stream
   * whose receiving side is finished, and the code with it.
   */
  stopped(id: number): QuicError | null {
    if (this.#core.isClosed) return null;
    try {
      this.send(id, new Uint8Array(0), false);
    } catch (err) {
      return err as QuicError;
    }
    return null;
  }

  /** Asks quiche to report stream `id` writable once `len` bytes fit; `true` when they already do. */
  wantWritable(id: number, len: number): boolean {
    const rc = q.quiche_conn_stream_writable(this.#core.live(), id, len);
    // STOP_SENDING is reported, with its code, by the next write attempt. Any
    // other error means quiche no longer has the stream: a write would take 0
    // bytes, and the writer would spin.
    if (rc < 0 && rc !== E.QUICHE_ERR_STREAM_STOPPED) {
      throw quicheError(rc, `writing stream ${id}`, { streamId: id });
    }
    return rc !== 0;
  }

  /** Shuts one side of stream `id` down with an application error code (RESET_STREAM or STOP_SENDING). */
  shutdown(id: number, side: 'read' | 'write', code: bigint): void {
    const conn = this.#core.handle;
    if (conn === null) return;
    // A reset stream sends no FIN of ours after its RESET_STREAM.
    if (side === 'write') this.#pendingFins.delete(id);
    const dir =
      side === 'read' ? q.QuicheShutdown.QUICHE_SHUTDOWN_READ : q.QuicheShutdown.QUICHE_SHUTDOWN_WRITE;
    const rc = q.quiche_conn_stream_shutdown(conn, id, dir, code);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE) debug('shutdown stream %d: %d', id, rc);
  }

  /** Sets stream `id`'s urgency (0..7) and incremental flag. */
  priority(id: number, urgency: number, incremental: boolean): void {
    const rc = q.quiche_conn_stream_priority(this.#core.live(), id, urgency, incremental);
    if (rc < 0 && rc !== E.QUICHE_ERR_DONE)
      throw quicheError(rc, `setPriority on stream ${id}`, { streamId: id });
  }

  /** Queues the waiting lone FINs (call after received ACKs were processed, right before sending). */
  queuePendingFins(): void {
    const conn = this.#core.handle;
    if (conn === null) return;
    for (const id of this.#pendingFins) {
      q.quiche_conn_stream_priority(conn, id, 0, false);
      const rc = q.quiche_conn_stream_send(conn, id, NO_DATA, 0, true, s.u64Out);
      if (rc < 0 && rc !== E.QUICHE_ERR_DONE) debug('FIN on stream %d: %s', id, q.quicheErrorName(rc) ?? rc);
    }
    this.#pendingFins.clear();
  }
}
