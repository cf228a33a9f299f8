/**
 * The outputs: results.json, a markdown table (with ratios and targets), the
 * chart, and in full mode the section of PERFORMANCE.md between
 * `<!-- bench:begin -->` and `<!-- bench:end -->`.
 *
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Anchor } from './aggregate.js';
import { chartSvg } from './chart.js';
import { FAMILIES, familyOf } from './families.js';
import { type Machine, machineLine } from './machine.js';
import type { Impl } from './protocol.js';
import type { Mode } from './scenarios/types.js';
import type { CaseReport, TargetResult } from './targets.js';

export interface BenchReport {
  mode: Mode;
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  impls: Impl[];
  cases: CaseReport[];
  targets: TargetResult[];
  /** Problems of the run itself (a quichex peer failing is one). */
  broken: string[];
}

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

export function fmtNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(r: number | null): string {
  if (r === null) return '—';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  return `${r.toFixed(2)}×`;
}

function cellText(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/** What the HTTP table says about its implementations, above it. */
export const HTTP_PREAMBLE =
  'HTTP cases: `h3` is @quichex/h3 (`serve()`, and `fetch()` through an `Agent` held to one connection), `http2` is node:http2 over TLS (one client session, a stream per request), `https` is node:https (HTTP/1.1, a keep-alive `https.Agent`). HTTP/1.1 has one request at a time on a connection: for 32 in flight its agent may open 32 connections (`maxSockets` 32; the connections row says how many it used), while h3 and http2 multiplex every request on one. Ratios are h3 ÷ anchor.';

/** The results tables (one per family of cases), the targets table and the notes, as markdown. */
export function markdown(report: BenchReport): string {
  const notes: string[] = [];
  const note = (text: string): string => {
    const t = cellText(text).slice(0, 300);
    let i = notes.indexOf(t);
    if (i < 0) i = notes.push(t) - 1;
    return `[${i + 1}]`;
  };
  const tables: string[] = [];
  for (const family of FAMILIES) {
    const cases = report.cases.filter((r) => familyOf(r.case.scenario) === family);
    const impls = report.impls.filter((i) => family.impls.includes(i));
    if (cases.length === 0 || impls.length === 0) continue;
    const anchors = family.anchors.filter((a) => impls.includes(a)) as Anchor[];
    const head = ['case', 'metric', ...impls, ...anchors.map((a) => `${family.subject} ÷ ${a}`), 'targets'];
    const lines = [
      `| ${head.join(' | ')} |`,
      `|${head.map((_, i) => (i < 2 || i === head.length - 1 ? '---' : '--:')).join('|')}|`,
    ];
    for (const r of cases) {
      r.case.metrics.forEach((m, mi) => {
        const cells = impls.map((impl) => {
          const cell = r.cells[impl];
          if (!cell) return '';
          if (cell.status === 'n/a') return `n/a ${note(cell.error ?? '')}`;
          if (cell.status === 'error') return `error ${note(`${impl}, ${r.case.id}: ${cell.error ?? ''}`)}`;
          const v = cell.median[m.key];
          const partial = cell.error
            ? ` ${note(`${impl}, ${r.case.id}, some runs failed: ${cell.error}`)}`
            : '';
          // An impl that does not give this figure at all (packets lost over TCP, say).
          return v === undefined ? `n/a${partial}` : `${fmtNumber(v, m.digits)}${partial}`;
        });
        const ratioCells = anchors.map((a) => fmtRatio(r.ratios[a]?.[m.key] ?? null));
        const targets = report.targets
          .filter((t) => t.caseId === r.case.id && t.key === m.key)
          .map((t) => `${t.threshold}: **${t.status}**`)
          .join('; ');
        lines.push(
          `| ${mi === 0 ? r.case.title : ''} | ${m.label} | ${cells.join(' | ')} | ${ratioCells.join(' | ')} | ${targets} |`,
        );
      });
    }
    tables.push(family.name === 'http' ? `${HTTP_PREAMBLE}\n\n${lines.join('\n')}` : lines.join('\n'));
  }
  const tgt = [
    '| target | measured | threshold | result |',
    '|---|--:|---|---|',
    ...report.targets.map((t) => {
      const measured =
        t.measured === null
          ? '—'
          : t.unit === '×'
            ? t.digits === undefined
              ? fmtRatio(t.measured)
              : `${fmtNumber(t.measured, t.digits)}×`
            : `${fmtNumber(t.measured, t.digits ?? 1)} ${t.unit}`;
      return `| ${t.description} | ${measured} | ${t.threshold} | **${t.status}**${t.note ? ` (${cellText(t.note).slice(0, 160)})` : ''} |`;
    }),
  ];
  const out = [
    `Mode: **${report.mode}**, ${report.cases[0]?.case.runs ?? 0} run(s) per case (medians); ratios are quichex ÷ anchor (for µs and KB, lower is better).`,
    '',
    ...tables.flatMap((t) => [t, '']),
    tgt.join('\n'),
  ];
  if (notes.length > 0) out.push('', 'Notes:', '', ...notes.map((n, i) => `${i + 1}. ${n}`));
  if (report.broken.length > 0)
    out.push('', '**Broken benchmark:**', '', ...report.broken.map((b) => `- ${cellText(b)}`));
  return out.join('\n');
}

/** Writes results.json, results.md and chart.svg into `dir`; returns the markdown. */
export function writeOutputs(report: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeFileSync(
    path.join(dir, 'results.md'),
    `# quichex benchmarks\n\n${machineLine(report.machine)}\n\n${md}\n`,
  );
  writeFileSync(
    path.join(dir, 'chart.svg'),
    chartSvg(report.cases, report.impls, machineLine(report.machine)),
  );
  return md;
}

function machineSection(m: Machine): string {
  return [
    '| | |',
    '|---|---|',
    `| CPU | ${m.cpu} |`,
    `| cores | ${m.cores} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| kernel | ${m.kernel} |`,
    `| Node | ${m.node} |`,
    `| quiche | ${m.quiche} |`,
    `| @matrixai/quic | ${m.matrixaiQuic} |`,
    `| date | ${m.date} |`,
  ].join('\n');
}

/**
 * Full mode: copies the chart to docs/bench-chart.svg and rewrites the
 * marked section of PERFORMANCE.md (created when missing).
 */
export function updatePerformanceMd(
  report: BenchReport,
  md: string,
  repoRoot: string,
  chartFile: string,
): void {
  const docs = path.join(repoRoot, 'docs');
  mkdirSync(docs, { recursive: true });
  copyFileSync(chartFile, path.join(docs, 'bench-chart.svg'));
  const section = [
    BEGIN,
    '',
    `Measured by \`npm run bench -- --full\` on ${report.startedAt.slice(0, 10)} (${Math.round(report.durationSeconds / 60)} min).`,
    '',
    machineSection(report.machine),
    '',
    '![bulk throughput and request/response latency per implementation; HTTP GETs per second and download throughput](docs/bench-chart.svg)',
    '',
    md,
    '',
    END,
  ].join('\n');
  const file = path.join(repoRoot, 'PERFORMANCE.md');
  const current = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Performance\n\nquichex measured side by side with @matrixai/quic, Node TLS over TCP, raw node:dgram and native quiche (see packages/bench).\n\n';
  const b = current.indexOf(BEGIN);
  const e = current.indexOf(END);
  const next =
    b >= 0 && e > b
      ? `${current.slice(0, b)}${section}${current.slice(e + END.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
