/**
 * What a benchmark case is: a scenario with sizes for one mode, the metrics
 * shown for it, and how long a run may take.
 *
 * @module
 */
import type { Impl, Scenario } from '../protocol.js';

export type Mode = 'quick' | 'full';

/** One figure of a result, as the table shows it. */
export interface Metric {
  /** Field of the result object. */
  key: string;
  /** Column label, with its unit. */
  label: string;
  better: 'higher' | 'lower';
  /** Decimal places in the table. */
  digits: number;
  /** `false`: a figure shown for context, never compared (no ratio). */
  compare?: boolean;
}

/** One row group of the report: a scenario at fixed sizes. */
export interface BenchCase {
  /** Stable id, e.g. `bulk-1`, `idle-10k`. */
  id: string;
  scenario: Scenario;
  title: string;
  /** Client flags (without --port); for `mixed`, the phases' sizes (see scenarios/mixed.ts). */
  args: Record<string, number | boolean>;
  /** Server flags (without --port), when the case needs any. */
  serverArgs?: Record<string, number | boolean>;
  metrics: Metric[];
  /** Bound on one run (server start to client result). */
  timeoutMs: number;
  /** Runs of this case (medians are taken over them). */
  runs: number;
}

/** What one run of one impl produced. */
export type RunOutcome =
  | { status: 'ok'; result: Record<string, unknown>; server?: Record<string, unknown> }
  | { status: 'error'; error: string }
  | { status: 'n/a'; error: string };

/** The aggregated cell of one impl in one case. */
export interface Cell {
  impl: Impl;
  status: 'ok' | 'error' | 'n/a';
  runs: RunOutcome[];
  /** Per-metric medians over the successful runs. */
  median: Record<string, number>;
  /** First error, for the table. */
  error?: string;
}

export const MiB = 1024 * 1024;

/** Flags of a case as command-line arguments. */
export function caseFlags(args: Record<string, number | boolean>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (v === false) continue;
    out.push(`--${k}`);
    if (v !== true) out.push(String(v));
  }
  return out;
}
