/**
 * Report helpers that the hq-interop matrix (run.ts) and the HTTP/3 one (h3.ts) share: cell
 * text, the progress line, the plain-text and Markdown tables, grouped notes and the
 * INTEROP.md block between two markers.
 */

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './matrix.js';

export type CellStatus = 'pass' | 'fail' | 'unsupported' | 'unavailable';

export const CELL_TEXT: Record<CellStatus, string> = {
  pass: 'pass',
  fail: 'FAIL',
  unsupported: 'unsup',
  unavailable: 'n/a',
};

/** The progress line of one finished cell. */
export function cellLine(
  label: string,
  caseName: string,
  caseWidth: number,
  text: string,
  r: { status: CellStatus; reason?: string; durationMs?: number },
): string {
  const extra = r.reason && r.status !== 'unavailable' ? ` — ${r.reason}` : '';
  const took = r.durationMs ? ` (${(r.durationMs / 1000).toFixed(1)} s)` : '';
  return `  ${label.padEnd(20)} ${caseName.padEnd(caseWidth)} ${text}${took}${extra}\n`;
}

/** A table of `rows` (label, cell per case) with aligned columns; `cell` is undefined for no result. */
export function textTable<R>(
  rows: readonly R[],
  label: (row: R) => string,
  cases: readonly string[],
  cell: (row: R, c: string) => string | undefined,
): string {
  const header = ['client → server', ...cases];
  const body = rows.map((row) => [label(row), ...cases.map((c) => cell(row, c) ?? '-')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

/** The same as a Markdown table ('–' for no result). */
export function markdownTable<R>(
  rows: readonly R[],
  label: (row: R) => string,
  cases: readonly string[],
  cell: (row: R, c: string) => string | undefined,
): string {
  const out = [`| client → server | ${cases.join(' | ')} |`, `|---|${cases.map(() => '---').join('|')}|`];
  for (const row of rows)
    out.push(`| ${label(row)} | ${cases.map((c) => cell(row, c) ?? '–').join(' | ')} |`);
  return out.join('\n');
}

/** Unsupported / unavailable cells grouped by their reason: which cases, which pairs. */
export class NoteGroups {
  private readonly groups = new Map<string, { cases: Set<string>; pairs: Set<string> }>();

  add(key: string, caseName: string, pair: string): void {
    const g = this.groups.get(key) ?? { cases: new Set<string>(), pairs: new Set<string>() };
    g.cases.add(caseName);
    g.pairs.add(pair);
    this.groups.set(key, g);
  }

  /** One line a reason; `casesText` may say the cases another way (e.g. "every case"). */
  lines(casesText: (cases: ReadonlySet<string>) => string = (c) => [...c].join(', ')): string[] {
    return [...this.groups].map(([key, g]) => `${key} — ${casesText(g.cases)}; ${[...g.pairs].join(', ')}`);
  }
}

/**
 * Replaces INTEROP.md's block between `begin` and `end` with `intro`, the table and the notes.
 * `missing`: the file's text when there is no INTEROP.md (else it is an error).
 */
export async function writeInteropBlock(
  begin: string,
  end: string,
  intro: string,
  table: string,
  notes: readonly string[],
  missing?: () => string,
): Promise<void> {
  const file = path.join(REPO_ROOT, 'INTEROP.md');
  const text = missing && !existsSync(file) ? missing() : await readFile(file, 'utf8');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`INTEROP.md has no ${begin} … ${end} markers`);
  const block = [
    begin,
    '',
    intro,
    '',
    table,
    '',
    ...notes.map((n) => `- ${n.replace(/\|/g, '\\|')}`),
    '',
    end,
  ].join('\n');
  await writeFile(file, `${text.slice(0, start)}${block}${text.slice(stop + end.length)}`);
}
