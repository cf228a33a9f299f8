#!/usr/bin/env node
/**
 * Prints the CI run's test count as its last line, `N passed, N failed` (with
 * `, N skipped` when any test was skipped), and exits 1 when N failed > 0.
 * Plain Node, no dependencies: it must work even when `npm ci` did not.
 *
 *   node scripts/count-tests.mjs [--vitest FILE --vitest-exit CODE] [--interop FILE --interop-exit CODE]
 *                                [--release FILE --release-exit CODE] [--glue FILE --glue-exit CODE]
 *                                [--coverage FILE]
 *
 * A step's `--*-exit` is its exit code; leave it out when the step never ran
 * (an earlier step failed), and nothing is counted for it.
 *
 * What counts:
 * - vitest (`npm test`): every test in its JSON report (QUICHEX_TEST_JSON, see
 *   vitest.config.ts): passed, failed and skipped (skipped or todo) as vitest
 *   says. A test file that failed outside any test (an import error, a failing
 *   beforeAll/afterAll) counts as one failed test. A run that fails only on
 *   its coverage thresholds has no failed test in the report: it counts as one
 *   failed test through the rule for failed steps below. `--coverage` names
 *   vitest's coverage summary (coverage-summary.json), printed as a detail
 *   line when the vitest step ran.
 * - interop (`npm run interop`, the CI subset): the cells of interop-results.json
 *   that gate the runner's exit code, i.e. quichex <-> quichex. A pass is passed,
 *   a FAIL is failed. A FAIL* (a known issue, KNOWN_ISSUES in test/interop/matrix.ts)
 *   and unsupported / n/a cells are neither, as the runner does not fail on them.
 *   Cells against other peers are a compatibility table, not a gate: the runner
 *   exits 0 whatever they show, so they are summarised but not counted (counting
 *   their passes but not their failures would inflate the count).
 * - glue (`scripts/test-glue.sh`, the Rust tests of vendor/quiche/src): each
 *   `cargo test` result in its JSON report (QUICHEX_GLUE_JSON) is one test.
 * - release check (`scripts/release-check.sh`, publish-and-install through a
 *   local registry): each check in its JSON report (QUICHEX_RELEASE_JSON) is
 *   one test, passed or failed.
 * - A test step that exited non-zero without any failure in its report (it
 *   crashed, an unhandled error, no report written) counts as one failed test,
 *   so the line never reads `0 failed` for a failed test step. Likewise a step
 *   that exited 0 but left no report: its tests cannot have been counted.
 *
 * The detail lines above the final one are worded so they never match the
 * `N passed, N failed` shape themselves.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, stripVTControlCharacters as stripAnsi } from 'node:util';

const { values: argv } = parseArgs({
  options: {
    vitest: { type: 'string' },
    'vitest-exit': { type: 'string' },
    interop: { type: 'string' },
    'interop-exit': { type: 'string' },
    release: { type: 'string' },
    'release-exit': { type: 'string' },
    glue: { type: 'string' },
    'glue-exit': { type: 'string' },
    coverage: { type: 'string' },
  },
});

const MAX_LISTED = 20;
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

const say = (line) => process.stdout.write(`count: ${line}\n`);

/** The step's exit code, or null when it did not run. */
function exitCode(raw) {
  if (raw === undefined || raw === '') return null;
  const code = Number(raw);
  return Number.isInteger(code) ? code : 1;
}

/** The parsed report, or a string saying why there is none. */
function readReport(file) {
  if (!file || !existsSync(file)) return `no report at ${file ?? '(no path given)'}`;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return `unreadable report ${file}: ${err.message}`;
  }
}

/**
 * Counts one step: `tally(report)` returns the failures it found in it (already
 * added to `passed` / `failed`). A failed step with none of its own, or a missing
 * report, adds one failure.
 */
function countStep(name, file, rawExit, tally) {
  const code = exitCode(rawExit);
  if (code === null) {
    say(`${name}: not run`);
    return;
  }
  const report = readReport(file);
  let found = 0;
  let problem = typeof report === 'string' ? report : null;
  if (!problem) {
    try {
      found = tally(report);
    } catch (err) {
      problem = `report not understood: ${err.message}`;
    }
  }
  if (problem) say(`${name}: exit ${code}, ${problem}`);
  if (found === 0 && (code !== 0 || problem)) {
    failed += 1;
    const why = problem ? `exit ${code}, ${problem}` : `exit ${code} with no failing test in its report`;
    failures.push(`${name}: the step counts as 1 failed test (${why})`);
  }
}

countStep('vitest', argv.vitest, argv['vitest-exit'], (r) => {
  if (typeof r.numPassedTests !== 'number' || !Array.isArray(r.testResults)) {
    throw new Error('no numPassedTests / testResults');
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  let found = r.numFailedTests;
  for (const file of r.testResults) {
    const bad = file.assertionResults.filter((t) => t.status === 'failed');
    for (const t of bad) {
      // The first line of the failure too: CI's log may keep only its tail.
      const why = stripAnsi(String(t.failureMessages?.[0] ?? '').split('\n')[0] ?? '').slice(0, 200);
      failures.push(`vitest: ${file.name} > ${t.fullName}${why ? ` (${why})` : ''}`);
    }
    if (file.status === 'failed' && bad.length === 0) {
      failed += 1;
      found += 1;
      const why = (file.message ?? '').split('\n')[0];
      failures.push(`vitest: ${file.name} failed outside any test${why ? `: ${why}` : ''}`);
    }
  }
  say(
    `vitest: pass ${r.numPassedTests}  fail ${found}  skip ${r.numPendingTests}  todo ${r.numTodoTests}` +
      `  (${r.testResults.length} files)`,
  );
  return found;
});

// Coverage is not a test: its thresholds fail the vitest step (above); this
// line only shows the figures.
if (exitCode(argv['vitest-exit']) !== null && argv.coverage) {
  const summary = readReport(argv.coverage);
  if (typeof summary === 'string') say(`coverage: ${summary}`);
  else {
    const t = summary.total ?? {};
    const pct = (k) => (typeof t[k]?.pct === 'number' ? `${t[k].pct} %` : 'n/a');
    say(
      `coverage of @quichex/ffi, quichex and @quichex/h3: lines ${pct('lines')}, statements ${pct('statements')},` +
        ` functions ${pct('functions')}, branches ${pct('branches')}`,
    );
  }
}

countStep('interop', argv.interop, argv['interop-exit'], (r) => {
  if (!Array.isArray(r.results)) throw new Error('no results');
  const tally = (cells) => {
    const t = { pass: 0, fail: 0, known: 0, other: 0 };
    for (const c of cells) {
      if (c.status === 'pass') t.pass += 1;
      else if (c.status === 'fail' && c.known) t.known += 1;
      else if (c.status === 'fail') t.fail += 1;
      else t.other += 1;
    }
    return t;
  };
  const gated = r.results.filter((c) => c.peer === 'quichex');
  const self = tally(gated);
  passed += self.pass;
  failed += self.fail;
  for (const c of gated) {
    if (c.status === 'fail' && !c.known)
      failures.push(`interop: quichex <-> quichex ${c.case}: ${c.reason ?? ''}`);
  }
  const peers = tally(r.results.filter((c) => c.peer !== 'quichex'));
  say(
    `interop quichex <-> quichex (gating, counted): pass ${self.pass}  fail ${self.fail}` +
      `  (not counted: ${self.known} FAIL* known issue, ${self.other} unsupported or n/a)`,
  );
  say(
    `interop other peers (informational, not counted): pass ${peers.pass}  FAIL ${peers.fail}` +
      `  FAIL* ${peers.known}  unsupported or n/a ${peers.other}`,
  );
  return self.fail;
});

countStep('glue', argv.glue, argv['glue-exit'], (r) => {
  if (!Array.isArray(r.tests)) throw new Error('no tests');
  let pass = 0;
  let fail = 0;
  for (const t of r.tests) {
    if (t.status === 'pass') pass += 1;
    else if (t.status === 'fail') {
      fail += 1;
      failures.push(`glue (cargo test): ${t.name}`);
    } else skipped += 1;
  }
  passed += pass;
  failed += fail;
  say(`glue (Rust tests of vendor/quiche/src): pass ${pass}  fail ${fail}`);
  return fail;
});

countStep('release check', argv.release, argv['release-exit'], (r) => {
  if (!Array.isArray(r.checks)) throw new Error('no checks');
  let pass = 0;
  let fail = 0;
  for (const c of r.checks) {
    if (c.status === 'pass') pass += 1;
    else {
      fail += 1;
      failures.push(`release check: ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
    }
  }
  passed += pass;
  failed += fail;
  say(`release check (publish to a local registry, install without Rust): pass ${pass}  fail ${fail}`);
  return fail;
});

if (failures.length) {
  say('failed:');
  for (const f of failures.slice(0, MAX_LISTED)) process.stdout.write(`  ${f}\n`);
  if (failures.length > MAX_LISTED) process.stdout.write(`  … ${failures.length - MAX_LISTED} more\n`);
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed > 0 ? 1 : 0;
