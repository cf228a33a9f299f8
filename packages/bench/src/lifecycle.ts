/**
 * What every JS peer shares: printing protocol lines, memory figures, the
 * server's lifetime (stdin + SIGTERM), the idle client's hold, and bounded
 * concurrency helpers.
 *
 * @module
 */
import { createInterface } from 'node:readline';
import type { MemoryStats, PeerOptions, PeerResult, Scenario } from './protocol.js';

/** A running server. */
export interface ServerHandle {
  port: number;
  /** Live connections (or sockets, for TCP). */
  connections(): number;
  close(): Promise<void>;
}

/** Hooks a client may need from the peer runner. */
export interface ClientHooks {
  /** Idle: announce the connections are up and wait until the orchestrator releases them. */
  holdIdle(count: number, errors: number, firstError?: unknown): Promise<void>;
}

/** One implementation's peer: a server and a client for each scenario it supports. */
export interface Peer {
  server(scenario: Scenario, opts: PeerOptions): Promise<ServerHandle>;
  client(scenario: Scenario, opts: PeerOptions, hooks: ClientHooks): Promise<PeerResult>;
}

/** Prints one protocol line on stdout. */
export function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** This process's memory, in KiB. */
export function memory(connections: number): MemoryStats {
  const m = process.memoryUsage();
  return { rssKb: Math.round(m.rss / 1024), heapKb: Math.round(m.heapUsed / 1024), connections };
}

/** Runs the GC when exposed (--expose-gc), so heap figures are live data rather than garbage. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') gc();
}

/**
 * Serves until stdin closes or SIGTERM/SIGINT; answers `stats` lines; prints
 * the final `server` line. The returned promise resolves when it is done.
 */
export async function serveUntilDone(server: ServerHandle): Promise<void> {
  collectGarbage();
  emit({ ready: true, port: server.port, pid: process.pid, baselineRssKb: memory(0).rssKb });
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      rl.close();
      resolve();
    };
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === 'stats') {
        collectGarbage();
        emit({ stats: memory(server.connections()) });
      }
    });
    rl.on('close', finish);
    process.once('SIGTERM', finish);
    process.once('SIGINT', finish);
  });
  collectGarbage();
  const final = memory(server.connections());
  // Bounded: a server that cannot close in time still reports and exits.
  await Promise.race([server.close().catch(() => undefined), sleep(3000)]);
  emit({ server: final });
}

/** Prints `ready-idle` and waits (bounded by `maxMs`) for stdin to close. */
export function holdIdle(
  count: number,
  errors: number,
  firstError?: unknown,
  maxMs = 30 * 60_000,
): Promise<void> {
  emit({
    'ready-idle': true,
    count,
    errors,
    ...(firstError === undefined ? {} : { firstError: errorText(firstError) }),
  });
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    const rl = createInterface({ input: process.stdin });
    rl.on('line', () => undefined);
    rl.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what timed out` after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(workers);
}

/** What {@link openMany} opened, and what failed. */
export interface Opened<T> {
  items: T[];
  errors: number;
  firstError: unknown;
  seconds: number;
}

/**
 * Opens `count` connections with `open` (`concurrency` at a time, 100 by
 * default), counting failures instead of stopping at the first one: the
 * idle scenario of every implementation.
 */
export async function openMany<T>(
  count: number,
  concurrency: number,
  open: () => Promise<T>,
): Promise<Opened<T>> {
  const items: T[] = [];
  let errors = 0;
  let firstError: unknown;
  const t0 = performance.now();
  await pool(count, concurrency > 1 ? concurrency : 100, async () => {
    try {
      items.push(await open());
    } catch (err) {
      errors++;
      firstError ??= err;
    }
  });
  return { items, errors, firstError, seconds: Math.round(performance.now() - t0) / 1000 };
}

/** Splits `total` into `parts` near-equal integers. */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

/** A reusable payload buffer. */
export function payload(size: number, fill = 0x61): Buffer {
  return Buffer.alloc(size, fill);
}

/** Message text of anything thrown. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}${cause}`;
  }
  return String(err);
}
