/** Request/response: 32-byte requests echoed, on one stream or one new stream per request. */
import type { BenchCase, Mode } from './types.js';

export function rrCases(mode: Mode, runs: number): BenchCase[] {
  const count = mode === 'full' ? 10_000 : 300;
  const timeoutMs = mode === 'full' ? 300_000 : 30_000;
  return [false, true].map((newStream) => ({
    id: newStream ? 'rr-new-stream' : 'rr',
    scenario: 'rr',
    title: `rr ×${count}, ${newStream ? 'new stream per request' : 'one stream'}`,
    args: { count, 'new-stream': newStream },
    metrics: [
      { key: 'p50', label: 'p50 µs', better: 'lower', digits: 0 },
      { key: 'p90', label: 'p90 µs', better: 'lower', digits: 0 },
      { key: 'p99', label: 'p99 µs', better: 'lower', digits: 0 },
    ],
    timeoutMs,
    runs,
  }));
}
