/**
 * The HTTP cases: their pure pieces (paths, chunking, the closed loop,
 * results, ratios, targets, the report's HTTP table) and the three peers as
 * child processes on loopback, the path `npm run bench` takes. Shapes only,
 * never speed.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ratios, toCell } from '../src/aggregate.js';
import { makeCerts } from '../src/certs.js';
import { type Certs, PEER_JS } from '../src/commands.js';
import { familyOf } from '../src/families.js';
import { BODY_CHUNK, chunkLengths, closedLoop } from '../src/peers/http-common.js';
import { bytesPath, GET_SIZE, getResult, type Impl, requestedBytes } from '../src/protocol.js';
import { HTTP_PREAMBLE, markdown } from '../src/report.js';
import { allCases, filterCases } from '../src/scenarios/index.js';
import { runPair } from '../src/scenarios/pair.js';
import type { BenchCase, Cell, RunOutcome } from '../src/scenarios/types.js';
import { unsupported } from '../src/support.js';
import { type CaseReport, evaluateTargets } from '../src/targets.js';
import { quickReport } from './quick-report.js';

describe('http: paths and bodies', () => {
  it('a /bytes/N path asks for N bytes; anything else is no such path', () => {
    expect(bytesPath(100)).toBe('/bytes/100');
    expect(requestedBytes(bytesPath(0))).toBe(0);
    expect(requestedBytes(bytesPath(256 * 1024 * 1024))).toBe(256 * 1024 * 1024);
    expect(requestedBytes('/bytes/100?x=1')).toBe(100);
    for (const p of [
      '/',
      '/bytes/',
      '/bytes/-1',
      '/bytes/1.5',
      '/bytes/12a',
      '/x/bytes/1',
      '/bytes/9999999999999999',
    ])
      expect(requestedBytes(p), p).toBeNull();
  });

  it('a large body is written in chunks of 64 KiB, the last one shorter', () => {
    expect([...chunkLengths(0)]).toEqual([]);
    expect([...chunkLengths(100)]).toEqual([100]);
    expect([...chunkLengths(BODY_CHUNK)]).toEqual([BODY_CHUNK]);
    const lengths = [...chunkLengths(3 * BODY_CHUNK + 7)];
    expect(lengths).toEqual([BODY_CHUNK, BODY_CHUNK, BODY_CHUNK, 7]);
  });
});

describe('http: the closed loop and its result', () => {
  it('runs every task once, never more than `concurrency` at a time, and times each', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const { samplesUs, ms } = await closedLoop(50, 8, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      seen.push(i);
      await new Promise((resolve) => setTimeout(resolve, i % 3));
      inFlight--;
    });
    expect(most).toBe(8);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(samplesUs).toHaveLength(50);
    expect(samplesUs.every((v) => v >= 0)).toBe(true);
    expect(ms).toBeGreaterThan(0);
  });

  it('with fewer tasks than lanes, runs each once; with one lane, one at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const task = async (): Promise<void> => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      inFlight--;
    };
    expect((await closedLoop(3, 32, task)).samplesUs).toHaveLength(3);
    expect(most).toBe(3);
    most = 0;
    expect((await closedLoop(10, 1, task)).samplesUs).toHaveLength(10);
    expect(most).toBe(1);
  });

  it('rejects with the first failure', async () => {
    await expect(
      closedLoop(10, 2, async (i) => {
        if (i === 4) throw new Error('boom 4');
      }),
    ).rejects.toThrow('boom 4');
  });

  it('summarises latencies by nearest rank and counts requests per second of wall time', () => {
    // 1..100 µs in any order: p50 is the 50th, p99 the 99th.
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    const r = getResult(samples, 32, 250, 1);
    expect(r).toEqual({
      count: 100,
      concurrency: 32,
      seconds: 0.25,
      perSecond: 400,
      p50: 50,
      p90: 90,
      p99: 99,
      max: 100,
      connections: 1,
    });
    const one = getResult([1234.56], 1, 1, 32);
    expect(one.p50).toBe(1234.6);
    expect(one.p99).toBe(1234.6);
    expect(one.perSecond).toBe(1000);
    expect(one.connections).toBe(32);
  });
});

describe('http: cases, families, ratios and targets', () => {
  const quick = allCases('quick', 1);
  const http = filterCases(quick, ['http']);

  it('the http scenario is h3-get-1, h3-get-32 and h3-bulk, small in quick mode', () => {
    expect(http.map((c) => c.id)).toEqual(['h3-get-1', 'h3-get-32', 'h3-bulk']);
    expect(http.map((c) => c.args.concurrency)).toEqual([1, 32, undefined]);
    expect(http.every((c) => c.args.size === undefined || c.args.size === GET_SIZE)).toBe(true);
    expect(http[2]?.args).toEqual({ bytes: 16 * 1024 * 1024, download: true });
    const full = filterCases(allCases('full', 3), ['http']);
    expect(full[2]?.args.bytes).toBe(256 * 1024 * 1024);
    expect(filterCases(quick, ['h3-get-32']).map((c) => c.id)).toEqual(['h3-get-32']);
  });

  it('HTTP cases run h3, http2 and https only; transport cases never run them', () => {
    expect(familyOf('http').impls).toEqual(['h3', 'http2', 'https']);
    expect(familyOf('http').subject).toBe('h3');
    for (const impl of ['h3', 'http2', 'https'] as const) {
      expect(unsupported(impl, 'http')).toBeNull();
      expect(unsupported(impl, 'bulk')).not.toBeNull();
    }
    for (const impl of ['quichex', 'matrixai', 'tls', 'dgram', 'native'] as const)
      expect(unsupported(impl, 'http')).not.toBeNull();
  });

  const ok = (result: Record<string, number>): RunOutcome => ({ status: 'ok', result });
  const report = (c: BenchCase, cells: Map<Impl, Cell>): CaseReport => ({
    case: c,
    cells: Object.fromEntries(cells),
    ratios: ratios(c, cells),
  });

  it('ratios are h3 ÷ http2 and h3 ÷ https, connections never compared', () => {
    const c = http[1] as BenchCase;
    const cells = new Map<Impl, Cell>([
      ['h3', toCell('h3', c, [ok({ perSecond: 3000, p50: 100, p99: 300, connections: 1 })])],
      ['http2', toCell('http2', c, [ok({ perSecond: 2000, p50: 200, p99: 300, connections: 1 })])],
      ['https', toCell('https', c, [ok({ perSecond: 6000, p50: 50, p99: 600, connections: 32 })])],
    ]);
    const r = ratios(c, cells);
    expect(Object.keys(r).sort()).toEqual(['http2', 'https']);
    expect(r.http2).toEqual({ perSecond: 1.5, p50: 0.5, p99: 1 });
    expect(r.https).toEqual({ perSecond: 0.5, p50: 2, p99: 0.5 });
  });

  it('targets: 32 in flight ≥ 1× http2, download ≥ 0.8× http2, n/a without http2', () => {
    const [, gets, bulk] = http as [BenchCase, BenchCase, BenchCase];
    const judge = (h3: number, h2: number | null): Record<string, string> => {
      const cells = (c: BenchCase, key: string): Map<Impl, Cell> =>
        new Map<Impl, Cell>([
          ['h3', toCell('h3', c, [ok({ [key]: h3 })])],
          [
            'http2',
            toCell('http2', c, [h2 === null ? { status: 'error', error: 'refused' } : ok({ [key]: h2 })]),
          ],
        ]);
      const targets = evaluateTargets([
        report(gets, cells(gets, 'perSecond')),
        report(bulk, cells(bulk, 'mbps')),
      ]);
      return Object.fromEntries(
        targets.filter((t) => t.id.startsWith('h3-')).map((t) => [t.id, `${t.status} ${t.measured}`]),
      );
    };
    expect(judge(1000, 1000)).toEqual({ 'h3-get-32-http2': 'pass 1', 'h3-bulk-http2': 'pass 1' });
    expect(judge(850, 1000)).toEqual({ 'h3-get-32-http2': 'fail 0.85', 'h3-bulk-http2': 'pass 0.85' });
    expect(judge(700, 1000)).toEqual({ 'h3-get-32-http2': 'fail 0.7', 'h3-bulk-http2': 'fail 0.7' });
    expect(judge(700, null)).toEqual({ 'h3-get-32-http2': 'n/a null', 'h3-bulk-http2': 'n/a null' });
    const none = evaluateTargets([]).filter((t) => t.id.startsWith('h3-'));
    expect(none.map((t) => t.status)).toEqual(['n/a', 'n/a']);
  });

  it('the report puts HTTP cases in a table of their own, ratios and targets included', () => {
    const c = http[1] as BenchCase;
    const cells = new Map<Impl, Cell>([
      ['h3', toCell('h3', c, [ok({ perSecond: 3000, p50: 100, p99: 300, connections: 1 })])],
      ['http2', toCell('http2', c, [ok({ perSecond: 2000, p50: 200, p99: 300, connections: 1 })])],
      ['https', toCell('https', c, [{ status: 'error', error: 'ECONNRESET' }])],
    ]);
    const r = report(c, cells);
    const md = markdown(quickReport(['quichex', 'tls', 'h3', 'http2', 'https'], [r]));
    expect(md).toContain(HTTP_PREAMBLE);
    // No transport case ran: no transport table.
    expect(md).not.toContain('| quichex ÷ tls |');
    expect(md).toContain('| case | metric | h3 | http2 | https | h3 ÷ http2 | h3 ÷ https | targets |');
    expect(md).toContain(
      `| ${c.title} | requests/s | 3,000 | 2,000 | error [1] | 1.50× | — | ≥ 1× http2: **pass** |`,
    );
    expect(md).toContain('|  | connections | 1 | 1 | error [1] | — | — |  |');
    expect(md).toContain('1. https, h3-get-32: ECONNRESET');
  });
});

describe('http peers (child processes on loopback)', () => {
  let certs: Certs & { dispose(): void };
  beforeAll(() => {
    if (!existsSync(PEER_JS)) throw new Error(`${PEER_JS} is missing: run npm run build first`);
    certs = makeCerts();
  });
  afterAll(() => certs?.dispose());

  const getCase: BenchCase = {
    id: 'h3-get-32',
    scenario: 'http',
    title: 'gets',
    args: { count: 40, concurrency: 8, size: GET_SIZE, warmup: 8 },
    metrics: [],
    timeoutMs: 30_000,
    runs: 1,
  };
  const downloadCase: BenchCase = {
    id: 'h3-bulk',
    scenario: 'http',
    title: 'download',
    args: { bytes: 3 * BODY_CHUNK + 5, download: true },
    metrics: [],
    timeoutMs: 30_000,
    runs: 1,
  };

  for (const impl of ['h3', 'http2', 'https'] as const) {
    it(`${impl}: GETs report requests/s, ordered latencies and connections; a download its MB/s`, async () => {
      const o = await runPair(impl, getCase, certs);
      if (o.status !== 'ok') throw new Error(o.error);
      const r = o.result as Record<string, number>;
      expect(r.count).toBe(40);
      expect(r.concurrency).toBe(8);
      for (const k of ['seconds', 'perSecond', 'p50', 'p90', 'p99', 'max'])
        expect(r[k], k).toBeGreaterThan(0);
      expect(r.p50).toBeLessThanOrEqual(r.p90 as number);
      expect(r.p90).toBeLessThanOrEqual(r.p99 as number);
      expect(r.p99).toBeLessThanOrEqual(r.max as number);
      // HTTP/1.1 needs a connection per request in flight; the others multiplex on one.
      if (impl === 'https') expect(r.connections).toBe(8);
      else expect(r.connections).toBe(1);

      const d = await runPair(impl, downloadCase, certs);
      if (d.status !== 'ok') throw new Error(d.error);
      expect(d.result.bytes).toBe(3 * BODY_CHUNK + 5);
      expect(d.result.mbps as number).toBeGreaterThan(0);
    });
  }
});
