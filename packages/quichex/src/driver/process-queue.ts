/**
 * The turn scheduler: connections that received packets (or were woken by
 * their application) are processed once each, in one `setImmediate` per turn
 * of the event loop, after the turn's datagrams were read.
 *
 * Connections still in their handshake go first: their next flight is what
 * a new client is waiting for, and it must not queue behind the stream work
 * of established connections. Each connection gets one round per turn
 * whatever its backlog, and one scheduled during the round waits for the
 * next turn, so a busy connection cannot starve the others.
 *
 * @module
 */
import { debuglog } from 'node:util';

const debug = debuglog('quichex');

/** Something processed once per turn when scheduled. */
export interface Schedulable {
  /** Whether it goes ahead of the others (a connection in its handshake). */
  readonly urgent: boolean;
  /** Its round of work. */
  runScheduled(): void;
}

/** One queue per process: every connection of every socket shares the turn. */
class ProcessQueue {
  #urgent: Schedulable[] = [];
  #normal: Schedulable[] = [];
  #armed = false;

  /** Queues `item` for this turn's round; the caller makes sure it is queued once. */
  add(item: Schedulable): void {
    if (item.urgent) this.#urgent.push(item);
    else this.#normal.push(item);
    if (!this.#armed) {
      this.#armed = true;
      setImmediate(this.#run);
    }
  }

  #run = (): void => {
    this.#armed = false;
    const urgent = this.#urgent;
    const normal = this.#normal;
    this.#urgent = [];
    this.#normal = [];
    for (const item of urgent) runOne(item);
    for (const item of normal) runOne(item);
  };
}

function runOne(item: Schedulable): void {
  try {
    item.runScheduled();
  } catch (err) {
    // A connection handles its own errors; this only keeps the round going for the others.
    debug('a scheduled connection threw: %s', err instanceof Error ? err.message : String(err));
  }
}

/** The process-wide queue. */
export const processQueue = new ProcessQueue();
