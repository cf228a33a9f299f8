/**
 * Server side of the `dgram` scenario, shared by the datagram-capable peers:
 * count what arrives, and on the client's "done" answer with the count once
 * the datagrams have stopped coming.
 *
 * @module
 */
import { sleep } from '../lifecycle.js';
import { type DgramResult, round3 } from '../protocol.js';

export interface DgramCounter {
  count(bytes?: number): void;
  readonly received: number;
  readonly bytes: number;
  /** Seconds between the first and the last datagram. */
  readonly seconds: number;
  /** `performance.now()` of the last datagram (0 before any). */
  readonly last: number;
  reset(): void;
}

export function newDgramCounter(): DgramCounter {
  let received = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  return {
    count(n = 0) {
      const now = performance.now();
      if (received === 0) first = now;
      last = now;
      received++;
      bytes += n;
    },
    get received() {
      return received;
    },
    get bytes() {
      return bytes;
    },
    get seconds() {
      return received > 1 ? (last - first) / 1000 : 0;
    },
    get last() {
      return last;
    },
    reset() {
      received = 0;
      bytes = 0;
      first = 0;
      last = 0;
    },
  };
}

/** Waits until no datagram arrived for `quietMs` (at most `maxMs`). */
export async function quiet(counter: DgramCounter, quietMs = 50, maxMs = 2000): Promise<void> {
  const end = performance.now() + maxMs;
  while (performance.now() < end) {
    if (performance.now() - counter.last >= quietMs) return;
    await sleep(10);
  }
}

/** What the server answers to "done". */
export interface CountAnswer {
  received: number;
  bytes: number;
  /** Seconds between the first and the last datagram the server saw. */
  seconds: number;
  /** How long ago the last datagram arrived when the answer left (the quiet wait), in ms. */
  waitedMs: number;
}

/** The answer to "done", once the datagrams have stopped coming. */
export async function answer(counter: DgramCounter): Promise<string> {
  await quiet(counter);
  const waitedMs = counter.received > 0 ? performance.now() - counter.last : 0;
  const a: CountAnswer = {
    received: counter.received,
    bytes: counter.bytes,
    seconds: counter.seconds,
    waitedMs,
  };
  return JSON.stringify(a);
}

/**
 * Client-side duration: from the first send to the answer, less the server's
 * quiet wait, i.e. until the last datagram arrived (the native harness's
 * definition, which stops its clock at the answer to "done").
 */
export function clientSeconds(startMs: number, endMs: number, a: CountAnswer): number {
  return Math.max(1e-6, (endMs - startMs - a.waitedMs) / 1000);
}

/** Reads the request, waits for quiet, then replies with a {@link CountAnswer}. */
export async function countingReply(
  counter: DgramCounter,
  readRequest: () => Promise<unknown>,
  reply: (text: string) => Promise<unknown>,
): Promise<void> {
  await readRequest();
  await reply(await answer(counter));
}

/** The client's result from what it sent and what the server counted. */
export function dgramResult(sent: number, received: number, seconds: number): DgramResult {
  return {
    sent,
    received,
    seconds: round3(seconds),
    perSecond: seconds > 0 ? Math.round(received / seconds) : 0,
    loss: sent > 0 ? round3(1 - received / sent) : 0,
  };
}
