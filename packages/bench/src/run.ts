#!/usr/bin/env node
/**
 * The benchmark orchestrator (`npm run bench [-- --full] [--only a,b] [--scenario x,y]`).
 *
 * For each case, run and implementation of the case's family (transport, or
 * HTTP) it starts a server and a client process (every step under a
 * timeout), then takes medians, ratios of the family's subject (quichex, or
 * @quichex/h3) to each anchor and the targets, and writes bench-results/ (results.json,
 * results.md, chart.svg); in full mode also the PERFORMANCE.md section and
 * docs/bench-chart.svg.
 *
 * Exit code: 0 unless the orchestrator crashed or a quichex or @quichex/h3
 * peer failed (a broken benchmark). Anchors failing and targets missed are only reported.
 *
 * @module
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ratios, toCell } from './aggregate.js';
import { makeCerts } from './certs.js';
import { type Certs, NATIVE_MISSING, nativeBuilt, REPO_ROOT } from './commands.js';
import { familyOf } from './families.js';
import { describeMachine } from './machine.js';
import { IMPLS, type Impl } from './protocol.js';
import { type BenchReport, fmtNumber, updatePerformanceMd, writeOutputs } from './report.js';
import { runIdle } from './scenarios/idle.js';
import { allCases, filterCases } from './scenarios/index.js';
import { runMixed } from './scenarios/mixed.js';
import { runPair } from './scenarios/pair.js';
import type { BenchCase, Mode, RunOutcome } from './scenarios/types.js';
import { unsupported } from './support.js';
import { type CaseReport, evaluateTargets } from './targets.js';

const HELP = `Usage: npm run bench [-- options]

  --full              the issue's sizes (bulk 256 MiB, rr 10000, handshakes 500,
                      idle 1k/10k/100k, datagrams 100000, mixed 150 probes
                      during 4 uploads, HTTP GETs 10000 / 50000 and a
                      256 MiB download), 3 runs each; rewrites
                      the PERFORMANCE.md section when nothing is filtered
                      (default: quick mode, 1 run)
  --only LIST         implementations, comma-separated: ${IMPLS.join(',')}
  --scenario LIST     cases or scenarios, e.g. bulk,rr or bulk-1,idle-10k;
                      http is the HTTP cases (h3-get-1, h3-get-32, h3-bulk)
  --runs N            runs per case (default 1 quick, 3 full)
  --out DIR           output directory (default bench-results/ at the repo root)
  -h, --help          this help
`;

interface Options {
  mode: Mode;
  impls: Impl[];
  scenarios: string[];
  runs: number;
  out: string;
}

function list(v: string | undefined): string[] {
  return v === undefined
    ? []
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

function options(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean' },
      only: { type: 'string' },
      scenario: { type: 'string' },
      runs: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return null;
  }
  const mode: Mode = values.full ? 'full' : 'quick';
  const only = list(values.only);
  for (const name of only) {
    if (!(IMPLS as readonly string[]).includes(name))
      throw new Error(`--only: unknown implementation ${name}`);
  }
  const impls = only.length === 0 ? [...IMPLS] : IMPLS.filter((i) => only.includes(i));
  const runs = values.runs === undefined ? (mode === 'full' ? 3 : 1) : Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs must be 1..20');
  const scenarios = list(values.scenario);
  const known = allCases(mode, runs);
  for (const s of scenarios) {
    if (!known.some((c) => c.id === s || c.scenario === s)) {
      throw new Error(`--scenario: unknown case or scenario ${s} (${known.map((c) => c.id).join(', ')})`);
    }
  }
  return {
    mode,
    impls,
    scenarios,
    runs,
    out: path.resolve(values.out ?? path.join(REPO_ROOT, 'bench-results')),
  };
}

function summary(c: BenchCase, o: RunOutcome): string {
  if (o.status !== 'ok') return `${o.status}: ${o.error.slice(0, 200)}`;
  return c.metrics
    .map((m) => {
      const v = o.result[m.key];
      return typeof v === 'number' ? `${fmtNumber(v, m.digits)} ${m.label}` : `${m.label} —`;
    })
    .join(', ');
}

/** Server RSS per connection seen at the largest idle count so far, per impl. */
const idleKbPerConn = new Map<Impl, number>();

/**
 * Why an idle case would not fit in memory for `impl`, judging by its
 * smaller idle cases of this run (server and clients together ≈ 2× the
 * server), or `null`.
 */
function idleTooBig(impl: Impl, c: BenchCase): string | null {
  const kb = idleKbPerConn.get(impl);
  if (c.scenario !== 'idle' || kb === undefined) return null;
  const needGiB = (2 * kb * Number(c.args.count)) / 1024 ** 2;
  const haveGiB = os.totalmem() / 1024 ** 3;
  if (needGiB <= 0.6 * haveGiB) return null;
  return `skipped: at ${kb.toFixed(0)} KB per connection it would need ~${needGiB.toFixed(0)} GiB of this machine's ${haveGiB.toFixed(0)} GiB`;
}

function noteIdle(impl: Impl, c: BenchCase, o: RunOutcome): void {
  const kb = o.status === 'ok' ? o.result.serverRssKbPerConn : undefined;
  if (c.scenario === 'idle' && typeof kb === 'number' && kb > 0) idleKbPerConn.set(impl, kb);
}

async function runOne(impl: Impl, c: BenchCase, certs: Certs, mode: Mode): Promise<RunOutcome> {
  if (impl === 'native' && !nativeBuilt()) {
    return mode === 'full'
      ? { status: 'error', error: NATIVE_MISSING }
      : { status: 'n/a', error: NATIVE_MISSING };
  }
  const why = unsupported(impl, c.scenario, {
    newStream: c.args['new-stream'] === true,
    noPacing: c.args['no-pacing'] === true,
  });
  if (why !== null) return { status: 'n/a', error: why };
  const tooBig = idleTooBig(impl, c);
  if (tooBig !== null) return { status: 'n/a', error: tooBig };
  const o =
    c.scenario === 'idle'
      ? await runIdle(impl, c, certs)
      : c.scenario === 'mixed'
        ? await runMixed(impl, c, certs)
        : await runPair(impl, c, certs);
  noteIdle(impl, c, o);
  return o;
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  if (opts === null) return 0;
  const started = new Date();
  const t0 = performance.now();
  const cases = filterCases(allCases(opts.mode, opts.runs), opts.scenarios);
  const certs = makeCerts();
  const log = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  log(`bench: ${opts.mode} mode, ${cases.length} case(s) × ${opts.impls.join(', ')}`);
  if (opts.impls.includes('native') && !nativeBuilt()) log(`bench: native quiche ${NATIVE_MISSING}`);
  const reports: CaseReport[] = [];
  try {
    for (const c of cases) {
      // A case runs the implementations of its family only (transport or HTTP).
      const impls = opts.impls.filter((i) => familyOf(c.scenario).impls.includes(i));
      if (impls.length === 0) continue;
      const outcomes = new Map<Impl, RunOutcome[]>(impls.map((i) => [i, []]));
      // Runs interleave the implementations, so a slow minute of the machine
      // does not land on one implementation only.
      for (let run = 0; run < c.runs; run++) {
        for (const impl of impls) {
          // @matrixai/quic moves bulk data at about 1 MB/s: one 256 MiB run
          // takes minutes, so it runs once (its spread is far below the
          // orders of magnitude being compared).
          if (run > 0 && impl === 'matrixai' && c.scenario === 'bulk' && opts.mode === 'full') continue;
          const t = performance.now();
          const o = await runOne(impl, c, certs, opts.mode);
          outcomes.get(impl)?.push(o);
          const secs = ((performance.now() - t) / 1000).toFixed(1);
          log(`[${c.id}] ${impl} run ${run + 1}/${c.runs} (${secs} s): ${summary(c, o)}`);
        }
      }
      const cells = new Map(impls.map((i) => [i, toCell(i, c, outcomes.get(i) ?? [])]));
      reports.push({ case: c, cells: Object.fromEntries(cells), ratios: ratios(c, cells) });
    }
  } finally {
    certs.dispose();
  }

  const broken: string[] = [];
  for (const r of reports) {
    const subject = familyOf(r.case.scenario).subject;
    for (const o of r.cells[subject]?.runs ?? []) {
      if (o.status === 'error') broken.push(`${subject} ${r.case.id}: ${o.error}`);
    }
  }
  const report: BenchReport = {
    mode: opts.mode,
    startedAt: started.toISOString(),
    durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
    machine: await describeMachine(),
    impls: opts.impls,
    cases: reports,
    targets: evaluateTargets(reports),
    broken,
  };
  const md = writeOutputs(report, opts.out);
  // A filtered run must not replace the full picture.
  const complete = opts.impls.length === IMPLS.length && opts.scenarios.length === 0;
  const publish = opts.mode === 'full' && complete;
  if (publish) updatePerformanceMd(report, md, REPO_ROOT, path.join(opts.out, 'chart.svg'));
  else if (opts.mode === 'full') log('bench: filtered run (--only/--scenario): PERFORMANCE.md left as it is');
  process.stdout.write(`${md}\n\n`);
  log(
    `bench: ${report.durationSeconds} s; wrote ${path.relative(process.cwd(), opts.out) || '.'}/results.{json,md}, chart.svg${publish ? ', PERFORMANCE.md, docs/bench-chart.svg' : ''}`,
  );
  if (broken.length > 0) {
    log(`bench: BROKEN — a quichex or @quichex/h3 peer failed:\n  ${broken.join('\n  ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
