/**
 * The interop matrix: every peer × quichex's role × case, on loopback.
 *
 *   npm run interop [-- --peers a,b] [--cases x,y] [--roles client,server] [--full] [--keep]
 *   npm run interop -- --h3 [--cross] [--peers a,b] [--cases h3-x,h3-y] [--roles …] [--keep]
 *
 * For each cell: serve freshly generated random files with the server
 * driver (wait for `READY <port>`), optionally put the impairment relay in
 * front of it, run the client driver into an empty directory, then verify
 * the SHA-256 of every file and the case's own result lines. Prints a table,
 * writes interop-results.json, and with --full rewrites INTEROP.md's table.
 * Exits 1 only when a quichex ↔ quichex cell fails or the runner crashes.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Config, type Connection, connect, listen, quicheVersion } from 'quichex';
import { generateTestCerts, signCsr, type TestCerts } from '../support/certs.js';
import { H3_CASES, H3_CI_CASES, H3_PEERS, h3Context, h3Pairs, runH3Cell, runH3Matrix } from './h3.js';
import {
  aioquicPython,
  CASES,
  type CaseDef,
  CI_CASES,
  KNOWN_ISSUES,
  type Outcome,
  PEERS,
  type PeerDef,
  quichexSide,
  REPO_ROOT,
  type Role,
  type Verdict,
} from './matrix.js';
import {
  describeExit,
  type ExitInfo,
  killAll,
  type Proc,
  startProc,
  stopProc,
  waitForLine,
  within,
} from './proc.js';
import { type RelayCounters, startRelay } from './relay.js';
import { CELL_TEXT, cellLine, markdownTable, NoteGroups, textTable, writeInteropBlock } from './report.js';
import type { Side } from './sides.js';
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

type Status = 'pass' | 'fail' | 'unsupported' | 'unavailable';

interface CellResult {
  peer: string;
  role: Role;
  client: string;
  server: string;
  case: string;
  status: Status;
  reason?: string;
  /** For a failure that matches a known issue: the issue (not counted in the exit code). */
  known?: string;
  durationMs: number;
  clientExit?: string;
  /** Result lines derived for clients that cannot print them (ngtcp2). */
  derived?: string[];
  clientStdout?: string[];
  clientStderr?: string[];
  serverStdout?: string[];
  serverStderr?: string[];
  relay?: Omit<RelayCounters, 'amplification' | 'errors'> & {
    amplification?: RelayCounters['amplification'];
    errors?: string[];
  };
}

const READY_TIMEOUT_MS = 20_000;
const DEFAULT_CASE_TIMEOUT_MS = 30_000;

// -- options ------------------------------------------------------------------------

const { values: argv } = parseArgs({
  options: {
    peers: { type: 'string' },
    cases: { type: 'string' },
    roles: { type: 'string' },
    full: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    h3: { type: 'boolean', default: false },
    cross: { type: 'boolean', default: false },
    'rebind-grace': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (argv.help) {
  process.stdout.write(
    [
      'usage: npm run interop -- [--peers a,b] [--cases x,y] [--roles client,server] [--full] [--keep]',
      `  peers: ${PEERS.map((p) => p.name).join(', ')}`,
      `  cases: ${CASES.map((c) => c.name).join(', ')}`,
      `  default cases (CI subset): ${CI_CASES.join(', ')}`,
      '  roles: quichex as client (quichex → peer) and/or as server (peer → quichex)',
      '  --full: every case, and rewrite the table in INTEROP.md',
      '  --keep: keep the temp dir (files, downloads) for inspection',
      '  --h3: the HTTP/3 matrix instead (README.md, "HTTP/3"); writes interop-h3-results.json',
      `    h3 peers: ${H3_PEERS.map((p) => p.name).join(', ')}`,
      `    h3 cases: ${H3_CASES.map((c) => c.name).join(', ')}`,
      '  --cross: with --h3, every client × server among the peers (not only quichex against each)',
      '  --h3 --cross --full: also rewrite the HTTP/3 table in INTEROP.md',
      '  --rebind-grace MS: let a rebound NAT mapping pass late datagrams for MS (diagnosis; default 0)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

function list(raw: string | undefined, all: readonly string[], what: string): string[] {
  if (!raw) return [...all];
  const picked = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of picked)
    if (!all.includes(p)) throw new Error(`unknown ${what} ${p} (one of ${all.join(', ')})`);
  return picked;
}

// -- certificates ---------------------------------------------------------------------

/**
 * A leaf for localhost signed by the run's CA, padded with 300 random
 * subjectAltNames (~11 KB): the server's first flight then needs more than 3×
 * a client Initial, so the anti-amplification limit has to bite.
 */
function bigLeaf(certs: TestCerts): { cert: string; key: string } {
  const dir = certs.dir;
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const names = Array.from({ length: 300 }, () => `DNS:${randomBytes(12).toString('hex')}.quichex.invalid`);
  writeFileSync(
    path.join(dir, 'big.ext'),
    `subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'big.key']);
  run(['req', '-new', '-key', 'big.key', '-subj', '/CN=localhost', '-out', 'big.csr']);
  signCsr(dir, 'big', 'ca', 'big.pem');
  run(['pkcs8', '-topk8', '-nocrypt', '-in', 'big.key', '-out', 'big.pk8.pem']);
  return { cert: path.join(dir, 'big.pem'), key: path.join(dir, 'big.pk8.pem') };
}

// -- one cell -------------------------------------------------------------------------

interface RunContext {
  root: string;
  certs: TestCerts;
  big: { cert: string; key: string } | null;
  www: Map<string, Www>;
}

async function runDriverCell(
  ctx: RunContext,
  c: CaseDef,
  peer: PeerDef,
  role: Role,
  clientSide: Side,
  serverSide: Side,
  result: CellResult,
): Promise<void> {
  const www = await cachedWww(ctx.www, ctx.root, c);
  const host = c.host ?? '127.0.0.1';
  const timeoutMs = c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  const out = await mkdtemp(path.join(ctx.root, `out-${c.name}-`));
  const scratch = await mkdtemp(path.join(ctx.root, `scratch-${c.name}-`));
  if (c.bigCert && !ctx.big) ctx.big = bigLeaf(ctx.certs);
  const certs = c.bigCert && ctx.big ? ctx.big : { cert: ctx.certs.cert, key: ctx.certs.key };
  const flags = c.client ?? {};
  let server: Proc | null = null;
  const clients: Proc[] = [];
  let relay: Awaited<ReturnType<typeof startRelay>> | null = null;
  try {
    const started = await serverSide.startServer(
      {
        host,
        cert: certs.cert,
        key: certs.key,
        root: www.dir,
        retry: c.retry ?? false,
        chacha20: (c.chacha20 ?? false) && serverSide !== quichexSide(peer.protocol),
        lifetimeS: Math.ceil(timeoutMs / 1000) + 60,
      },
      `${serverSide.name} server`,
    );
    server = started.proc;
    let target: { host: string; port: number } = { host, port: started.port };
    if (c.relay) {
      relay = await startRelay({
        ...c.relay,
        ...(argv['rebind-grace'] ? { rebindGraceMs: Number(argv['rebind-grace']) } : {}),
        server: { host, port: started.port },
        seed: seedFor(c.name, peer.name, role),
      });
      target = { host: relay.host, port: relay.port };
    }
    const commands = await clientSide.clientCommands({
      host: target.host,
      port: target.port,
      ca: ctx.certs.caCert,
      out,
      scratch,
      timeoutS: Math.ceil(timeoutMs / 1000),
      paths: www.files.map((f) => `/${f.name}`),
      flags,
      chacha20: (c.chacha20 ?? false) && clientSide !== quichexSide(peer.protocol),
    });
    const t0 = performance.now();
    const deadline = t0 + timeoutMs + 10_000;
    let exit: ExitInfo | null = null;
    for (const [i, argv] of commands.entries()) {
      const client = startProc(`${clientSide.name} client${commands.length > 1 ? ` ${i + 1}` : ''}`, argv);
      clients.push(client);
      exit = await within(client.exited, Math.max(1000, deadline - performance.now()), 'the client').catch(
        () => null,
      );
      if (!exit) {
        await stopProc(client);
        result.clientExit = `killed after ${timeoutMs + 10_000} ms`;
        break;
      }
      result.clientExit = describeExit(exit);
      if (exit.code !== 0) break;
    }
    result.durationMs = Math.round(performance.now() - t0);
    const counters = relay?.counters() ?? null;
    if (counters) {
      const { amplification, errors, ...rest } = counters;
      result.relay = {
        ...rest,
        ...(c.bigCert || c.retry ? { amplification } : {}),
        ...(errors.length ? { errors } : {}),
      };
    }
    const derived = clientSide.derivedLines?.({ flags, server, relay: counters }) ?? [];
    if (derived.length) result.derived = derived;
    const clientLines = [...clients.flatMap((p) => p.stdout), ...derived];
    const problems = await verifyFiles(www, out);
    const outcome: Outcome = { client: clientLines, server: server.stdout, relay: counters, role };
    const serverDied = server.exit ? `; the server had exited (${describeExit(server.exit)})` : '';
    const exitOk = exit !== null && exit.code === 0;
    let verdict: Verdict | null = null;
    if (problems.length === 0 && exitOk) {
      verdict = c.check?.(outcome) ?? null;
    } else {
      const unsupported = unsupportedLine(clientLines, server.stdout);
      if (unsupported) {
        verdict = { status: 'unsupported', reason: unsupported };
      } else {
        const why = errorLine(clientLines) ?? `client ${result.clientExit}`;
        const files = problems.length ? ` — files: ${summarize(problems)}` : '';
        verdict = {
          status: 'fail',
          reason: `${problems.length === 0 ? `files intact but ${why}` : why}${files}${serverDied}`,
        };
        // A check that explains the failure better (e.g. ZERO_RTT rejected) goes first.
        const checked = c.check?.(outcome);
        if (checked) verdict = { status: checked.status, reason: `${checked.reason}; ${verdict.reason}` };
      }
    }
    result.status = verdict ? verdict.status : 'pass';
    if (verdict) result.reason = verdict.reason;
    else if (c.bigCert && counters?.amplification[0]) {
      const a = counters.amplification[0];
      result.reason = `server sent ${a.serverBytes} B for ${a.clientBytes} B (${(a.serverBytes / a.clientBytes).toFixed(2)}×) before validation`;
    }
  } finally {
    await Promise.all([...clients, ...(server ? [server] : [])].map((p) => stopProc(p)));
    await relay?.close();
    if (clients.length) {
      result.clientStdout = tail(clients.flatMap((p) => p.stdout));
      result.clientStderr = tail(clients.flatMap((p) => p.stderr));
    }
    if (server) {
      result.serverStdout = tail(server.stdout);
      result.serverStderr = tail(server.stderr);
    }
    await rm(out, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

// -- datagram (aioquic's echo peer, quichex in-process) -------------------------------

const DGRAM_ALPN = 'quichex-interop';
const DGRAM_BYTES = 64 * 1024;

async function runDatagramCell(ctx: RunContext, role: Role, result: CellResult): Promise<void> {
  const python = aioquicPython();
  const script = path.join(REPO_ROOT, 'test/interop/peers/aioquic_peer.py');
  const started = performance.now();
  if (role === 'client') {
    const server = startProc('aioquic echo server', [
      python,
      script,
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--cert',
      ctx.certs.cert,
      '--key',
      ctx.certs.key,
      '--alpn',
      DGRAM_ALPN,
      '--timeout',
      '60',
    ]);
    const config = new Config({ alpn: [DGRAM_ALPN], caFile: ctx.certs.caCert, dgram: true });
    let conn: Connection | null = null;
    try {
      const port = Number((await waitForLine(server, /^READY (\d+)$/, READY_TIMEOUT_MS))[1]);
      conn = await connect({
        host: '127.0.0.1',
        port,
        config,
        serverName: 'localhost',
        handshakeTimeout: 10_000,
      });
      const payload = randomBytes(DGRAM_BYTES);
      const stream = await conn.openStream();
      const signal = AbortSignal.timeout(15_000);
      const [, echoed] = await Promise.all([stream.end(payload, { signal }), stream.readAll({ signal })]);
      if (sha256(echoed) !== sha256(payload)) throw new Error('the stream echo differs');
      const ping = `ping-${randomBytes(4).toString('hex')}`;
      let reply: string | null = null;
      for (let attempt = 0; attempt < 20 && reply !== ping; attempt++) {
        conn.sendDatagram(ping);
        const got = await conn.receiveDatagram({ signal: AbortSignal.timeout(500) }).catch(() => null);
        reply = got ? Buffer.from(got).toString() : null;
      }
      if (reply !== ping) throw new Error('no datagram echo within 20 attempts');
      result.status = 'pass';
    } catch (err) {
      result.status = 'fail';
      result.reason = (err as Error).message;
    } finally {
      result.durationMs = Math.round(performance.now() - started);
      conn?.destroy();
      await stopProc(server);
      config.free();
      result.serverStdout = tail(server.stdout);
      result.serverStderr = tail(server.stderr);
    }
    return;
  }
  const config = new Config({
    alpn: [DGRAM_ALPN],
    certChainFile: ctx.certs.cert,
    privKeyFile: ctx.certs.key,
    dgram: true,
  });
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config,
    onConnection: async (conn) => {
      void (async () => {
        for await (const d of conn.datagrams()) conn.sendDatagram(d);
      })().catch(() => {});
      for await (const stream of conn.streams()) {
        void (async () => {
          for await (const chunk of stream) await stream.write(chunk);
          await stream.end();
        })().catch(() => {});
      }
    },
  });
  const client = startProc('aioquic echo client', [
    python,
    script,
    'client',
    '--host',
    '127.0.0.1',
    '--port',
    String(listener.address().port),
    '--ca',
    ctx.certs.caCert,
    '--alpn',
    DGRAM_ALPN,
    '--server-name',
    'localhost',
    '--bytes',
    String(DGRAM_BYTES),
    '--timeout',
    '20',
  ]);
  try {
    const exit = await within(client.exited, 30_000, 'the aioquic client').catch(() => null);
    result.clientExit = exit ? describeExit(exit) : 'killed after 30000 ms';
    const line = [...client.stdout].reverse().find((l) => l.trimStart().startsWith('{'));
    const parsed = line ? (JSON.parse(line) as { ok?: boolean; error?: string; datagram?: string }) : null;
    if (exit?.code === 0 && parsed?.ok && parsed.datagram) {
      result.status = 'pass';
    } else {
      result.status = 'fail';
      result.reason = parsed?.error ?? `aioquic client ${result.clientExit}, no result line`;
    }
  } finally {
    result.durationMs = Math.round(performance.now() - started);
    await stopProc(client);
    await listener.close({ timeoutMs: 2000 });
    config.free();
    result.clientStdout = tail(client.stdout);
    result.clientStderr = tail(client.stderr);
  }
}

async function runCell(ctx: RunContext, c: CaseDef, peer: PeerDef, role: Role): Promise<CellResult> {
  const quichex = quichexSide(peer.protocol);
  const clientSide = role === 'client' ? quichex : peer.side;
  const serverSide = role === 'client' ? peer.side : quichex;
  const result: CellResult = {
    peer: peer.name,
    role,
    client: clientSide.name,
    server: serverSide.name,
    case: c.name,
    status: 'fail',
    durationMs: 0,
  };
  const verdict = ((): { status: Status; reason: string } | null => {
    if (c.unsupported) return { status: 'unsupported', reason: c.unsupported };
    const missing = peer.side.unavailable() ?? quichex.unavailable();
    if (missing) return { status: 'unavailable', reason: missing };
    if (c.chacha20 && peer.name === 'quichex') {
      return {
        status: 'unsupported',
        reason: 'the quiche C API cannot restrict cipher suites on either side',
      };
    }
    const why =
      serverSide.serverUnsupported({ retry: c.retry ?? false, chacha20: c.chacha20 ?? false }) ??
      clientSide.clientUnsupported(c.client ?? {}, c.chacha20 ?? false);
    return why ? { status: 'unsupported', reason: why } : null;
  })();
  if (verdict) {
    result.status = verdict.status;
    result.reason = verdict.reason;
    return result;
  }
  try {
    if (c.special === 'datagram') await runDatagramCell(ctx, role, result);
    else await runDriverCell(ctx, c, peer, role, clientSide, serverSide, result);
  } catch (err) {
    result.status = 'fail';
    result.reason = `runner: ${(err as Error).message}`;
  }
  if (result.status === 'fail') {
    const issue = KNOWN_ISSUES.find(
      (k) =>
        k.case === c.name &&
        (!k.server || k.server === serverSide.name) &&
        (!k.client || k.client === clientSide.name),
    );
    if (issue) result.known = issue.reason;
  }
  return result;
}

// -- report ---------------------------------------------------------------------------

const cellText = (r: CellResult): string => (r.known ? 'FAIL*' : CELL_TEXT[r.status]);

interface Row {
  label: string;
  peer: string;
  role: Role;
}

function rowsFor(peers: readonly PeerDef[], roles: readonly Role[]): Row[] {
  const rows: Row[] = [];
  for (const peer of peers) {
    if (peer.name === 'quichex') {
      // Both roles are the same pair: run it once.
      rows.push({ label: 'quichex → quichex', peer: peer.name, role: roles[0]! });
      continue;
    }
    for (const role of roles) {
      rows.push({
        label: role === 'client' ? `quichex → ${peer.name}` : `${peer.name} → quichex`,
        peer: peer.name,
        role,
      });
    }
  }
  return rows;
}

function findCell(results: readonly CellResult[], row: Row, c: string): CellResult | undefined {
  return results.find((r) => r.peer === row.peer && r.role === row.role && r.case === c);
}

function runTable(rows: Row[], cases: readonly string[], results: readonly CellResult[]): string {
  return textTable(
    rows,
    (row) => row.label,
    cases,
    (row, c) => {
      const r = findCell(results, row, c);
      return r && cellText(r);
    },
  );
}

/** Notes: every failure on its own line; unsupported / unavailable cells grouped by reason. */
function notes(results: readonly CellResult[], allCases: readonly string[]): string[] {
  const lines: string[] = [];
  const grouped = new NoteGroups();
  const pairOf = (r: CellResult): string =>
    r.peer === 'quichex' ? 'quichex → quichex' : `${r.client} → ${r.server}`;
  for (const r of results) {
    if (r.status === 'pass') {
      if (r.reason) lines.push(`pass ${r.case}, ${pairOf(r)}: ${r.reason}`);
      continue;
    }
    if (r.status === 'fail') {
      lines.push(`${r.known ? 'FAIL* (known issue)' : 'FAIL'} ${r.case}, ${pairOf(r)}: ${r.reason ?? ''}`);
      continue;
    }
    grouped.add(`${CELL_TEXT[r.status]}: ${r.reason}`, r.case, pairOf(r));
  }
  lines.push(
    ...grouped.lines((cases) =>
      cases.size === allCases.length && allCases.length > 1 ? 'every case' : [...cases].join(', '),
    ),
  );
  const known = [...new Set(results.filter((r) => r.known).map((r) => r.known!))];
  for (const k of known) lines.push(`* known issue: ${k}`);
  return lines;
}

function runMarkdown(rows: Row[], cases: readonly string[], results: readonly CellResult[]): string {
  const md = (r: CellResult): string =>
    r.known ? 'FAIL\\*' : r.status === 'fail' ? '**FAIL**' : CELL_TEXT[r.status];
  return markdownTable(
    rows,
    (row) => row.label,
    cases,
    (row, c) => {
      const r = findCell(results, row, c);
      return r && md(r);
    },
  );
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version, quiche: safe(() => quicheVersion()) };
  v.aioquic = safe(() =>
    execFileSync(aioquicPython(), ['-c', 'import aioquic; print(aioquic.__version__)'], {
      encoding: 'utf8',
      timeout: 20_000,
    }).trim(),
  );
  v['quic-go'] = safe(() => {
    const mod = readFileSync(path.join(REPO_ROOT, 'test/interop/peers/quic-go/go.mod'), 'utf8');
    return /github\.com\/quic-go\/quic-go (v\S+)/.exec(mod)?.[1] ?? '?';
  });
  v.quinn = safe(() => {
    const lock = readFileSync(path.join(REPO_ROOT, 'test/interop/peers/quinn/Cargo.lock'), 'utf8');
    return /name = "quinn"\nversion = "([^"]+)"/.exec(lock)?.[1] ?? '?';
  });
  v.ngtcp2 = safe(() =>
    execFileSync('dpkg-query', ['-W', '-f', '\x24{Version}', 'ngtcp2-client'], {
      encoding: 'utf8',
      timeout: 10_000,
    }),
  );
  return v;
}

function safe(fn: () => string): string {
  try {
    return fn() || '?';
  } catch {
    return 'not installed';
  }
}

const BEGIN = '<!-- interop:begin -->';
const END = '<!-- interop:end -->';

async function updateInteropMd(
  rows: Row[],
  cases: readonly string[],
  results: readonly CellResult[],
  v: Record<string, string>,
): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  await writeInteropBlock(
    BEGIN,
    END,
    `Last full run: ${date}, ${Object.entries(v)
      .map(([k, val]) => `${k} ${val}`)
      .join(', ')}.`,
    runMarkdown(rows, cases, results),
    notes(results, cases),
    () => `# Interop\n\n${BEGIN}\n${END}\n`,
  );
}

async function main(): Promise<number> {
  if (argv.h3) {
    return runH3Matrix({
      peers: list(
        argv.peers,
        H3_PEERS.map((p) => p.name),
        'peer',
      ),
      cases: list(
        argv.cases,
        H3_CASES.map((c) => c.name),
        'case',
      ),
      roles: list(argv.roles, ['client', 'server'], 'role') as Role[],
      cross: argv.cross ?? false,
      keep: argv.keep ?? false,
      resultsFile: path.join(REPO_ROOT, 'interop-h3-results.json'),
      // Only a complete table replaces the one in INTEROP.md.
      updateMd: (argv.full ?? false) && (argv.cross ?? false) && !argv.peers && !argv.roles && !argv.cases,
    });
  }
  const peerNames = list(
    argv.peers,
    PEERS.map((p) => p.name),
    'peer',
  );
  const allCases = CASES.map((c) => c.name);
  const caseNames = argv.cases ? list(argv.cases, allCases, 'case') : argv.full ? allCases : [...CI_CASES];
  const roles = list(argv.roles, ['client', 'server'], 'role') as Role[];
  const peers = PEERS.filter((p) => peerNames.includes(p.name));
  const cases = CASES.filter((c) => caseNames.includes(c.name));
  const rows = rowsFor(peers, roles);
  // The default run (no --cases) adds a few HTTP/3 cases, quichex against every peer's h3 driver.
  const h3Cases = argv.cases ? [] : H3_CASES.filter((c) => H3_CI_CASES.includes(c.name));

  const root = await mkdtemp(path.join(tmpdir(), 'quichex-interop-'));
  const certs = generateTestCerts();
  const ctx: RunContext = { root, certs, big: null, www: new Map() };
  const results: CellResult[] = [];
  const t0 = performance.now();
  process.stdout.write(
    `interop: ${rows.length} pairs × ${cases.length + h3Cases.length} cases (${[...cases, ...h3Cases].map((c) => c.name).join(', ')})\n`,
  );
  try {
    for (const row of rows) {
      const peer = peers.find((p) => p.name === row.peer)!;
      for (const c of cases) {
        if (c.peers && !c.peers.includes(peer.name)) continue;
        const r = await runCell(ctx, c, peer, row.role);
        results.push(r);
        if (r.status !== 'unavailable' || c === cases[0]) {
          process.stdout.write(cellLine(row.label, c.name, 20, cellText(r), r));
        }
      }
    }
    if (h3Cases.length > 0) {
      const h3 = h3Context(root, certs);
      const pairs = h3Pairs(
        H3_PEERS.filter((p) => peerNames.includes(p.name)),
        roles,
        false,
      );
      for (const pair of pairs) {
        // In the table's terms: the row of the peer quichex met, in the role quichex took.
        const quichexClient = pair.client.name === 'quichex';
        const peer = quichexClient ? pair.server.name : pair.client.name;
        const role: Role =
          pair.server.name === pair.client.name ? roles[0]! : quichexClient ? 'client' : 'server';
        for (const c of h3Cases) {
          const r = await runH3Cell(h3, c, pair.client, pair.server);
          results.push({ ...r, peer, role });
          process.stdout.write(cellLine(pair.label, c.name, 20, CELL_TEXT[r.status], r));
        }
      }
    }
  } finally {
    certs.cleanup();
    if (argv.keep) process.stdout.write(`kept ${root}\n`);
    else await rm(root, { recursive: true, force: true });
  }

  const v = versions();
  const caseCols = [...cases, ...h3Cases].map((c) => c.name);
  process.stdout.write(`\n${runTable(rows, caseCols, results)}\n\n`);
  for (const n of notes(results, caseCols)) process.stdout.write(`${n}\n`);
  const elapsed = Math.round((performance.now() - t0) / 1000);
  process.stdout.write(`\n${results.length} cells in ${elapsed} s\n`);

  await writeFile(
    path.join(REPO_ROOT, 'interop-results.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        versions: v,
        peers: peerNames,
        roles,
        cases: caseCols,
        elapsedSeconds: elapsed,
        results,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write('wrote interop-results.json\n');
  if (argv.full && !argv.peers && !argv.roles && !argv.cases) {
    await updateInteropMd(rows, caseCols, results, v);
    process.stdout.write('updated INTEROP.md\n');
  }
  const selfFailures = results.filter((r) => r.peer === 'quichex' && r.status === 'fail' && !r.known);
  if (selfFailures.length) {
    process.stdout.write(`quichex ↔ quichex failed: ${selfFailures.map((r) => r.case).join(', ')}\n`);
    return 1;
  }
  return 0;
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`interop runner crashed: ${(err as Error)?.stack ?? err}\n`);
    killAll();
    process.exit(1);
  },
);
