/**
 * The performance targets, checked against one run's medians. They
 * are reported, never enforced: the benchmark's exit code ignores them.
 *
 * @module
 */
import type { Anchor } from './aggregate.js';
import type { Impl } from './protocol.js';
import type { BenchCase, Cell } from './scenarios/types.js';

/** The report of one case: its cells and ratios. */
export interface CaseReport {
  case: BenchCase;
  cells: Partial<Record<Impl, Cell>>;
  ratios: Record<Anchor, Record<string, number | null>>;
}

export interface TargetResult {
  id: string;
  caseId: string;
  /** The metric of the case this target is about. */
  key: string;
  description: string;
  /** What was measured (a value or a ratio), `null` when it could not be. */
  measured: number | null;
  unit: string;
  threshold: string;
  status: 'pass' | 'fail' | 'n/a';
  note?: string;
}

interface TargetDef {
  id: string;
  caseId: string;
  key: string;
  description: string;
  unit: string;
  threshold: string;
  value: (r: CaseReport) => { v: number | null; note?: string };
  pass: (v: number, r: CaseReport) => boolean;
}

const metric =
  (key: string) =>
  (r: CaseReport): { v: number | null; note?: string } => {
    const cell = r.cells.quichex;
    if (!cell || cell.status !== 'ok') return { v: null, note: `quichex: ${cell?.error ?? 'not run'}` };
    return { v: cell.median[key] ?? null };
  };

const ratio =
  (anchor: Anchor, key: string) =>
  (r: CaseReport): { v: number | null; note?: string } => {
    const v = r.ratios[anchor]?.[key] ?? null;
    if (v !== null) return { v };
    const a = r.cells[anchor];
    const q = r.cells.quichex;
    if (!q || q.status !== 'ok') return { v: null, note: `quichex: ${q?.error ?? 'not run'}` };
    return { v: null, note: `${anchor}: ${a?.error ?? 'not run'}` };
  };

const TARGETS: TargetDef[] = [
  {
    id: 'bulk-abs',
    key: 'mbps',
    caseId: 'bulk-1',
    description: 'bulk, one stream',
    unit: 'MB/s',
    threshold: '≥ 150 MB/s',
    value: metric('mbps'),
    pass: (v) => v >= 150,
  },
  {
    id: 'bulk-matrixai',
    key: 'mbps',
    caseId: 'bulk-1',
    description: 'bulk, one stream, vs @matrixai/quic',
    unit: '×',
    threshold: '≥ 100× matrixai',
    value: ratio('matrixai', 'mbps'),
    pass: (v) => v >= 100,
  },
  {
    id: 'bulk-dgram',
    key: 'mbps',
    caseId: 'bulk-1',
    description: 'bulk, one stream, vs raw dgram receive throughput',
    unit: '×',
    threshold: '≥ 0.70× dgram',
    value: ratio('dgram', 'mbps'),
    pass: (v) => v >= 0.7,
  },
  {
    id: 'bulk-native',
    key: 'mbps',
    caseId: 'bulk-1',
    description: 'bulk, one stream, vs native quiche',
    unit: '×',
    threshold: '≥ 0.50× native',
    value: ratio('native', 'mbps'),
    pass: (v) => v >= 0.5,
  },
  {
    id: 'rr-p50',
    key: 'p50',
    caseId: 'rr',
    description: 'rr one stream p50 vs raw dgram ping-pong',
    unit: '×',
    threshold: '≤ 2× dgram',
    value: ratio('dgram', 'p50'),
    pass: (v) => v <= 2,
  },
  {
    id: 'rr-p99',
    key: 'p99',
    caseId: 'rr',
    description: 'rr one stream p99 vs raw dgram ping-pong',
    unit: '×',
    threshold: '≤ 4× dgram',
    value: ratio('dgram', 'p99'),
    pass: (v) => v <= 4,
  },
  {
    id: 'hs-seq',
    key: 'perSecond',
    caseId: 'handshake-seq',
    description: 'sequential handshakes vs @matrixai/quic',
    unit: '×',
    threshold: '≥ 20× matrixai',
    value: ratio('matrixai', 'perSecond'),
    pass: (v) => v >= 20,
  },
  {
    id: 'hs-conc',
    key: 'perSecond',
    caseId: 'handshake-conc',
    description: 'concurrent handshakes vs @matrixai/quic',
    unit: '×',
    threshold: '≥ 20× matrixai',
    value: ratio('matrixai', 'perSecond'),
    pass: (v) => v >= 20,
  },
  {
    id: 'idle-10k',
    key: 'serverRssKbPerConn',
    caseId: 'idle-10k',
    description: 'idle at 10k: server RSS per connection',
    unit: 'KB',
    threshold: '≤ 40 KB',
    value: metric('serverRssKbPerConn'),
    pass: (v) => v <= 40,
  },
  {
    id: 'idle-100k',
    key: 'errors',
    caseId: 'idle-100k',
    description: '100k idle connections held',
    unit: 'errors',
    threshold: '0 errors, all held',
    value: (r) => {
      const m = metric('errors')(r);
      if (m.v === null) return m;
      const held = r.cells.quichex?.median.count ?? 0;
      return { v: m.v, note: `${held} held` };
    },
    pass: (v, r) => v === 0 && (r.cells.quichex?.median.count ?? 0) >= 100_000,
  },
];

/** Evaluates every target whose case was run; the others are n/a. */
export function evaluateTargets(reports: CaseReport[]): TargetResult[] {
  return TARGETS.map((t) => {
    const base = {
      id: t.id,
      caseId: t.caseId,
      key: t.key,
      description: t.description,
      unit: t.unit,
      threshold: t.threshold,
    };
    const r = reports.find((x) => x.case.id === t.caseId);
    if (!r)
      return { ...base, measured: null, status: 'n/a', note: 'case not run (quick mode or --scenario)' };
    const { v, note } = t.value(r);
    if (v === null) return { ...base, measured: null, status: 'n/a', ...(note ? { note } : {}) };
    return { ...base, measured: v, status: t.pass(v, r) ? 'pass' : 'fail', ...(note ? { note } : {}) };
  });
}
