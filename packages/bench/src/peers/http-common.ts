/**
 * What the three HTTP peers (`h3`, `http2`, `https`) share: the client's
 * measurement loops, the same for every implementation, and the bodies the
 * servers send.
 *
 * @module
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { errorText, type Peer, type ServerHandle, withTimeout } from '../lifecycle.js';
import {
  type BulkResult,
  bulkResult,
  bytesPath,
  GET_SIZE,
  type GetResult,
  getResult,
  type PeerOptions,
  type Scenario,
} from '../protocol.js';

/** Bytes per write of a large response body. */
export const BODY_CHUNK = 64 * 1024;

/** Bound on one small GET; a download has the case's timeout. */
const GET_TIMEOUT_MS = 10_000;

/** One implementation's client, as the loops below drive it. */
export interface HttpClient {
  /** GETs `path` and resolves with the length of the body once it has all arrived. */
  get(path: string): Promise<number>;
  /** Connections opened so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A reusable chunk of response body. */
export const bodyChunk: Buffer = Buffer.alloc(BODY_CHUNK, 0x68);

/** The body of a response of `n` ≤ {@link BODY_CHUNK} bytes (a view, shared, never to be written). */
export function smallBody(n: number): Buffer {
  return bodyChunk.subarray(0, n);
}

/** Lengths of the writes of an `n`-byte body: {@link BODY_CHUNK} each, the last one shorter. */
export function* chunkLengths(n: number): Generator<number> {
  for (let left = n; left > 0; left -= BODY_CHUNK) yield Math.min(left, BODY_CHUNK);
}

/** What {@link closedLoop} measured. */
export interface LoopTimes {
  /** Latency of each task, microseconds, in completion order. */
  samplesUs: number[];
  /** Wall time of the whole loop. */
  ms: number;
}

/**
 * Runs `task` `count` times with exactly `concurrency` in flight (fewer
 * only at the end): a closed loop, where each finished task starts the
 * next. Rejects with the first task's error.
 */
export async function closedLoop(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<LoopTimes> {
  const samplesUs: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      await task(i);
      samplesUs.push((performance.now() - t) * 1000);
    }
  });
  await Promise.all(lanes);
  return { samplesUs, ms: performance.now() - t0 };
}

/** One GET of `path` whose body must be `size` bytes. */
async function expectGet(client: HttpClient, path: string, size: number, timeoutMs: number): Promise<void> {
  const got = await withTimeout(client.get(path), timeoutMs, `GET ${path}`);
  if (got !== size) throw new Error(`GET ${path}: expected ${size} bytes, got ${got}`);
}

/**
 * Small GETs: `warmup` untimed, then `count` timed, both `concurrency` at a
 * time (the warm-up opens every connection the client will use).
 */
export async function runGets(client: HttpClient, opts: PeerOptions): Promise<GetResult> {
  const size = opts.size > 0 ? opts.size : GET_SIZE;
  const path = bytesPath(size);
  const get = (): Promise<void> => expectGet(client, path, size, GET_TIMEOUT_MS);
  await closedLoop(Math.max(opts.warmup, 1), opts.concurrency, get);
  const { samplesUs, ms } = await closedLoop(opts.count, opts.concurrency, get);
  return getResult(samplesUs, opts.concurrency, ms, client.connections());
}

/** One download of `bytes` bytes, after one small GET that warms the connection. */
export async function runDownload(client: HttpClient, opts: PeerOptions): Promise<BulkResult> {
  await expectGet(client, bytesPath(GET_SIZE), GET_SIZE, GET_TIMEOUT_MS);
  const t0 = performance.now();
  await expectGet(client, bytesPath(opts.bytes), opts.bytes, 30 * 60_000);
  return bulkResult(opts.bytes, 1, performance.now() - t0);
}

/** The http scenario's client: GETs or one download, then the client closed (bounded). */
export async function httpClientRun(client: HttpClient, opts: PeerOptions): Promise<GetResult | BulkResult> {
  try {
    return opts.download ? await runDownload(client, opts) : await runGets(client, opts);
  } finally {
    await withTimeout(client.close(), 5000, 'close').catch((err: unknown) => {
      process.stderr.write(`http client close: ${errorText(err)}\n`);
    });
  }
}

/** The `http` scenario's peer `name`: `server`, and a client driven by {@link httpClientRun}. */
export function httpPeer(
  name: string,
  server: (opts: PeerOptions) => Promise<ServerHandle>,
  client: (opts: PeerOptions) => HttpClient | Promise<HttpClient>,
): Peer {
  const only = (scenario: Scenario): void => {
    if (scenario !== 'http') throw new Error(`${name}: ${scenario} is not supported`);
  };
  return {
    async server(scenario, opts) {
      only(scenario);
      return server(opts);
    },
    async client(scenario, opts) {
      only(scenario);
      return httpClientRun(await client(opts), opts);
    },
  };
}

/** The server's certificate and key (--cert, --key). */
export function serverKeys(opts: PeerOptions): { cert: Buffer; key: Buffer } {
  if (!opts.cert || !opts.key) throw new Error('the server needs --cert and --key');
  return { cert: readFileSync(opts.cert), key: readFileSync(opts.key) };
}

/** A response stream of node:http or node:http2. */
interface BodyStream extends NodeJS.EventEmitter {
  readonly destroyed: boolean;
  write(chunk: Buffer): boolean;
  end(): void;
}

/** Writes an `n`-byte body in {@link BODY_CHUNK} writes, waiting for `drain` when told to. */
export async function writeBody(out: BodyStream, n: number): Promise<void> {
  for (const len of chunkLengths(n)) {
    if (out.destroyed) return;
    if (!out.write(bodyChunk.subarray(0, len))) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  }
  out.end();
}

/**
 * The handle of a TCP server once it listens: `live` holds its open sessions or sockets,
 * destroyed on close.
 */
export async function tcpServerHandle(
  srv: Server,
  port: number,
  live: Set<{ destroy(): void }>,
): Promise<ServerHandle> {
  await once(srv, 'listening');
  const addr = srv.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : port,
    connections: () => live.size,
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}
