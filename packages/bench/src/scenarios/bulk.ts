/** Bulk transfer: N bytes over K streams, each with FIN, each answered by 1 byte + FIN. */
import { type BenchCase, MiB, type Mode } from './types.js';

const metrics = [{ key: 'mbps', label: 'MB/s', better: 'higher', digits: 1 }] as const;

export function bulkCases(mode: Mode, runs: number): BenchCase[] {
  const bytes = mode === 'full' ? 256 * MiB : 8 * MiB;
  // 256 MiB at @matrixai/quic's ~1 MB/s takes minutes.
  const timeoutMs = mode === 'full' ? 900_000 : 45_000;
  return [1, 16].map((streams) => ({
    id: `bulk-${streams}`,
    scenario: 'bulk',
    title: `bulk ${bytes / MiB} MiB, ${streams} stream${streams > 1 ? 's' : ''}`,
    args: { bytes, streams },
    metrics: [...metrics],
    timeoutMs,
    runs,
  }));
}
