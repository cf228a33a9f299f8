/**
 * The peer protocol, shared by every peer (the JS ones in this package and
 * the native Rust harness) and by the orchestrator.
 *
 * A peer is `peer <impl> <role> <scenario> [options]`:
 *
 * - **server**: prints `{"ready":true,"port":P,"pid":n,"baselineRssKb":r}` once
 *   listening, then serves until its stdin closes or it gets SIGTERM, then prints
 *   `{"server":{"rssKb","heapKb","connections"}}` and exits 0. A line `stats` on
 *   stdin makes a JS server print `{"stats":{"rssKb","heapKb","connections"}}`
 *   (the only way to see its V8 heap; RSS the orchestrator reads from /proc).
 * - **client**: runs one measurement, prints `{"result":{...}}` and exits 0, or
 *   prints `{"error":"..."}` and exits non-zero. The idle client prints
 *   `{"ready-idle":true,"count":n,"errors":e}` once its connections are up, holds
 *   them until its stdin closes, then prints its result.
 * - **mixed**: the server serves both kinds of stream on one port (see
 *   {@link PROBE_LIMIT}). The uploader client (`--connections K`) prints
 *   `{"uploading":true,"connections":K}` once every connection uploads, then a
 *   `{"mark":{"bytes","seconds"}}` line for each `mark` line on its stdin (bytes
 *   uploaded since the previous mark), and its result once stdin closes. The
 *   probe client (`--probe --count N`) prints `{"probing":true}` before its
 *   first probe, then its result.
 * - **http** (impls `h3`, `http2`, `https`): the server answers `GET /bytes/N`
 *   with N bytes (see {@link bytesPath}); the client either makes `--count` GETs
 *   of `--size` bytes, `--concurrency` at a time, over one warm connection
 *   (`https`: up to `--concurrency` keep-alive connections), after `--warmup`
 *   untimed ones, or (`--download`) one GET of `--bytes` bytes after one small
 *   warm-up GET.
 *
 * All traffic is on loopback (127.0.0.1).
 *
 * @module
 */

/**
 * Implementations that have a JS peer in this package: the transport ones,
 * then the HTTP ones (`h3` is `@quichex/h3`, `http2` is `node:http2` over
 * TLS, `https` is `node:https`, HTTP/1.1).
 */
export const JS_IMPLS = ['quichex', 'matrixai', 'tls', 'dgram', 'h3', 'http2', 'https'] as const;
export type JsImpl = (typeof JS_IMPLS)[number];

/** Every implementation the orchestrator knows, the native harness included. */
export const IMPLS = ['quichex', 'matrixai', 'tls', 'dgram', 'native', 'h3', 'http2', 'https'] as const;
export type Impl = (typeof IMPLS)[number];

/** Scenarios; `http` (GETs and a download) is the HTTP implementations' only one. */
export const SCENARIOS = ['bulk', 'rr', 'handshake', 'dgram', 'idle', 'mixed', 'http'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Loopback only. */
export const HOST = '127.0.0.1';
/** ALPN of every QUIC peer. */
export const ALPN = 'quichex-bench';
/** Size of one request and of its echo in `rr`. */
export const RR_SIZE = 32;
/** Datagram payload used by raw dgram `bulk`. */
export const DGRAM_BULK_SIZE = 1350;
/** Size of one probe of `mixed`, and of its echo. */
export const PROBE_SIZE = 32;
/**
 * The `mixed` server's one rule, the same for every impl: a stream (for TLS, a
 * connection) whose data ends (FIN) within this many bytes is echoed back with
 * FIN; a longer one is discarded as it arrives, and its FIN (if it ever comes)
 * is answered by one byte and FIN, as in `bulk`.
 */
export const PROBE_LIMIT = 64;
/** Body size of one small GET of the http cases. */
export const GET_SIZE = 100;
/** Largest body the http servers agree to send (`GET /bytes/N`). */
export const MAX_HTTP_BYTES = 2 ** 40;

/** The path that asks an http server for `n` bytes. */
export function bytesPath(n: number): string {
  return `/bytes/${n}`;
}

/** The byte count a path asks for (`/bytes/N`, a query string allowed), or `null` for any other path. */
export function requestedBytes(path: string): number | null {
  const m = /^\/bytes\/(\d{1,15})(?:\?.*)?$/.exec(path);
  if (!m) return null;
  const n = Number(m[1]);
  return n <= MAX_HTTP_BYTES ? n : null;
}

/** Upper bound on one uploader's lifetime, in case the orchestrator vanishes. */
export const UPLOAD_MAX_MS = 15 * 60_000;

export interface PeerOptions {
  port: number;
  bytes: number;
  streams: number;
  count: number;
  concurrency: number;
  newStream: boolean;
  size: number;
  cert: string | undefined;
  key: string | undefined;
  /** Local address for every client socket (idle with more connections than ephemeral ports). */
  localAddress: string | undefined;
  /** Client and server: `Config` options `pacing: false, ccAlgorithm: 'cubic'` (quichex only; `--no-pacing`). */
  noPacing: boolean;
  /** mixed uploader: connections, one stream each, uploading until stdin closes. */
  connections: number;
  /** mixed: this client is the prober (`--probe`) rather than the uploader. */
  probe: boolean;
  /** mixed prober: milliseconds from one probe's start to the next (a late probe starts the next at once). */
  interval: number;
  /** mixed prober: bound on one probe (ms); past it the probe is a failure and its connection destroyed. */
  probeTimeout: number;
  /** http client: requests made before the clock starts, at the same concurrency (`--warmup`). */
  warmup: number;
  /** http client: one GET of `bytes` bytes (`--download`) instead of `count` GETs of `size` bytes. */
  download: boolean;
}

export interface BulkResult {
  bytes: number;
  streams: number;
  seconds: number;
  /** Megabytes (10^6 bytes) per second. */
  mbps: number;
  /** Packets the sender declared lost (its connection statistics), where the impl tells. */
  lost?: number;
  /** Raw dgram only: bytes the client sent (the others deliver every byte). */
  sentBytes?: number;
  loss?: number;
}

export interface RrResult {
  count: number;
  /** Microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface HandshakeResult {
  count: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  errors?: number;
}

export interface DgramResult {
  sent: number;
  received: number;
  seconds: number;
  perSecond: number;
  loss: number;
}

export interface IdleClientResult {
  count: number;
  errors: number;
  /** Time to establish every connection. */
  seconds: number;
}

/** What the mixed prober reports: connect-to-echo latencies of the probes that finished. */
export interface ProbeResult {
  /** Probes attempted. */
  probes: number;
  /** Probes that finished in time (the latencies are theirs). */
  count: number;
  /** Milliseconds, connect() started to the 32-byte echo received. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Probes that failed or ran past `--probe-timeout`. */
  failures: number;
  firstFailure?: string;
}

/** What the mixed uploader reports once released. */
export interface UploadResult {
  connections: number;
  /** Bytes uploaded over its whole life. */
  bytes: number;
  seconds: number;
  /** Packets declared lost, summed over the connections, where the impl tells. */
  lost?: number;
}

/** One `mark` line of the mixed uploader: bytes uploaded since the previous mark (or since uploading began). */
export interface UploadMark {
  bytes: number;
  seconds: number;
}

/** What an http client reports for its GETs (the warm-up requests excluded). */
export interface GetResult {
  /** Requests timed. */
  count: number;
  /** Requests in flight at once. */
  concurrency: number;
  seconds: number;
  /** Requests per second: `count` ÷ `seconds`. */
  perSecond: number;
  /** Microseconds, request started to the last byte of its body. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Connections the client used (TCP or QUIC). */
  connections: number;
}

export type PeerResult =
  | BulkResult
  | GetResult
  | RrResult
  | HandshakeResult
  | DgramResult
  | IdleClientResult
  | ProbeResult
  | UploadResult;

export interface MemoryStats {
  rssKb: number;
  heapKb: number;
  connections: number;
}

/** One protocol line, as any peer may print it. */
export interface PeerLine {
  ready?: boolean;
  port?: number;
  pid?: number;
  baselineRssKb?: number;
  server?: Partial<MemoryStats>;
  stats?: Partial<MemoryStats>;
  result?: Record<string, unknown>;
  error?: string;
  'ready-idle'?: boolean;
  uploading?: boolean;
  probing?: boolean;
  mark?: UploadMark;
  count?: number;
  errors?: number;
  firstError?: string;
}

/** Parses one output line; `null` for anything that is not a JSON object. */
export function parseLine(line: string): PeerLine | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as PeerLine) : null;
  } catch {
    return null;
  }
}

/** Percentile (nearest rank) of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/** Summarises latency samples in microseconds. */
export function latencySummary(samplesUs: number[]): RrResult {
  const s = [...samplesUs].sort((a, b) => a - b);
  const r = (v: number): number => Math.round(v * 10) / 10;
  return {
    count: s.length,
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1] ?? Number.NaN),
  };
}

/** Summarises probe latencies (milliseconds, two decimals) and failures. */
export function probeResult(
  samplesMs: number[],
  probes: number,
  failures: number,
  firstFailure?: string,
): ProbeResult {
  const s = [...samplesMs].sort((a, b) => a - b);
  const r = (v: number): number => Math.round(v * 100) / 100;
  return {
    probes,
    count: s.length,
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1] ?? Number.NaN),
    failures,
    ...(firstFailure === undefined ? {} : { firstFailure }),
  };
}

/**
 * Builds a GET result from per-request latencies (µs), the wall time of the
 * timed requests (ms) and the connections the client used.
 */
export function getResult(
  samplesUs: number[],
  concurrency: number,
  ms: number,
  connections: number,
): GetResult {
  const { count, p50, p90, p99, max } = latencySummary(samplesUs);
  const seconds = ms / 1000;
  return {
    count,
    concurrency,
    seconds: round3(seconds),
    perSecond: seconds > 0 ? Math.round(count / seconds) : Number.NaN,
    p50,
    p90,
    p99,
    max,
    connections,
  };
}

/** Builds a bulk result from bytes and elapsed milliseconds. */
export function bulkResult(bytes: number, streams: number, ms: number): BulkResult {
  const seconds = ms / 1000;
  return { bytes, streams, seconds: round3(seconds), mbps: round3(bytes / 1e6 / seconds) };
}

/** Builds a handshake result. */
export function handshakeResult(count: number, concurrency: number, ms: number, errors = 0): HandshakeResult {
  const seconds = ms / 1000;
  return { count, concurrency, seconds: round3(seconds), perSecond: round3(count / seconds), errors };
}

export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
