/**
 * The HTTP/3 mode of the interop matrix (`npm run interop -- --h3`): drivers
 * that follow the HTTP/3 contract of README.md, the h3-* cases, and their
 * runner. Every peer takes both roles; by default each peer meets quichex
 * (its h3 driver on @quichex/h3, `peers/quichex/h3-fetch.mjs`), and with
 * `--cross` every client meets every server, quichex or not.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateTestCerts, type TestCerts } from '../support/certs.js';
import { aioquicPython, cacheDir, type Outcome, REPO_ROOT, type Verdict } from './matrix.js';
import { describeExit, type Proc, startProc, stopProc, waitForLine, within } from './proc.js';
import { type RelayCounters, type RelayOptions, startRelay } from './relay.js';
import { CELL_TEXT, cellLine, markdownTable, NoteGroups, textTable, writeInteropBlock } from './report.js';
import { contractClient, contractServerArgv } from './sides.js';
import {
  cachedWww,
  errorLine,
  seedFor,
  sha256,
  summarize,
  tail,
  unsupportedLine,
  verifyFiles,
  type Www,
} from './www.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const READY_TIMEOUT_MS = 20_000;
const DEFAULT_CASE_TIMEOUT_MS = 30_000;
const PEERS_DIR = path.join(REPO_ROOT, 'test/interop/peers');

// -- sides ------------------------------------------------------------------------------

/** What a case asks of a side beyond GET. */
export type H3Feature = 'post' | 'cancel' | 'goaway';

/** One implementation's HTTP/3 driver. */
export interface H3Side {
  readonly name: string;
  /** Why it cannot run at all (not installed), or null. */
  unavailable(): string | null;
  /** The program and its mode for a role; the runner appends the contract's options. */
  argv(role: 'server' | 'client'): string[];
  /** Features it lacks as a server / client, with the reason. */
  readonly serverCannot?: Partial<Record<H3Feature, string>>;
  readonly clientCannot?: Partial<Record<H3Feature, string>>;
}

const INSTALL = 'run `bash scripts/install-interop-peers.sh`';
const QUICHEX_H3 = path.join(PEERS_DIR, 'quichex', 'h3-fetch.mjs');
const h3Dist = path.join(REPO_ROOT, 'packages/h3/dist/index.js');

function binary(file: string): () => string | null {
  return () => (existsSync(file) ? null : `no ${file}: ${INSTALL}`);
}

/**
 * The HTTP/3 drivers. quichex's is `peers/quichex/h3-fetch.mjs`: @quichex/h3's
 * `serve()` and `fetch()` (the CLI's `serve --h3` / `get --h3` sit on the same
 * two functions).
 */
export const H3_PEERS: readonly H3Side[] = [
  {
    name: 'quichex',
    unavailable: () => (existsSync(h3Dist) ? null : '@quichex/h3 is not built: run `npm run build`'),
    argv: (role) => [process.execPath, QUICHEX_H3, role, '--h3'],
  },
  {
    name: 'aioquic',
    unavailable: () =>
      existsSync(aioquicPython()) ? null : `no python with aioquic at ${aioquicPython()}: ${INSTALL}`,
    argv: (role) => [aioquicPython(), path.join(PEERS_DIR, 'aioquic_h3.py'), `h3-${role}`],
  },
  {
    name: 'quic-go',
    unavailable: binary(path.join(cacheDir(), 'bin', 'quicgo-peer')),
    argv: (role) => [path.join(cacheDir(), 'bin', 'quicgo-peer'), `h3-${role}`],
  },
  {
    name: 'quinn',
    unavailable: binary(path.join(cacheDir(), 'bin', 'quinn-peer')),
    argv: (role) => [path.join(cacheDir(), 'bin', 'quinn-peer'), `h3-${role}`],
  },
  {
    name: 'ngtcp2',
    unavailable: () =>
      existsSync('/usr/sbin/gtlsserver') && existsSync('/usr/bin/gtlsclient')
        ? null
        : 'no /usr/sbin/gtlsserver or /usr/bin/gtlsclient: `apt-get install ngtcp2-server ngtcp2-client`',
    argv: (role) => [process.execPath, path.join(PEERS_DIR, 'ngtcp2.mjs'), `h3-${role}`],
    serverCannot: {
      post: 'gtlsserver only serves files: POST /echo gets 404',
      goaway: 'gtlsserver sends no GOAWAY: SIGTERM ends it at once',
    },
    clientCannot: { cancel: 'gtlsclient cannot abandon a request it started' },
  },
];

// -- cases ------------------------------------------------------------------------------

export interface H3CaseDef {
  readonly name: string;
  readonly description: string;
  /** Sizes of the files to serve; the client GETs all of them. */
  readonly files: readonly number[];
  /** POST this many random bytes to /echo (`--post`). */
  readonly post?: number;
  /** `--cancel`: the first file is abandoned after its first bytes, the rest must arrive. */
  readonly cancel?: boolean;
  /** SIGTERM the server once the relay forwarded this many bytes to the client. */
  readonly goawayAfterBytes?: number;
  readonly relay?: Omit<RelayOptions, 'server'>;
  readonly timeoutMs?: number;
  readonly check?: (o: H3Outcome) => Verdict | null;
}

export interface H3Outcome extends Outcome {
  /** When the runner sent the server SIGTERM (ms after the client started), if it did. */
  sigtermAtMs: number | null;
  /** The server's exit after the client finished (null: still running 5 s later). */
  serverExit: string | null;
}

const paced = { rateBytesPerSec: 2 * MiB, maxQueueBytes: 256 * KiB };
const CANCELLED_SIZE = 8 * MiB;

export const H3_CASES: readonly H3CaseDef[] = [
  {
    name: 'h3-get',
    description: 'GET files of 1 B, 1 KiB, 64 KiB, 1 MiB and 5 MiB concurrently on one connection',
    files: [1, 1 * KiB, 64 * KiB, 1 * MiB, 5 * MiB],
  },
  {
    name: 'h3-concurrent',
    description: '50 small files (200 B … 3 KiB) concurrently on one connection',
    files: Array.from({ length: 50 }, (_, i) => 200 + ((i * 97) % 3000)),
  },
  {
    name: 'h3-post',
    description: 'POST 2 MiB to /echo; the server streams it back (SHA-256 of the echo checked)',
    files: [],
    post: 2 * MiB,
  },
  {
    name: 'h3-cancel',
    description:
      'the client abandons an 8 MiB response (2 MiB/s bottleneck) after its first bytes, then GETs 3 more files on the same connection',
    files: [CANCELLED_SIZE, 1 * KiB, 64 * KiB, 4 * KiB],
    cancel: true,
    relay: { toClient: paced },
    check: (o) => {
      if (!o.client.includes('CANCELLED true'))
        return { status: 'fail', reason: 'the client printed no CANCELLED true' };
      const sent = o.relay?.toClient.forwardedBytes ?? 0;
      if (sent >= CANCELLED_SIZE)
        return {
          status: 'fail',
          reason: `the server kept sending: ${sent} bytes reached the client for an abandoned ${CANCELLED_SIZE}-byte response`,
        };
      return null;
    },
  },
  {
    name: 'h3-goaway',
    description:
      'the server gets SIGTERM mid-transfer (2 MiB/s bottleneck): it must send GOAWAY, finish the requests in flight, then exit 0 once the client closed',
    files: [3 * MiB, 3 * MiB, 16 * KiB],
    goawayAfterBytes: 256 * KiB,
    relay: { toClient: paced },
    check: (o) => {
      if (o.sigtermAtMs === null)
        return { status: 'fail', reason: 'the transfer ended before the server got SIGTERM' };
      if (!o.server.includes('GOAWAY sent'))
        return { status: 'fail', reason: 'the server printed no GOAWAY sent' };
      if (o.serverExit !== 'exit 0')
        return {
          status: 'fail',
          reason: `the server did not exit 0 after the drain (${o.serverExit ?? 'still running 5 s after the client'})`,
        };
      return null;
    },
  },
  {
    name: 'h3-loss',
    description: '2 % random loss each way (relay) while GETting 1 MiB, 1 MiB and 64 KiB',
    files: [1 * MiB, 1 * MiB, 64 * KiB],
    relay: { toServer: { loss: 0.02 }, toClient: { loss: 0.02 } },
    check: (o) =>
      o.relay && o.relay.toClient.droppedLoss > 0
        ? null
        : { status: 'fail', reason: 'the relay dropped nothing' },
  },
];

/** The h3 cases the default run (no --h3) adds, quichex ↔ quichex only. */
export const H3_CI_CASES: readonly string[] = ['h3-get', 'h3-post', 'h3-cancel'];

// -- one cell -----------------------------------------------------------------------------

export type H3Status = 'pass' | 'fail' | 'unsupported' | 'unavailable';

export interface H3CellResult {
  client: string;
  server: string;
  case: string;
  status: H3Status;
  reason?: string;
  durationMs: number;
  clientExit?: string;
  serverExit?: string;
  sigtermAtMs?: number;
  clientStdout?: string[];
  clientStderr?: string[];
  serverStdout?: string[];
  serverStderr?: string[];
  relay?: Omit<RelayCounters, 'amplification' | 'errors'> & { errors?: string[] };
}

interface H3Context {
  root: string;
  certs: TestCerts;
  www: Map<string, Www>;
  posts: Map<string, { file: string; sha256: string }>;
}

function needs(c: H3CaseDef): { server: H3Feature[]; client: H3Feature[] } {
  const server: H3Feature[] = [];
  const client: H3Feature[] = [];
  if (c.post) {
    server.push('post');
    client.push('post');
  }
  if (c.cancel) client.push('cancel');
  if (c.goawayAfterBytes) server.push('goaway');
  return { server, client };
}

function cannot(side: H3Side, role: 'server' | 'client', features: H3Feature[]): string | null {
  const table = role === 'server' ? side.serverCannot : side.clientCannot;
  for (const f of features) {
    const why = table?.[f];
    if (why) return `${side.name} ${role}: ${why}`;
  }
  return null;
}

export async function runH3Cell(
  ctx: H3Context,
  c: H3CaseDef,
  clientSide: H3Side,
  serverSide: H3Side,
): Promise<H3CellResult> {
  const result: H3CellResult = {
    client: clientSide.name,
    server: serverSide.name,
    case: c.name,
    status: 'fail',
    durationMs: 0,
  };
  const missing = clientSide.unavailable() ?? serverSide.unavailable();
  if (missing) return { ...result, status: 'unavailable', reason: missing };
  const n = needs(c);
  const why = cannot(serverSide, 'server', n.server) ?? cannot(clientSide, 'client', n.client);
  if (why) return { ...result, status: 'unsupported', reason: why };
  try {
    await runCellInner(ctx, c, clientSide, serverSide, result);
  } catch (err) {
    result.status = 'fail';
    result.reason = `runner: ${(err as Error).message}`;
  }
  return result;
}

async function runCellInner(
  ctx: H3Context,
  c: H3CaseDef,
  clientSide: H3Side,
  serverSide: H3Side,
  result: H3CellResult,
): Promise<void> {
  const www = await cachedWww(ctx.www, ctx.root, c);
  let post = ctx.posts.get(c.name);
  if (c.post && !post) {
    const data = randomBytes(c.post);
    const file = path.join(ctx.root, `post-${c.name}`);
    await writeFile(file, data);
    post = { file, sha256: sha256(data) };
    ctx.posts.set(c.name, post);
  }
  const host = '127.0.0.1';
  const timeoutMs = c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  const out = await mkdtemp(path.join(ctx.root, `out-${c.name}-`));
  let server: Proc | null = null;
  let client: Proc | null = null;
  let relay: Awaited<ReturnType<typeof startRelay>> | null = null;
  let watcher: ReturnType<typeof setInterval> | null = null;
  try {
    server = startProc(
      `${serverSide.name} h3 server`,
      contractServerArgv(serverSide.argv('server'), {
        host,
        cert: ctx.certs.cert,
        key: ctx.certs.key,
        root: www.dir,
        lifetimeS: Math.ceil(timeoutMs / 1000) + 60,
      }),
    );
    const port = Number((await waitForLine(server, /^READY (\d+)$/, READY_TIMEOUT_MS))[1]);
    let target = { host, port };
    if (c.relay) {
      relay = await startRelay({
        ...c.relay,
        server: { host, port },
        seed: seedFor(c.name, clientSide.name, serverSide.name),
      });
      target = { host: relay.host, port: relay.port };
    }
    const argv = contractClient(
      clientSide.argv('client'),
      {
        host: target.host,
        port: target.port,
        ca: ctx.certs.caCert,
        out,
        timeoutS: Math.ceil(timeoutMs / 1000),
        paths: www.files.map((f) => `/${f.name}`),
      },
      [...(post ? ['--post', post.file] : []), ...(c.cancel ? ['--cancel'] : [])],
    );
    const t0 = performance.now();
    client = startProc(`${clientSide.name} h3 client`, argv);
    let sigtermAtMs: number | null = null;
    if (c.goawayAfterBytes && relay) {
      const r = relay;
      const s = server;
      watcher = setInterval(() => {
        if (r.counters().toClient.forwardedBytes < (c.goawayAfterBytes ?? 0) || sigtermAtMs !== null) return;
        sigtermAtMs = Math.round(performance.now() - t0);
        s.child.kill('SIGTERM'); // the driver itself, not its group: it must shut down on its own
      }, 10);
    }
    const exit = await within(client.exited, timeoutMs + 10_000, 'the client').catch(() => null);
    if (watcher) clearInterval(watcher);
    result.durationMs = Math.round(performance.now() - t0);
    if (!exit) {
      await stopProc(client);
      result.clientExit = `killed after ${timeoutMs + 10_000} ms`;
    } else {
      result.clientExit = describeExit(exit);
    }
    if (sigtermAtMs !== null) result.sigtermAtMs = sigtermAtMs;
    let serverExit: string | null = null;
    if (sigtermAtMs !== null) {
      const e = await within(server.exited, 5000, 'the server').catch(() => null);
      serverExit = e ? describeExit(e) : null;
      result.serverExit = serverExit ?? 'still running 5 s after the client';
    }
    const counters = relay?.counters() ?? null;
    if (counters) {
      const { amplification: _a, errors, ...rest } = counters;
      result.relay = { ...rest, ...(errors.length ? { errors } : {}) };
    }
    const checked = c.cancel ? { ...www, files: www.files.slice(1) } : www;
    const problems = await verifyFiles(checked, out);
    if (post) {
      const echo = await readFile(path.join(out, 'echo')).catch(() => null);
      if (echo === null) problems.push('echo: missing');
      else if (sha256(echo) !== post.sha256) problems.push(`echo: ${echo.length} bytes, SHA-256 mismatch`);
    }
    const outcome: H3Outcome = {
      client: client.stdout,
      server: server.stdout,
      relay: counters,
      role: 'client',
      sigtermAtMs,
      serverExit,
    };
    const exitOk = exit !== null && exit.code === 0;
    let verdict: Verdict | null;
    if (problems.length === 0 && exitOk) {
      verdict = c.check?.(outcome) ?? null;
    } else {
      const unsupported = unsupportedLine(client.stdout, server.stdout);
      if (unsupported) {
        verdict = { status: 'unsupported', reason: unsupported };
      } else {
        const err = errorLine(client.stdout) ?? `client ${result.clientExit}`;
        const files = problems.length ? ` — files: ${summarize(problems)}` : '';
        const died =
          server.exit && sigtermAtMs === null ? `; the server had exited (${describeExit(server.exit)})` : '';
        verdict = {
          status: 'fail',
          reason: `${problems.length === 0 ? `files intact but ${err}` : err}${files}${died}`,
        };
      }
    }
    result.status = verdict ? verdict.status : 'pass';
    if (verdict) result.reason = verdict.reason;
  } finally {
    if (watcher) clearInterval(watcher);
    if (client) await stopProc(client);
    if (server) await stopProc(server);
    await relay?.close();
    if (result.status !== 'pass') {
      result.clientStdout = tail(client?.stdout);
      result.clientStderr = tail(client?.stderr);
      result.serverStdout = tail(server?.stdout);
      result.serverStderr = tail(server?.stderr);
    }
    await rm(out, { recursive: true, force: true });
  }
}

// -- the mode -------------------------------------------------------------------------------

export interface H3Pair {
  label: string;
  client: H3Side;
  server: H3Side;
}

/**
 * The pairs to run: quichex against each peer in the chosen roles (quichex ↔ quichex once),
 * or with `cross` every client × server among the chosen peers.
 */
export function h3Pairs(
  peers: readonly H3Side[],
  roles: readonly ('client' | 'server')[],
  cross: boolean,
): H3Pair[] {
  const quichex = H3_PEERS[0]!;
  const pairs: H3Pair[] = [];
  const add = (client: H3Side, server: H3Side): void => {
    pairs.push({ label: `${client.name} → ${server.name}`, client, server });
  };
  if (cross) {
    for (const client of peers) for (const server of peers) add(client, server);
    return pairs;
  }
  for (const peer of peers) {
    if (peer.name === 'quichex') {
      add(quichex, quichex);
      continue;
    }
    if (roles.includes('client')) add(quichex, peer);
    if (roles.includes('server')) add(peer, quichex);
  }
  return pairs;
}

const cellOf = (results: readonly H3CellResult[], p: H3Pair, c: string): H3CellResult | undefined =>
  results.find((x) => x.client === p.client.name && x.server === p.server.name && x.case === c);

export function h3Table(
  pairs: readonly H3Pair[],
  cases: readonly string[],
  results: readonly H3CellResult[],
): string {
  return textTable(
    pairs,
    (p) => p.label,
    cases,
    (p, c) => {
      const r = cellOf(results, p, c);
      return r && CELL_TEXT[r.status];
    },
  );
}

export function h3Notes(results: readonly H3CellResult[]): string[] {
  const lines: string[] = [];
  const grouped = new NoteGroups();
  for (const r of results) {
    const pair = `${r.client} → ${r.server}`;
    if (r.status === 'pass') continue;
    if (r.status === 'fail') {
      lines.push(`FAIL ${r.case}, ${pair}: ${r.reason ?? ''}`);
      continue;
    }
    grouped.add(`${CELL_TEXT[r.status]}: ${r.reason}`, r.case, pair);
  }
  return [...lines, ...grouped.lines()];
}

/** A context for running h3 cells (certificates and files under `root`). */
export function h3Context(root: string, certs: TestCerts): H3Context {
  return { root, certs, www: new Map(), posts: new Map() };
}

export interface H3RunOptions {
  peers: readonly string[];
  cases: readonly string[];
  roles: readonly ('client' | 'server')[];
  cross: boolean;
  keep: boolean;
  /** Where to write the JSON results. */
  resultsFile: string;
  /** Rewrite the table between INTEROP.md's h3 markers with this run's. */
  updateMd?: boolean;
}

const H3_BEGIN = '<!-- interop-h3:begin -->';
const H3_END = '<!-- interop-h3:end -->';

function h3Markdown(
  pairs: readonly H3Pair[],
  cases: readonly string[],
  results: readonly H3CellResult[],
): string {
  const md = (r: H3CellResult): string => (r.status === 'fail' ? '**FAIL**' : CELL_TEXT[r.status]);
  return markdownTable(
    pairs,
    (p) => p.label,
    cases,
    (p, c) => {
      const r = cellOf(results, p, c);
      return r && md(r);
    },
  );
}

async function updateInteropMd(
  pairs: readonly H3Pair[],
  cases: readonly string[],
  results: readonly H3CellResult[],
): Promise<void> {
  await writeInteropBlock(
    H3_BEGIN,
    H3_END,
    `Last run: ${new Date().toISOString().slice(0, 10)} (\`npm run interop -- --h3 --cross --full\`).`,
    h3Markdown(pairs, cases, results),
    h3Notes(results),
  );
}

/** Runs the HTTP/3 matrix; resolves with the exit code (1: a quichex ↔ quichex cell failed). */
export async function runH3Matrix(o: H3RunOptions): Promise<number> {
  const peers = H3_PEERS.filter((p) => o.peers.includes(p.name));
  const cases = H3_CASES.filter((c) => o.cases.includes(c.name));
  const pairs = h3Pairs(peers, o.roles, o.cross);
  const root = await mkdtemp(path.join(tmpdir(), 'quichex-interop-h3-'));
  const certs = generateTestCerts();
  const ctx = h3Context(root, certs);
  const results: H3CellResult[] = [];
  const t0 = performance.now();
  process.stdout.write(
    `interop (HTTP/3): ${pairs.length} pairs × ${cases.length} cases (${cases.map((c) => c.name).join(', ')})\n`,
  );
  try {
    for (const pair of pairs) {
      for (const c of cases) {
        const r = await runH3Cell(ctx, c, pair.client, pair.server);
        results.push(r);
        process.stdout.write(cellLine(pair.label, c.name, 14, CELL_TEXT[r.status], r));
      }
    }
  } finally {
    certs.cleanup();
    if (o.keep) process.stdout.write(`kept ${root}\n`);
    else await rm(root, { recursive: true, force: true });
  }
  const caseNames = cases.map((c) => c.name);
  process.stdout.write(`\n${h3Table(pairs, caseNames, results)}\n\n`);
  for (const n of h3Notes(results)) process.stdout.write(`${n}\n`);
  const elapsed = Math.round((performance.now() - t0) / 1000);
  process.stdout.write(`\n${results.length} cells in ${elapsed} s\n`);
  await writeFile(
    o.resultsFile,
    `${JSON.stringify({ date: new Date().toISOString(), mode: 'h3', cases: caseNames, elapsedSeconds: elapsed, results }, null, 2)}\n`,
  );
  process.stdout.write(`wrote ${path.relative(REPO_ROOT, o.resultsFile)}\n`);
  if (o.updateMd) {
    await updateInteropMd(pairs, caseNames, results);
    process.stdout.write('updated INTEROP.md (HTTP/3 table)\n');
  }
  const self = results.filter((r) => r.client === 'quichex' && r.server === 'quichex' && r.status === 'fail');
  if (self.length) {
    process.stdout.write(`quichex ↔ quichex (HTTP/3) failed: ${self.map((r) => r.case).join(', ')}\n`);
    return 1;
  }
  return 0;
}
