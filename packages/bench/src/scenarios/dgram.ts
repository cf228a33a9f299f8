/** Datagrams: C datagrams of B bytes as fast as allowed; rate and loss as the server counted them. */
import type { BenchCase, Mode } from './types.js';

export const DGRAM_SIZE = 1200;

export function dgramCases(mode: Mode, runs: number): BenchCase[] {
  const count = mode === 'full' ? 100_000 : 2000;
  return [
    {
      id: 'dgram',
      scenario: 'dgram',
      title: `datagrams ×${count}, ${DGRAM_SIZE} B`,
      args: { count, size: DGRAM_SIZE },
      metrics: [
        { key: 'perSecond', label: 'per s', better: 'higher', digits: 0 },
        { key: 'loss', label: 'loss', better: 'lower', digits: 3 },
      ],
      timeoutMs: mode === 'full' ? 180_000 : 30_000,
      runs,
    },
  ];
}
