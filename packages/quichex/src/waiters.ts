/**
 * Small async primitives: a one-shot waiter and a bounded-by-design queue
 * behind every async iterator. Every wait takes an AbortSignal.
 *
 * @module
 */
import type { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { abortReason } from './errors.js';

const debug = debuglog('quichex');

/**
 * Waits for a notification, an error, or an abort. Used by code that loops
 * "try, else wait for the next change".
 */
export class Signal {
  #waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];

  /** Resolves on the next {@link Signal.notify}; rejects on {@link Signal.fail} or abort. */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const entry = { resolve, reject };
      this.#waiters.push(entry);
      if (signal) {
        const onAbort = (): void => {
          this.#remove(entry);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.resolve = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        entry.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
    });
  }

  /** Whether anyone is waiting. */
  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /** Wakes every waiter. */
  notify(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const w of waiters) w.resolve();
  }

  /** Rejects every waiter with `err`. */
  fail(err: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(err);
  }

  #remove(entry: { resolve: () => void; reject: (e: unknown) => void }): void {
    const i = this.#waiters.indexOf(entry);
    if (i >= 0) this.#waiters.splice(i, 1);
  }
}

/**
 * A queue of items produced by the engine and consumed by `next()` or an
 * async iterator. It ends normally on {@link AsyncQueue.end} and throws the
 * given error after {@link AsyncQueue.end} with an error. Producers bound
 * its size (stream limits, datagram queue length, accept backlog).
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #head = 0;
  #ended = false;
  #error: unknown = undefined;
  /** Made by the first wait: most queues (a connection has two) are never waited on. */
  #changed: Signal | null = null;

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether the queue has ended (items may remain). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Removes `item` if it is still waiting to be taken; `true` when it was. */
  remove(item: T): boolean {
    const i = this.#items.indexOf(item, this.#head);
    if (i < 0) return false;
    this.#items.splice(i, 1);
    return true;
  }

  /** Adds an item; ignored after the queue ended. */
  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#changed?.notify();
  }

  /** Ends the queue, normally or with an error that consumers will see after the remaining items. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#changed?.notify();
  }

  /** Takes the next item without waiting, or `undefined`. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The next item; `null` once ended and drained; rejects with the end error or abort reason. */
  async next(signal?: AbortSignal): Promise<T | null> {
    for (;;) {
      if (this.size > 0) return this.shift() as T;
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return null;
      }
      this.#changed ??= new Signal();
      await this.#changed.wait(signal);
    }
  }

  /** Iterates until the queue ends. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const item = await this.next();
      if (item === null) return;
      yield item;
    }
  }
}

/**
 * Emits `event` with `args`. Listeners run inside the engine: one that
 * throws must not break the loop or a cleanup, so the error goes to
 * `onThrow` (by default only to the debug log).
 */
export function emitGuarded(
  emitter: EventEmitter,
  event: string,
  args: unknown[] = [],
  onThrow?: (err: unknown) => void,
): void {
  try {
    emitter.emit(event, ...args);
  } catch (err) {
    debug('a %s listener threw: %s', event, err instanceof Error ? err.message : String(err));
    onThrow?.(err);
  }
}
