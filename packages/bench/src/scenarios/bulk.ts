/**
 * Bulk transfer: N bytes over K streams, each with FIN, each answered by 1
 * byte + FIN. `bulk-1-unpaced` is quichex alone with its previous defaults
 * on both sides (`--no-pacing`: cubic, unpaced), to weigh what bbr2 with
 * pacing costs against `bulk-1`.
 */
import { type BenchCase, MiB, type Mode } from './types.js';

const metrics = [
  { key: 'mbps', label: 'MB/s', better: 'higher', digits: 1 },
  { key: 'lost', label: 'packets lost', better: 'lower', digits: 0 },
] as const;

export function bulkCases(mode: Mode, runs: number): BenchCase[] {
  const bytes = mode === 'full' ? 256 * MiB : 8 * MiB;
  // 256 MiB at @matrixai/quic's ~1 MB/s takes minutes.
  const timeoutMs = mode === 'full' ? 900_000 : 45_000;
  const cases: BenchCase[] = [1, 16].map((streams) => ({
    id: `bulk-${streams}`,
    scenario: 'bulk',
    title: `bulk ${bytes / MiB} MiB, ${streams} stream${streams > 1 ? 's' : ''}`,
    args: { bytes, streams },
    metrics: [...metrics],
    timeoutMs,
    runs,
  }));
  // Right after bulk-1, which it is read against.
  cases.splice(1, 0, {
    id: 'bulk-1-unpaced',
    scenario: 'bulk',
    title: `bulk ${bytes / MiB} MiB, 1 stream, cubic unpaced (quichex)`,
    args: { bytes, streams: 1, 'no-pacing': true },
    serverArgs: { 'no-pacing': true },
    metrics: [...metrics],
    timeoutMs,
    runs,
  });
  return cases;
}
