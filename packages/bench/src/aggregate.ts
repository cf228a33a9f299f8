/**
 * Medians over runs and ratios of quichex to each anchor.
 *
 * @module
 */
import type { Impl } from './protocol.js';
import type { BenchCase, Cell, RunOutcome } from './scenarios/types.js';

export const ANCHORS = ['matrixai', 'tls', 'dgram', 'native'] as const satisfies readonly Impl[];
export type Anchor = (typeof ANCHORS)[number];

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Aggregates the runs of one impl in one case. */
export function toCell(impl: Impl, c: BenchCase, runs: RunOutcome[]): Cell {
  const ok = runs.filter((r): r is Extract<RunOutcome, { status: 'ok' }> => r.status === 'ok');
  const firstProblem = runs.find((r) => r.status !== 'ok') as { error: string } | undefined;
  if (ok.length === 0) {
    const na = runs.length > 0 && runs.every((r) => r.status === 'n/a');
    return { impl, status: na ? 'n/a' : 'error', runs, median: {}, error: firstProblem?.error ?? 'no run' };
  }
  const med: Record<string, number> = {};
  const keys = new Set([...c.metrics.map((m) => m.key), ...ok.flatMap((r) => Object.keys(r.result))]);
  for (const key of keys) {
    const vals = ok
      .map((r) => r.result[key])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (vals.length > 0) med[key] = median(vals);
  }
  return { impl, status: 'ok', runs, median: med, ...(firstProblem ? { error: firstProblem.error } : {}) };
}

/** quichex ÷ anchor for each metric of the case (`null` where either side has no figure). */
export function ratios(c: BenchCase, cells: Map<Impl, Cell>): Record<Anchor, Record<string, number | null>> {
  const q = cells.get('quichex');
  const out = {} as Record<Anchor, Record<string, number | null>>;
  for (const anchor of ANCHORS) {
    const a = cells.get(anchor);
    out[anchor] = {};
    for (const m of c.metrics) {
      const qv = q?.median[m.key];
      const av = a?.median[m.key];
      out[anchor][m.key] = qv !== undefined && av !== undefined && av !== 0 ? qv / av : null;
    }
  }
  return out;
}
