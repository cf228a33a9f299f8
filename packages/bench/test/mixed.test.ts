/**
 * The mixed-load scenario's peers as child processes (the path `npm run
 * bench` takes): uploader, prober and server of quichex, TLS and, when its
 * binary is built, the native harness. Shapes only, never speed.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ratios, toCell } from '../src/aggregate.js';
import { makeCerts } from '../src/certs.js';
import { type Certs, nativeBuilt, PEER_JS, peerCommand } from '../src/commands.js';
import { ProbeOrUpload } from '../src/peers/mixed.js';
import { PeerProcess } from '../src/proc.js';
import { HOST, type Impl, PROBE_LIMIT } from '../src/protocol.js';
import { allCases } from '../src/scenarios/index.js';
import { runMixed } from '../src/scenarios/mixed.js';
import type { BenchCase, RunOutcome } from '../src/scenarios/types.js';
import { unsupported } from '../src/support.js';
import { type CaseReport, evaluateTargets } from '../src/targets.js';

let certs: Certs & { dispose(): void };

beforeAll(() => {
  if (!existsSync(PEER_JS)) throw new Error(`${PEER_JS} is missing: run npm run build first`);
  certs = makeCerts();
});
afterAll(() => certs?.dispose());

function mixedCase(connections: number): BenchCase {
  return {
    id: connections > 0 ? 'mixed' : 'mixed-idle',
    scenario: 'mixed',
    title: 'mixed',
    args: {
      connections,
      count: 6,
      // A probe phase of ~0.6 s: a window of a few ms could fall between two turns of an uploader's loop.
      interval: 100,
      'probe-timeout': 3000,
      'warmup-ms': 100,
      'baseline-ms': 300,
    },
    metrics: [],
    timeoutMs: 30_000,
    runs: 1,
  };
}

function expectProbes(r: Record<string, unknown>): void {
  expect(r.probes).toBe(6);
  expect(r.failures).toBe(0);
  expect(r.count).toBe(6);
  const { p50, p90, p99, max } = r as Record<'p50' | 'p90' | 'p99' | 'max', number>;
  expect(p50).toBeGreaterThan(0);
  expect(p50).toBeLessThanOrEqual(p90);
  expect(p90).toBeLessThanOrEqual(p99);
  expect(p99).toBeLessThanOrEqual(max);
  // Milliseconds, not microseconds: a loopback probe is well under 3 s.
  expect(max).toBeLessThan(3000);
}

const impls: Impl[] = ['quichex', 'tls', ...(nativeBuilt() ? (['native'] as const) : [])];

describe.each(impls)('mixed load, %s peers (child processes on loopback)', (impl) => {
  it('measures probes during uploads, and the uploads with and without probes', async () => {
    const o = await runMixed(impl, mixedCase(2), certs);
    if (o.status !== 'ok') throw new Error(o.error);
    expectProbes(o.result);
    expect(o.result.connections).toBe(2);
    for (const k of ['baselineMbps', 'duringMbps', 'uploadRatio', 'baselineSeconds', 'duringSeconds']) {
      expect(typeof o.result[k], k).toBe('number');
      expect(o.result[k] as number, k).toBeGreaterThan(0);
    }
    const upload = o.result.upload as Record<string, unknown>;
    expect(upload.connections).toBe(2);
    expect(upload.bytes as number).toBeGreaterThan(0);
    // TCP has no packet-loss figure; both QUIC impls report one.
    if (impl === 'tls') expect(o.result.uploadLost).toBeUndefined();
    else expect(typeof o.result.uploadLost).toBe('number');
  });

  it('with no uploads, measures the probes alone', async () => {
    const o = await runMixed(impl, mixedCase(0), certs);
    if (o.status !== 'ok') throw new Error(o.error);
    expectProbes(o.result);
    expect(o.result.baselineMbps).toBeUndefined();
  });

  it('counts a probe that gets no answer within its bound as a failure and goes on', async () => {
    // A server that takes every packet (or connection) and never answers.
    const silent = impl === 'tls' ? net.createServer(() => undefined) : dgram.createSocket({ type: 'udp4' });
    const sockets = new Set<net.Socket>();
    if (silent instanceof net.Server) {
      silent.on('connection', (s) => sockets.add(s));
      silent.listen(0, HOST);
    } else {
      silent.bind(0, HOST);
    }
    await once(silent, 'listening');
    const addr = silent.address() as net.AddressInfo;
    const prober = new PeerProcess(
      peerCommand(
        impl,
        'client',
        'mixed',
        ['--port', String(addr.port), '--probe', '--count', '2', '--probe-timeout', '300'],
        certs,
      ),
    );
    try {
      const t0 = performance.now();
      const line = await prober.waitLine(
        (l) => l.result !== undefined || l.error !== undefined,
        20_000,
        'prober',
      );
      if (line.error !== undefined) throw new Error(line.error);
      expect(line.result).toMatchObject({ probes: 2, count: 0, failures: 2 });
      expect(String(line.result?.firstFailure)).toMatch(/time/i);
      // Two bounded probes, not two handshake timeouts.
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      prober.kill();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('mixed load: the server rule and the report', () => {
  it('echoes a stream that ends within PROBE_LIMIT bytes, answers a longer one with one byte', () => {
    const probe = new ProbeOrUpload();
    probe.push(Buffer.alloc(20, 1));
    probe.push(Buffer.alloc(12, 2));
    expect(probe.reply()).toEqual(Buffer.concat([Buffer.alloc(20, 1), Buffer.alloc(12, 2)]));
    const exact = new ProbeOrUpload();
    exact.push(Buffer.alloc(PROBE_LIMIT));
    expect(exact.reply().length).toBe(PROBE_LIMIT);
    const upload = new ProbeOrUpload();
    upload.push(Buffer.alloc(40));
    upload.push(Buffer.alloc(40));
    upload.push(Buffer.alloc(5));
    expect(upload.reply()).toEqual(Buffer.of(1));
  });

  it('is n/a for raw UDP and @matrixai/quic; bulk-1-unpaced is quichex only', () => {
    expect(unsupported('dgram', 'mixed')).toMatch(/no connections/);
    expect(unsupported('matrixai', 'mixed')).toMatch(/not implemented/);
    expect(unsupported('native', 'mixed')).toBeNull();
    expect(unsupported('quichex', 'bulk', { noPacing: true })).toBeNull();
    expect(unsupported('tls', 'bulk', { noPacing: true })).toMatch(/quichex-only/);
    expect(unsupported('native', 'bulk', { noPacing: true })).toMatch(/never paces/);
  });

  it('evaluates the mixed-load and pacing targets', () => {
    const cases = allCases('quick', 1);
    const byId = (id: string): BenchCase => cases.find((c) => c.id === id) as BenchCase;
    const ok = (result: Record<string, number>): RunOutcome => ({ status: 'ok', result });
    const report = (c: BenchCase, cells: Partial<Record<Impl, RunOutcome[]>>): CaseReport => {
      const built = new Map(
        Object.entries(cells).map(([impl, runs]) => [impl as Impl, toCell(impl as Impl, c, runs ?? [])]),
      );
      return { case: c, cells: Object.fromEntries(built), ratios: ratios(c, built) };
    };
    const mixed = report(byId('mixed'), {
      quichex: [ok({ p50: 30, p90: 40, p99: 90, max: 90, failures: 0, uploadRatio: 0.8 })],
      tls: [ok({ p50: 20, p90: 30, p99: 40, max: 40, failures: 0, uploadRatio: 1 })],
    });
    const bulk = report(byId('bulk-1'), { quichex: [ok({ mbps: 95 })] });
    const unpaced = report(byId('bulk-1-unpaced'), { quichex: [ok({ mbps: 100 })] });
    const status = Object.fromEntries(evaluateTargets([bulk, unpaced, mixed]).map((t) => [t.id, t.status]));
    expect(status).toMatchObject({
      'mixed-p50': 'pass', // 1.5× tls, though above 10 ms
      'mixed-p99': 'fail', // 2.25× tls
      'mixed-max': 'pass',
      'mixed-failures': 'pass',
      'mixed-uploads': 'pass',
      'bulk-pacing': 'pass', // 0.95×
      'rr-native': 'n/a',
    });
  });
});
