/** Handshakes: connect, wait until established, close; one socket per connection. */
import type { BenchCase, Mode } from './types.js';

export function handshakeCases(mode: Mode, runs: number): BenchCase[] {
  const count = mode === 'full' ? 500 : 20;
  const concurrent = mode === 'full' ? 50 : 10;
  const timeoutMs = mode === 'full' ? 180_000 : 30_000;
  return [1, concurrent].map((concurrency) => ({
    id: concurrency === 1 ? 'handshake-seq' : 'handshake-conc',
    scenario: 'handshake',
    title:
      concurrency === 1
        ? `handshakes ×${count}, sequential`
        : `handshakes ×${count}, ${concurrency} at a time`,
    args: { count, concurrency },
    metrics: [{ key: 'perSecond', label: 'per s', better: 'higher', digits: 0 }],
    timeoutMs,
    runs,
  }));
}
