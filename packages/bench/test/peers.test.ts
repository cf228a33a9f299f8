/**
 * Smoke test of the benchmark machinery: the quichex peer's server and client
 * as child processes (the same path `npm run bench` takes), checking the
 * shape of their results. No timing assertions: speed is the benchmark's
 * own report, never a test.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ratios, toCell } from '../src/aggregate.js';
import { makeCerts } from '../src/certs.js';
import { type Certs, PEER_JS } from '../src/commands.js';
import type { Impl } from '../src/protocol.js';
import { type BenchReport, markdown, updatePerformanceMd } from '../src/report.js';
import { allCases } from '../src/scenarios/index.js';
import { runPair } from '../src/scenarios/pair.js';
import type { BenchCase, RunOutcome } from '../src/scenarios/types.js';
import { evaluateTargets } from '../src/targets.js';
import { quickReport } from './quick-report.js';

let certs: Certs & { dispose(): void };

beforeAll(() => {
  if (!existsSync(PEER_JS)) throw new Error(`${PEER_JS} is missing: run npm run build first`);
  certs = makeCerts();
});
afterAll(() => certs?.dispose());

function benchCase(id: string, scenario: BenchCase['scenario'], args: BenchCase['args']): BenchCase {
  return { id, scenario, title: id, args, metrics: [], timeoutMs: 30_000, runs: 1 };
}

function expectPositive(result: Record<string, unknown>, keys: string[]): void {
  for (const k of keys) {
    expect(typeof result[k], k).toBe('number');
    expect(result[k] as number, k).toBeGreaterThan(0);
  }
}

describe('quichex benchmark peers (child processes on loopback)', () => {
  it('bulk: 1 MiB over one stream reports bytes, seconds and MB/s', async () => {
    const o = await runPair(
      'quichex',
      benchCase('bulk-1', 'bulk', { bytes: 1024 * 1024, streams: 1 }),
      certs,
    );
    if (o.status !== 'ok') throw new Error(o.error);
    expect(o.result.bytes).toBe(1024 * 1024);
    expect(o.result.streams).toBe(1);
    expectPositive(o.result, ['seconds', 'mbps']);
    // Packets the sender declared lost, from its connection statistics (0 is common on loopback).
    expect(typeof o.result.lost).toBe('number');
    expect(o.server).toBeDefined();
    expectPositive(o.server ?? {}, ['rssKb', 'heapKb']);
  });

  it('rr: 50 round trips report p50 ≤ p90 ≤ p99 ≤ max in µs', async () => {
    const o = await runPair('quichex', benchCase('rr', 'rr', { count: 50 }), certs);
    if (o.status !== 'ok') throw new Error(o.error);
    expect(o.result.count).toBe(50);
    expectPositive(o.result, ['p50', 'p90', 'p99', 'max']);
    const r = o.result as Record<'p50' | 'p90' | 'p99' | 'max', number>;
    expect(r.p50).toBeLessThanOrEqual(r.p90);
    expect(r.p90).toBeLessThanOrEqual(r.p99);
    expect(r.p99).toBeLessThanOrEqual(r.max);
  });

  it('reports an n/a scenario as n/a, not as a failure', async () => {
    const o = await runPair(
      'dgram',
      benchCase('handshake-seq', 'handshake', { count: 2, concurrency: 1 }),
      certs,
    );
    expect(o.status).toBe('n/a');
  });
});

describe('report', () => {
  it('takes medians, ratios to each anchor, and evaluates targets from them', () => {
    const c = allCases('quick', 3).find((x) => x.id === 'bulk-1') as BenchCase;
    const ok = (mbps: number): RunOutcome => ({ status: 'ok', result: { mbps } });
    const cells = new Map<Impl, ReturnType<typeof toCell>>([
      ['quichex', toCell('quichex', c, [ok(200), ok(100), ok(300)])],
      ['matrixai', toCell('matrixai', c, [ok(1), ok(2), ok(1.5)])],
      ['dgram', toCell('dgram', c, [ok(400), { status: 'error', error: 'boom' }, ok(400)])],
      ['native', toCell('native', c, [{ status: 'error', error: 'not built' }])],
    ]);
    expect(cells.get('quichex')?.median.mbps).toBe(200);
    const r = ratios(c, cells);
    expect(r.matrixai?.mbps).toBeCloseTo(200 / 1.5);
    expect(r.dgram?.mbps).toBeCloseTo(0.5);
    expect(r.native?.mbps).toBeNull();
    const report = { case: c, cells: Object.fromEntries(cells), ratios: r };
    const targets = evaluateTargets([report]);
    const byId = Object.fromEntries(targets.map((t) => [t.id, t.status]));
    expect(byId).toMatchObject({
      'bulk-abs': 'pass',
      'bulk-matrixai': 'pass',
      'bulk-dgram': 'fail',
      'bulk-native': 'n/a',
      'idle-10k': 'n/a',
    });
    const full = quickReport(['quichex', 'matrixai', 'dgram', 'native'], [report], targets);
    const md = markdown(full);
    expect(md).toContain(
      '| bulk 8 MiB, 1 stream | MB/s | 200.0 | 1.5 | 400.0 [1] | error [2] | 133× | 0.50× | — |',
    );
    expect(md).toContain('≥ 100× matrixai: **pass**');
  });

  it('rewrites only the marked section of PERFORMANCE.md and copies the chart to docs/', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'quichex-bench-test-'));
    try {
      const chart = path.join(root, 'chart.svg');
      writeFileSync(chart, '<svg/>');
      mkdirSync(path.join(root, 'docs'));
      writeFileSync(
        path.join(root, 'PERFORMANCE.md'),
        '# Performance\n\nbefore\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nafter\n',
      );
      const report = {
        mode: 'full',
        startedAt: '2020-01-01T00:00:00.000Z',
        durationSeconds: 60,
        machine: {
          cpu: 'CPU X',
          cores: 2,
          memoryGiB: 4,
          kernel: 'k',
          node: 'v',
          quiche: 'q',
          matrixaiQuic: 'm',
          date: 'd',
        },
        impls: [],
        cases: [],
        targets: [],
        broken: [],
      } satisfies BenchReport;
      updatePerformanceMd(report, 'THE TABLE', root, chart);
      const text = readFileSync(path.join(root, 'PERFORMANCE.md'), 'utf8');
      expect(text).toMatch(/^# Performance\n\nbefore\n\n<!-- bench:begin -->/);
      expect(text).toMatch(/<!-- bench:end -->\n\nafter\n$/);
      expect(text).not.toContain('old');
      expect(text).toContain('THE TABLE');
      expect(text).toContain('| CPU | CPU X |');
      expect(text).toContain('docs/bench-chart.svg');
      expect(readFileSync(path.join(root, 'docs', 'bench-chart.svg'), 'utf8')).toBe('<svg/>');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
