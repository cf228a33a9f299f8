/**
 * The README's server patterns under churn must not leak connections. Two
 * servers, each run on its own:
 *
 * ```ts
 * // 'for-await': the README's server when this suite was written
 * server.on('connection', async (conn) => {
 *   for await (const stream of conn.streams()) {
 *     for await (const chunk of stream) await stream.write(chunk);
 *     await stream.end();
 *   }
 * });
 *
 * // 'stream-event': the README's server since the streams became concurrent
 * server.on('connection', (conn) => {
 *   conn.on('stream', async (stream) => {
 *     for await (const chunk of stream) await stream.write(chunk);
 *     await stream.end();
 *   });
 * });
 * ```
 *
 * 660 clients (40 at a time) use each: most echo a few bytes and close
 * gracefully, some are destroyed mid-stream, some idle out. The server's
 * connections are held only through WeakRefs; once all have closed (and
 * while the listener still runs), full garbage collections must free
 * (nearly) all of them, no unhandled rejection or uncaught exception may
 * have happened, and every native connection and socket must be given back.
 *
 * It runs in a child `node --expose-gc` (fixtures/readme-server-leak.mjs) for
 * a real gc() and a process whose unhandled rejections are all the server's.
 * The child imports the built package: build first (`npm test` does).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { generateTestCerts } from '../support/certs.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/readme-server-leak.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENTS = 660;
const CONCURRENCY = 40;
/** At most this many server connections may survive collection (e.g. a cache of the last one routed). */
const MAX_ALIVE = 5;
const CHILD_TIMEOUT_MS = 170_000;

type Pattern = 'for-await' | 'stream-event';

interface Counts {
  configs: number;
  connections: number;
  sockets: number;
}

interface LeakResult {
  watchdog?: boolean;
  clients: number;
  serverConnections: number;
  alive: number;
  aliveClosed: number;
  liveAfterDrain: number;
  drainedMs: number;
  baseline: Counts;
  countsBeforeClose: Counts;
  final: Counts;
  events: {
    unhandledRejection: number;
    uncaughtException: number;
    byCode: Record<string, number>;
    samples: string[];
  };
  stats: {
    graceful: number;
    destroyed: number;
    idled: number;
    echoMismatches: number;
    unexpectedCloses: number;
    clientErrors: number;
    clientErrorSamples: string[];
  };
  clientsMs: number;
  elapsedMs: number;
}

const certs = generateTestCerts();
afterAll(() => certs.cleanup());

/** Warns when the built package is older than its sources: the child would test stale code. */
function warnIfStale(): void {
  const dist = path.join(REPO_ROOT, 'packages/quichex/dist/index.js');
  const src = path.join(REPO_ROOT, 'packages/quichex/src');
  let built: number;
  try {
    built = statSync(dist).mtimeMs;
  } catch {
    throw new Error(`${dist} is missing: run \`npx turbo run build\` first`);
  }
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && statSync(path.join(src, f)).mtimeMs > built,
  );
  if (newer.length > 0) {
    console.warn(
      `readme-server-leak: packages/quichex/dist is older than src (${newer.join(', ')}); ` +
        'the child tests the built package: run `npx turbo run build` first',
    );
  }
}

/** Runs the child; resolves with its RESULT line (parsed) and its output. */
function runChild(pattern: Pattern): Promise<{
  result: LeakResult | null;
  code: number | null;
  stderr: string;
  stdout: string;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', SCRIPT], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        QUICHEX_STRESS_CERT: certs.cert,
        QUICHEX_STRESS_KEY: certs.key,
        QUICHEX_STRESS_CA: certs.caCert,
        QUICHEX_LEAK_CLIENTS: String(CLIENTS),
        QUICHEX_LEAK_CONCURRENCY: String(CONCURRENCY),
        QUICHEX_LEAK_PATTERN: pattern,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1_000_000) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1_000_000) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ result: line ? (JSON.parse(line.slice(7)) as LeakResult) : null, code, stderr, stdout });
    });
  });
}

it.each<Pattern>(['for-await', 'stream-event'])(
  `the README server (%s) frees its connections: ${CLIENTS} clients (graceful, destroyed mid-stream, idled out)`,
  async (pattern) => {
    warnIfStale();
    const { result, code, stderr, stdout } = await runChild(pattern);
    if (result === null || result.watchdog) {
      throw new Error(
        `the child did not finish (exit ${code}):\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`,
      );
    }
    const { events, stats } = result;
    console.log(
      `readme-server-leak (${pattern}): ${result.clients} clients (${stats.graceful} graceful, ${stats.destroyed} destroyed, ` +
        `${stats.idled} idled out, ${stats.clientErrors} failed) in ${result.clientsMs} ms; ` +
        `${result.serverConnections} server connections, ${result.alive} still reachable after gc ` +
        `(${result.aliveClosed} of them closed); ${events.unhandledRejection} unhandled rejections, ` +
        `${events.uncaughtException} uncaught exceptions ${JSON.stringify(events.byCode)}; resources ${JSON.stringify(result.final)} ` +
        `(baseline ${JSON.stringify(result.baseline)}); child ran ${result.elapsedMs} ms`,
    );
    for (const sample of [...events.samples, ...stats.clientErrorSamples]) console.log(`  ${sample}`);
    expect(code, stderr.slice(-2000)).toBe(0);

    // The clients did what they were meant to (else the numbers below mean little).
    expect.soft(stats.clientErrors, stats.clientErrorSamples.join('\n')).toBe(0);
    expect.soft(stats.echoMismatches).toBe(0);
    expect.soft(stats.unexpectedCloses).toBe(0);
    expect.soft(result.serverConnections).toBe(CLIENTS);
    expect.soft(result.liveAfterDrain, 'server connections still open long after every client left').toBe(0);

    // The leak: closed connections must become garbage.
    expect
      .soft(result.alive, `server connections still reachable after gc, of ${CLIENTS}`)
      .toBeLessThanOrEqual(MAX_ALIVE);
    expect.soft(events.unhandledRejection, events.samples.join('\n')).toBe(0);
    expect.soft(events.uncaughtException, events.samples.join('\n')).toBe(0);

    // Native resources: every connection freed; after the listener closed, sockets at baseline.
    expect.soft(result.countsBeforeClose.connections).toBe(0);
    expect.soft(result.final.connections).toBe(0);
    expect.soft(result.final.sockets).toBe(result.baseline.sockets);
  },
  CHILD_TIMEOUT_MS + 20_000,
);
