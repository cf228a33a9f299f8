/**
 * A small hand-made SVG: horizontal bars of bulk throughput (one stream) and
 * request/response p50 (one stream) for each transport implementation, and
 * when the HTTP cases ran, small GETs 32 in flight (requests/s) and the
 * download (MB/s) for each HTTP implementation.
 *
 * @module
 */
import { familyOf } from './families.js';
import type { Impl } from './protocol.js';
import type { CaseReport } from './targets.js';

interface Panel {
  title: string;
  unit: string;
  rows: Array<{ impl: Impl; value: number | null; note: string }>;
}

const COLORS: Record<Impl, string> = {
  quichex: '#d9480f',
  matrixai: '#5c7cfa',
  tls: '#37b24d',
  dgram: '#868e96',
  native: '#7048e8',
  h3: '#d9480f',
  http2: '#1c7ed6',
  https: '#37b24d',
};
const NAMES: Record<Impl, string> = {
  quichex: 'quichex',
  matrixai: '@matrixai/quic',
  tls: 'Node TLS/TCP',
  dgram: 'raw node:dgram',
  native: 'native quiche',
  h3: '@quichex/h3',
  http2: 'node:http2',
  https: 'node:https (HTTP/1.1)',
};

const WIDTH = 760;
const LABEL_W = 150;
const BAR_MAX = 470;
const ROW_H = 26;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function panel(p: Panel, y0: number): { svg: string; height: number } {
  const max = Math.max(1e-9, ...p.rows.map((r) => r.value ?? 0));
  const parts = [`<text x="16" y="${y0 + 20}" font-size="15" font-weight="bold">${esc(p.title)}</text>`];
  p.rows.forEach((r, i) => {
    const y = y0 + 34 + i * ROW_H;
    parts.push(
      `<text x="${LABEL_W}" y="${y + 15}" font-size="13" text-anchor="end">${esc(NAMES[r.impl])}</text>`,
    );
    if (r.value === null) {
      parts.push(
        `<text x="${LABEL_W + 10}" y="${y + 15}" font-size="12" fill="#868e96">${esc(r.note)}</text>`,
      );
      return;
    }
    const w = Math.max(2, (r.value / max) * BAR_MAX);
    parts.push(
      `<rect x="${LABEL_W + 10}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 8}" fill="${COLORS[r.impl]}" rx="2"/>`,
      `<text x="${(LABEL_W + 16 + w).toFixed(1)}" y="${y + 15}" font-size="12">${fmt(r.value)} ${esc(p.unit)}</text>`,
    );
  });
  return { svg: parts.join('\n'), height: 34 + p.rows.length * ROW_H + 16 };
}

function rows(report: CaseReport | undefined, key: string, impls: readonly Impl[]): Panel['rows'] {
  return impls.map((impl) => {
    const cell = report?.cells[impl];
    const v = cell?.status === 'ok' ? (cell.median[key] ?? null) : null;
    const note = !cell ? 'not run' : cell.status === 'n/a' ? 'n/a' : cell.status === 'error' ? 'error' : '—';
    return { impl, value: v, note };
  });
}

/** The chart for a set of case reports (bulk-1 and rr; h3-get-32 and h3-bulk when they ran). */
export function chartSvg(reports: CaseReport[], impls: readonly Impl[], subtitle: string): string {
  const bulk = reports.find((r) => r.case.id === 'bulk-1');
  const rr = reports.find((r) => r.case.id === 'rr');
  const transport = impls.filter((i) => familyOf('bulk').impls.includes(i));
  const http = impls.filter((i) => familyOf('http').impls.includes(i));
  const panels: Panel[] = [];
  if (transport.length > 0) {
    panels.push(
      {
        title: `${bulk?.case.title ?? 'bulk, one stream'} — MB/s, higher is better`,
        unit: 'MB/s',
        rows: rows(bulk, 'mbps', transport),
      },
      {
        title: `${rr?.case.title ?? 'rr, one stream'} — p50 µs, lower is better`,
        unit: 'µs',
        rows: rows(rr, 'p50', transport),
      },
    );
  }
  const gets = reports.find((r) => r.case.id === 'h3-get-32');
  const download = reports.find((r) => r.case.id === 'h3-bulk');
  if (http.length > 0 && gets) {
    panels.push({
      title: `${gets.case.title} — requests/s, higher is better`,
      unit: 'req/s',
      rows: rows(gets, 'perSecond', http),
    });
  }
  if (http.length > 0 && download) {
    panels.push({
      title: `${download.case.title} — MB/s, higher is better`,
      unit: 'MB/s',
      rows: rows(download, 'mbps', http),
    });
  }
  let y = 44;
  const body: string[] = [];
  for (const p of panels) {
    const out = panel(p, y);
    body.push(out.svg);
    y += out.height;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 8}" viewBox="0 0 ${WIDTH} ${y + 8}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="17" font-weight="bold">quichex benchmarks</text>`,
    `<text x="16" y="40" font-size="12" fill="#495057">${esc(subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
