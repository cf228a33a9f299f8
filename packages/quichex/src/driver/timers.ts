/**
 * One timer heap for every connection of the process: a single Node timer
 * armed for the earliest deadline, instead of one timer per connection that
 * would be re-armed after every packet.
 *
 * @module
 */

/** Something that owns one deadline in the heap. */
export interface TimerOwner {
  /** Called once the owner's deadline has passed. */
  onTimer(): void;
}

interface Entry {
  deadline: number;
  owner: TimerOwner;
  index: number;
}

/** A binary min-heap of deadlines (milliseconds of `performance.now()`). */
export class TimerHeap {
  readonly #heap: Entry[] = [];
  readonly #entries = new Map<TimerOwner, Entry>();
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  /** Number of armed deadlines. */
  get size(): number {
    return this.#heap.length;
  }

  /** Arms (or moves) `owner`'s deadline. */
  set(owner: TimerOwner, deadline: number): void {
    const entry = this.#entries.get(owner);
    if (entry) {
      const old = entry.deadline;
      entry.deadline = deadline;
      if (deadline < old) this.#up(entry.index);
      else this.#down(entry.index);
    } else {
      const e: Entry = { deadline, owner, index: this.#heap.length };
      this.#heap.push(e);
      this.#entries.set(owner, e);
      this.#up(e.index);
    }
    this.#arm();
  }

  /** Disarms `owner`'s deadline, if any. */
  clear(owner: TimerOwner): void {
    const entry = this.#entries.get(owner);
    if (!entry) return;
    this.#entries.delete(owner);
    const last = this.#heap.pop() as Entry;
    if (entry !== last) {
      this.#heap[entry.index] = last;
      last.index = entry.index;
      this.#up(last.index);
      this.#down(last.index);
    }
    this.#arm();
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    // Owners re-arm from onTimer(); take each due entry out first.
    for (let guard = this.#heap.length; guard > 0 && this.#heap.length > 0; guard--) {
      const top = this.#heap[0] as Entry;
      if (top.deadline > now) break;
      this.clear(top.owner);
      top.owner.onTimer();
    }
    this.#arm();
  };

  #arm(): void {
    const top = this.#heap[0];
    if (!top) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#timer && top.deadline >= this.#armedFor) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#armedFor = top.deadline;
    const delay = Math.max(0, Math.ceil(top.deadline - performance.now()));
    // Never keeps the process alive by itself: every connection has a socket that does.
    this.#timer = setTimeout(this.#fire, delay).unref();
  }

  #up(i: number): void {
    const heap = this.#heap;
    const e = heap[i] as Entry;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Entry;
      if (parent.deadline <= e.deadline) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = e;
    e.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const e = heap[i] as Entry;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (heap[r] as Entry).deadline < (heap[l] as Entry).deadline ? r : l;
      const child = heap[c] as Entry;
      if (child.deadline >= e.deadline) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = e;
    e.index = i;
  }
}

/** The process-wide heap. */
export const timers = new TimerHeap();
