/**
 * Medians over runs and ratios of each case's subject (quichex, or
 * `@quichex/h3` for the HTTP cases) to each anchor of its family.
 *
 * @module
 */
import { familyOf } from './families.js';
import type { Impl } from './protocol.js';
import type { BenchCase, Cell, RunOutcome } from './scenarios/types.js';

/** The transport cases' anchors (quichex is their subject). */
export const ANCHORS = ['matrixai', 'tls', 'dgram', 'native'] as const satisfies readonly Impl[];
/** Every implementation a case's subject is compared with, in any family. */
export type Anchor = (typeof ANCHORS)[number] | 'http2' | 'https';

/** Ratios of one case: anchor → metric → subject ÷ anchor (`null` where either side has no figure). */
export type Ratios = Partial<Record<Anchor, Record<string, number | null>>>;

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

/**
 * Subject ÷ anchor for each metric of the case and each anchor of its family
 * (`null` where either side has no figure; metrics with `compare: false` are
 * left out).
 */
export function ratios(c: BenchCase, cells: Map<Impl, Cell>): Ratios {
  const family = familyOf(c.scenario);
  const q = cells.get(family.subject);
  const out: Ratios = {};
  for (const anchor of family.anchors as readonly Anchor[]) {
    const a = cells.get(anchor);
    const row: Record<string, number | null> = {};
    for (const m of c.metrics) {
      if (m.compare === false) continue;
      const qv = q?.median[m.key];
      const av = a?.median[m.key];
      row[m.key] = qv !== undefined && av !== undefined && av !== 0 ? qv / av : null;
    }
    out[anchor] = row;
  }
  return out;
}
