/**
 * The performance targets, checked against one run's medians. They
 * are reported, never enforced: the benchmark's exit code ignores them.
 *
 * @module
 */
import type { Anchor, Ratios } from './aggregate.js';
import { familyOf } from './families.js';
import type { Impl } from './protocol.js';
import type { BenchCase, Cell } from './scenarios/types.js';

/** The report of one case: its cells and ratios. */
export interface CaseReport {
  case: BenchCase;
  cells: Partial<Record<Impl, Cell>>;
  ratios: Ratios;
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
  /** Decimal places of `measured` in the table (1 when absent). */
  digits?: number;
  note?: string;
}

type Measured = { v: number | null; note?: string };

interface TargetDef {
  id: string;
  caseId: string;
  key: string;
  description: string;
  unit: string;
  threshold: string;
  digits?: number;
  /** The figure judged; `all` holds every case of the invocation, for targets across two cases. */
  value: (r: CaseReport, all: CaseReport[]) => Measured;
  pass: (v: number, r: CaseReport) => boolean;
}

/** The implementation a case measures (quichex, or h3 for the HTTP cases). */
const subject = (r: CaseReport): Impl => familyOf(r.case.scenario).subject;

const metric =
  (key: string) =>
  (r: CaseReport): Measured => {
    const who = subject(r);
    const cell = r.cells[who];
    if (!cell || cell.status !== 'ok') return { v: null, note: `${who}: ${cell?.error ?? 'not run'}` };
    return { v: cell.median[key] ?? null };
  };

const ratio =
  (anchor: Anchor, key: string) =>
  (r: CaseReport): Measured => {
    const v = r.ratios[anchor]?.[key] ?? null;
    if (v !== null) return { v };
    const a = r.cells[anchor];
    const who = subject(r);
    const q = r.cells[who];
    if (!q || q.status !== 'ok') return { v: null, note: `${who}: ${q?.error ?? 'not run'}` };
    return { v: null, note: `${anchor}: ${a?.error ?? 'not run'}` };
  };

/** quichex's figure ÷ quichex's figure of another case of the same invocation. */
const acrossCases =
  (otherCaseId: string, key: string) =>
  (r: CaseReport, all: CaseReport[]): Measured => {
    const here = metric(key)(r);
    if (here.v === null) return here;
    const other = all.find((x) => x.case.id === otherCaseId);
    if (!other) return { v: null, note: `${otherCaseId} not run` };
    const there = metric(key)(other);
    if (there.v === null || there.v === 0)
      return { v: null, note: `${otherCaseId}: ${there.note ?? 'no figure'}` };
    return { v: here.v / there.v };
  };

/** quichex's figure over every successful run, combined (worst case rather than median). */
const overRuns =
  (key: string, combine: (values: number[]) => number, what: string) =>
  (r: CaseReport): Measured => {
    const cell = r.cells.quichex;
    if (!cell || cell.status !== 'ok') return { v: null, note: `quichex: ${cell?.error ?? 'not run'}` };
    const values = cell.runs.flatMap((o) =>
      o.status === 'ok' && typeof o.result[key] === 'number' ? [o.result[key] as number] : [],
    );
    if (values.length === 0) return { v: null, note: `quichex: no ${key}` };
    return { v: combine(values), ...(values.length > 1 ? { note: `${what} of ${values.length} runs` } : {}) };
  };

/** mixed p50: quichex ÷ tls when TLS has a figure, judged with the absolute bound too. */
const mixedP50 = (r: CaseReport): Measured => {
  const q = metric('p50')(r);
  if (q.v === null) return q;
  const t = r.ratios.tls?.p50 ?? null;
  return { v: q.v, note: t === null ? 'no tls figure' : `${t.toFixed(2)}× tls` };
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
    id: 'bulk-pacing',
    key: 'mbps',
    caseId: 'bulk-1',
    description: 'bulk, one stream, bbr2 paced vs cubic unpaced (bulk-1-unpaced, same invocation)',
    unit: '×',
    threshold: '≥ 0.90× unpaced',
    value: acrossCases('bulk-1-unpaced', 'mbps'),
    pass: (v) => v >= 0.9,
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
    id: 'rr-native',
    key: 'p50',
    caseId: 'rr',
    description: 'rr one stream p50 vs native quiche',
    unit: '×',
    threshold: '≤ 1.2× native',
    digits: 2,
    value: ratio('native', 'p50'),
    pass: (v) => v <= 1.2,
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
    id: 'hs-seq-native',
    key: 'perSecond',
    caseId: 'handshake-seq',
    description: 'sequential handshakes vs native quiche',
    unit: '×',
    threshold: '≥ 0.70× native',
    value: ratio('native', 'perSecond'),
    pass: (v) => v >= 0.7,
  },
  {
    id: 'hs-conc-native',
    key: 'perSecond',
    caseId: 'handshake-conc',
    description: 'concurrent handshakes (50 at a time in full mode) vs native quiche',
    unit: '×',
    threshold: '≥ 0.70× native',
    value: ratio('native', 'perSecond'),
    pass: (v) => v >= 0.7,
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
  {
    id: 'dgram-native',
    key: 'perSecond',
    caseId: 'dgram',
    description: 'datagrams 1200 B vs native quiche',
    unit: '×',
    threshold: '≥ 0.85× native',
    value: ratio('native', 'perSecond'),
    pass: (v) => v >= 0.85,
  },
  {
    id: 'dgram-loss',
    key: 'loss',
    caseId: 'dgram',
    description: 'datagrams 1200 B, loss',
    unit: '%',
    threshold: '≤ 0.1 %',
    digits: 3,
    value: (r) => {
      const m = metric('loss')(r);
      return m.v === null ? m : { v: m.v * 100 };
    },
    pass: (v) => v <= 0.1,
  },
  {
    id: 'mixed-p50',
    key: 'p50',
    caseId: 'mixed',
    description: 'mixed load: probe p50 (connect to echo) vs TLS',
    unit: 'ms',
    threshold: '≤ 2× tls or ≤ 10 ms',
    digits: 2,
    value: mixedP50,
    pass: (v, r) => v <= 10 || (r.ratios.tls?.p50 ?? Number.POSITIVE_INFINITY) <= 2,
  },
  {
    id: 'mixed-p99',
    key: 'p99',
    caseId: 'mixed',
    description: 'mixed load: probe p99 vs TLS',
    unit: '×',
    threshold: '≤ 2× tls',
    value: ratio('tls', 'p99'),
    pass: (v) => v <= 2,
  },
  {
    id: 'mixed-max',
    key: 'max',
    caseId: 'mixed',
    description: 'mixed load: slowest probe',
    unit: 'ms',
    threshold: '≤ 400 ms',
    digits: 2,
    value: overRuns('max', (v) => Math.max(...v), 'worst'),
    pass: (v) => v <= 400,
  },
  {
    id: 'mixed-failures',
    key: 'failures',
    caseId: 'mixed',
    description: 'mixed load: probes failed or past their 3 s bound',
    unit: 'failures',
    threshold: '0',
    digits: 0,
    value: overRuns('failures', (v) => v.reduce((a, b) => a + b, 0), 'sum'),
    pass: (v) => v === 0,
  },
  {
    id: 'mixed-uploads',
    key: 'uploadRatio',
    caseId: 'mixed',
    description: 'mixed load: uploads during probes vs without (same run)',
    unit: '×',
    threshold: '≥ 0.70×',
    value: metric('uploadRatio'),
    pass: (v) => v >= 0.7,
  },
  {
    id: 'h3-get-32-http2',
    key: 'perSecond',
    caseId: 'h3-get-32',
    description: 'HTTP/3 small GETs, 32 in flight on one connection, vs node:http2 (one session)',
    unit: '×',
    threshold: '≥ 1× http2',
    digits: 2,
    value: ratio('http2', 'perSecond'),
    pass: (v) => v >= 1,
  },
  {
    id: 'h3-bulk-http2',
    key: 'mbps',
    caseId: 'h3-bulk',
    description: 'HTTP/3 one large GET download vs node:http2',
    unit: '×',
    threshold: '≥ 0.80× http2',
    digits: 2,
    value: ratio('http2', 'mbps'),
    pass: (v) => v >= 0.8,
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
      ...(t.digits === undefined ? {} : { digits: t.digits }),
    };
    const r = reports.find((x) => x.case.id === t.caseId);
    if (!r)
      return { ...base, measured: null, status: 'n/a', note: 'case not run (quick mode or --scenario)' };
    const { v, note } = t.value(r, reports);
    if (v === null) return { ...base, measured: null, status: 'n/a', ...(note ? { note } : {}) };
    return { ...base, measured: v, status: t.pass(v, r) ? 'pass' : 'fail', ...(note ? { note } : {}) };
  });
}
