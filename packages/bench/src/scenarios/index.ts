/** Every benchmark case of a mode, in report order. */
import { bulkCases } from './bulk.js';
import { dgramCases } from './dgram.js';
import { handshakeCases } from './handshake.js';
import { httpCases } from './http.js';
import { idleCases } from './idle.js';
import { mixedCases } from './mixed.js';
import { rrCases } from './rr.js';
import type { BenchCase, Mode } from './types.js';

export function allCases(mode: Mode, runs: number): BenchCase[] {
  return [
    ...bulkCases(mode, runs),
    ...rrCases(mode, runs),
    ...handshakeCases(mode, runs),
    ...idleCases(mode, runs),
    ...dgramCases(mode, runs),
    ...mixedCases(mode, runs),
    ...httpCases(mode, runs),
  ];
}

/** Keeps the cases whose id or scenario is in `names` (all when empty). */
export function filterCases(cases: BenchCase[], names: string[]): BenchCase[] {
  if (names.length === 0) return cases;
  return cases.filter((c) => names.includes(c.id) || names.includes(c.scenario));
}
