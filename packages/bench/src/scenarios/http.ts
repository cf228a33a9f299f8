/**
 * HTTP: `@quichex/h3` (`serve()` + `fetch()` with an `Agent`) against
 * `node:http2` over TLS and `node:https` (HTTP/1.1, keep-alive), each as its
 * own server and client processes.
 *
 * - `h3-get-1`, `h3-get-32`: small GETs (100-byte bodies), 1 or 32 in
 *   flight, over one warm connection (HTTP/1.1 cannot multiplex: its agent
 *   may open up to 32 keep-alive connections, and the `connections` row
 *   shows how many it used); requests/s and latency from the request to the
 *   last byte of its body.
 * - `h3-bulk`: one large GET download on a warm connection, MB/s.
 *
 * @module
 */
import { GET_SIZE } from '../protocol.js';
import { type BenchCase, type Metric, MiB, type Mode } from './types.js';

const getMetrics: Metric[] = [
  { key: 'perSecond', label: 'requests/s', better: 'higher', digits: 0 },
  { key: 'p50', label: 'p50 µs', better: 'lower', digits: 0 },
  { key: 'p99', label: 'p99 µs', better: 'lower', digits: 0 },
  { key: 'connections', label: 'connections', better: 'lower', digits: 0, compare: false },
];

/** The HTTP cases of a mode: small GETs 1 and 32 at a time, then one download. */
export function httpCases(mode: Mode, runs: number): BenchCase[] {
  const full = mode === 'full';
  const gets = (concurrency: number, count: number, warmup: number): BenchCase => ({
    id: `h3-get-${concurrency}`,
    scenario: 'http',
    title: `HTTP GET ×${count}, ${GET_SIZE} B, ${concurrency} in flight`,
    args: { count, concurrency, size: GET_SIZE, warmup },
    metrics: [...getMetrics],
    timeoutMs: full ? 300_000 : 30_000,
    runs,
  });
  const bytes = full ? 256 * MiB : 16 * MiB;
  return [
    full ? gets(1, 10_000, 500) : gets(1, 300, 50),
    full ? gets(32, 50_000, 2000) : gets(32, 2000, 200),
    {
      id: 'h3-bulk',
      scenario: 'http',
      title: `HTTP GET download ${bytes / MiB} MiB`,
      args: { bytes, download: true },
      metrics: [{ key: 'mbps', label: 'MB/s', better: 'higher', digits: 1 }],
      timeoutMs: full ? 300_000 : 30_000,
      runs,
    },
  ];
}
