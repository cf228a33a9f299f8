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
 *
 * All traffic is on loopback (127.0.0.1).
 *
 * @module
 */

/** Implementations that have a JS peer in this package. */
export const JS_IMPLS = ['quichex', 'matrixai', 'tls', 'dgram'] as const;
export type JsImpl = (typeof JS_IMPLS)[number];

/** Every implementation the orchestrator knows, the native harness included. */
export const IMPLS = ['quichex', 'matrixai', 'tls', 'dgram', 'native'] as const;
export type Impl = (typeof IMPLS)[number];

export const SCENARIOS = ['bulk', 'rr', 'handshake', 'dgram', 'idle'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Loopback only. */
export const HOST = '127.0.0.1';
/** ALPN of every QUIC peer. */
export const ALPN = 'quichex-bench';
/** Size of one request and of its echo in `rr`. */
export const RR_SIZE = 32;
/** Datagram payload used by raw dgram `bulk`. */
export const DGRAM_BULK_SIZE = 1350;

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
}

export interface BulkResult {
  bytes: number;
  streams: number;
  seconds: number;
  /** Megabytes (10^6 bytes) per second. */
  mbps: number;
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

export type PeerResult = BulkResult | RrResult | HandshakeResult | DgramResult | IdleClientResult;

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
