/**
 * How to run ngtcp2's example programs as interop peers, for the matrix
 * runner. They come from Debian bookworm's `ngtcp2-server` / `ngtcp2-client`
 * packages (ngtcp2 0.12.1 with GnuTLS): `/usr/sbin/gtlsserver` and
 * `/usr/bin/gtlsclient`. They speak HTTP/3 only (ALPN `h3`), so quichex's
 * side of every ngtcp2 pairing is `peers/quichex/h3.mjs` (see
 * {@link quichexH3Command}), not the hq-interop driver.
 *
 * Run as a program, this module is the ngtcp2 peer's driver: it follows the
 * contract of test/interop/README.md on top of the two binaries.
 *
 *   node test/interop/peers/ngtcp2.mjs server --host H --port 0 --cert C --key K --root DIR
 *     [--retry] [--timeout SEC]      picks a free port, starts gtlsserver, prints READY <port>
 *   node test/interop/peers/ngtcp2.mjs client --host H --port P --ca CA --server-name N --out DIR
 *     [--timeout SEC] [--resume] [--zero-rtt] [--migrate] [--key-update] [--max-streams-wait] PATH...
 *   node test/interop/peers/ngtcp2.mjs h3-server …     the HTTP/3 contract's server: `server` above
 *   node test/interop/peers/ngtcp2.mjs h3-client --host H --port P --ca CA --server-name N --out DIR
 *     [--timeout SEC] [--post FILE] PATH...          the HTTP/3 contract's client (no --cancel)
 *
 * The client prints RESUMED / ZERO_RTT / MIGRATED / KEY_UPDATE from what
 * gtlsclient's debug log shows (see {@link runClientDriver}); it exits 0 when
 * gtlsclient did and every file exists (only a SHA-256 check proves them).
 *
 * Checked on loopback, IPv4 and IPv6, both directions, SHA-256 of 1 KiB /
 * 1 MiB / 5 MiB files and of 2000 small ones:
 *
 *   gtlsserver -q [-V] 127.0.0.1 PORT KEY CERT -d ROOT
 *     <- h3.mjs client --host 127.0.0.1 --port PORT --ca CA --server-name localhost --out DIR /f...
 *   h3.mjs server --host 127.0.0.1 --port 0 --cert CERT --key KEY --root ROOT   (prints READY <port>)
 *     <- gtlsclient -q --sni=localhost --exit-on-all-streams-close --download DIR \
 *          127.0.0.1 PORT https://localhost:PORT/f...
 *
 * Quirks (ngtcp2 0.12.1 examples):
 * - gtlsserver prints no "ready" line, and with port 0 it never tells which
 *   port it bound: pick a free port first ({@link pickUdpPort}) and wait
 *   until it is bound ({@link waitUdpPortBound}). It ignores SIGTERM's
 *   graceful meaning: it dies by the signal (exit status 143 / signal
 *   SIGTERM), which is its normal end. Its `--timeout` is the idle timeout,
 *   not a lifetime: bound it yourself.
 * - gtlsclient exits 0 even when nothing worked (a handshake timeout, a 404:
 *   it saves the 404 body under the file's name). Only the SHA-256 of the
 *   downloaded files says whether a run passed. It also needs an outer kill
 *   timer: `--timeout` is the idle timeout.
 * - gtlsclient does not verify the server certificate (it has no CA
 *   option); our h3 client does verify gtlsserver's against `--ca`.
 * - gtlsclient's HOST is where it connects; the URIs only supply :authority
 *   and :path. With an IP as HOST it sends no SNI unless `--sni` is given.
 * - `--download DIR` saves `/a/b` as `DIR/b` (a path without a file name
 *   becomes index.html); DIR must exist.
 * - Resumption / 0-RTT: two runs sharing `--session-file` and `--tp-file`
 *   ({@link ngtcp2ResumptionCommands}); `--disable-early-data` on the second
 *   run stops it sending 0-RTT packets (plain resumption). A second run with
 *   `--session-file` but no `--tp-file` crashes gtlsclient (SIGSEGV, exit
 *   139): always pass both. With `-q` gtlsclient prints nothing about the
 *   outcome; quichex's h3 server logs one stderr line per connection,
 *   `quichex-h3: handshake resumed=<bool> early_data=<accepted|rejected|none>`
 *   ({@link parseH3ServerHandshakes}). `resumed` is exact. `early_data` is
 *   the TLS outcome: GnuTLS still offers the early_data extension under
 *   `--disable-early-data`, so the server reports `accepted` there too; it
 *   proves 0-RTT only for a run that did not disable it.
 * - Migration: `--change-local-addr=<duration>` (a new local port with path
 *   validation) passes against quichex; `--nat-rebinding` with it (new port,
 *   no validation, old port dropped) stalls until the idle timeout: quiche
 *   0.30 never retransmits what was in flight on the old path
 *   (cloudflare/quiche#2452).
 * - Key update: `--key-update=<duration>` works (quiche answers it).
 * - gtlsserver's defaults: 100 bidi streams, 1 MiB connection window with
 *   auto-tuning to 6 MiB; `-V` demands a Retry round-trip first.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const GTLSSERVER = '/usr/sbin/gtlsserver';
export const GTLSCLIENT = '/usr/bin/gtlsclient';
/** quichex's HTTP/3 peer (runs with plain `node`). */
export const QUICHEX_H3_SCRIPT = fileURLToPath(new URL('./quichex/h3.mjs', import.meta.url));

/** Whether both ngtcp2 binaries are installed (`apt-get install ngtcp2-client ngtcp2-server`). */
export function ngtcp2Available() {
  return existsSync(GTLSSERVER) && existsSync(GTLSCLIENT);
}

/**
 * gtlsserver serving `root` over HTTP/3 on `host:port` (a real port: see
 * {@link pickUdpPort}). `retry` turns on address validation (`-V`).
 * @param {{ host: string, port: number, cert: string, key: string, root: string, retry?: boolean, maxStreamsBidi?: number, quiet?: boolean }} o
 * @returns {{ command: string, args: string[] }}
 */
export function ngtcp2ServerCommand(o) {
  if (!Number.isInteger(o.port) || o.port <= 0) throw new RangeError('gtlsserver needs a real port, not 0');
  const args = [];
  if (o.quiet !== false) args.push('-q');
  if (o.retry) args.push('-V');
  if (o.maxStreamsBidi !== undefined) args.push(`--max-streams-bidi=${o.maxStreamsBidi}`);
  // An IPv6 literal goes as is ('::1'); '*' would bind every address.
  args.push('-d', o.root, o.host, String(o.port), o.key, o.cert);
  return { command: GTLSSERVER, args };
}

/**
 * gtlsclient downloading every path (`/file-1`) from `host:port` into `out`
 * on one connection, exiting once every stream closed.
 * @param {{ host: string, port: number, out: string, paths: string[], serverName?: string,
 *   sessionFile?: string, tpFile?: string, disableEarlyData?: boolean,
 *   keyUpdateAfter?: string, changeLocalAddrAfter?: string, natRebinding?: boolean,
 *   idleTimeout?: string, quiet?: boolean }} o
 *   Durations are gtlsclient's syntax: `100ms`, `1s`.
 * @returns {{ command: string, args: string[] }}
 */
export function ngtcp2ClientCommand(o) {
  const serverName = o.serverName ?? 'localhost';
  const args = [];
  if (o.quiet !== false) args.push('-q');
  args.push(`--sni=${serverName}`, '--exit-on-all-streams-close', `--download=${o.out}`);
  if (o.sessionFile) args.push(`--session-file=${o.sessionFile}`);
  if (o.tpFile) args.push(`--tp-file=${o.tpFile}`);
  if (o.disableEarlyData) args.push('--disable-early-data');
  if (o.keyUpdateAfter) args.push(`--key-update=${o.keyUpdateAfter}`);
  if (o.changeLocalAddrAfter) args.push(`--change-local-addr=${o.changeLocalAddrAfter}`);
  if (o.natRebinding) args.push('--nat-rebinding');
  if (o.idleTimeout) args.push(`--timeout=${o.idleTimeout}`);
  const authority = `${serverName}:${o.port}`;
  args.push(o.host, String(o.port), ...o.paths.map((p) => `https://${authority}${p}`));
  return { command: GTLSCLIENT, args };
}

/**
 * The two gtlsclient runs of the resumption / 0-RTT cases: the first path on
 * a first connection that saves the session and transport parameters, the
 * rest on a second that resumes (with 0-RTT unless `zeroRtt` is false).
 * `stateDir` must be a fresh directory.
 * @param {Parameters<typeof ngtcp2ClientCommand>[0] & { stateDir: string, zeroRtt: boolean }} o
 * @returns {[{ command: string, args: string[] }, { command: string, args: string[] }]}
 */
export function ngtcp2ResumptionCommands(o) {
  const sessionFile = `${o.stateDir}/session.pem`;
  const tpFile = `${o.stateDir}/transport-params`;
  const [first, ...rest] = o.paths;
  return [
    ngtcp2ClientCommand({ ...o, paths: [first], sessionFile, tpFile }),
    ngtcp2ClientCommand({ ...o, paths: rest, sessionFile, tpFile, disableEarlyData: !o.zeroRtt }),
  ];
}

/**
 * quichex's HTTP/3 peer in either role (same flags as the hq-interop driver,
 * minus the client extras): run `command` with `args`.
 * @param {'server' | 'client'} role
 * @param {{ host: string, port: number, cert?: string, key?: string, root?: string, ca?: string,
 *   serverName?: string, out?: string, paths?: string[], timeoutSec?: number }} o
 * @returns {{ command: string, args: string[] }}
 */
export function quichexH3Command(role, o) {
  const args = [QUICHEX_H3_SCRIPT, role, '--host', o.host, '--port', String(o.port)];
  if (role === 'server') args.push('--cert', o.cert, '--key', o.key, '--root', o.root);
  else args.push('--ca', o.ca, '--server-name', o.serverName ?? 'localhost', '--out', o.out);
  if (o.timeoutSec !== undefined) args.push('--timeout', String(o.timeoutSec));
  if (role === 'client') args.push(...(o.paths ?? []));
  return { command: process.execPath, args };
}

/**
 * The handshake lines quichex's h3 server wrote to stderr, in order.
 * @param {string} stderr
 * @returns {{ resumed: boolean, earlyData: 'accepted' | 'rejected' | 'none' }[]}
 */
export function parseH3ServerHandshakes(stderr) {
  const out = [];
  for (const m of stderr.matchAll(/handshake resumed=(true|false) early_data=(accepted|rejected|none)/g)) {
    out.push({ resumed: m[1] === 'true', earlyData: /** @type {any} */ (m[2]) });
  }
  return out;
}

/**
 * A UDP port that was free a moment ago on `host` (gtlsserver cannot report
 * the port it picked for 0). Racy by nature; loopback only.
 * @param {string} host
 * @returns {Promise<number>}
 */
export function pickUdpPort(host) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once some process has a UDP socket bound to `port` (Linux: read
 * from /proc/net/udp and udp6), or rejects after `timeoutMs`.
 * @param {number} port
 * @param {number} [timeoutMs]
 * @returns {Promise<void>}
 */
export async function waitUdpPortBound(port, timeoutMs = 5000) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
      let text = '';
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      // Each row: "  sl  local_address rem_address ..."; local_address is HEXIP:HEXPORT.
      for (const line of text.split('\n').slice(1)) {
        const local = line.trim().split(/\s+/)[1];
        if (local && `${local} `.endsWith(hex)) return;
      }
    }
    if (Date.now() > deadline) throw new Error(`nothing bound UDP port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// -- the driver (when run as a program) ----------------------------------------------

function driverLog(message) {
  process.stderr.write(`ngtcp2-driver: ${message}\n`);
}

function driverFail(reason) {
  process.stdout.write(`ERROR ${String(reason).replace(/\s+/g, ' ')}\n`);
  process.exit(1);
}

/**
 * Runs one command; resolves with its exit and every line (stdout and
 * stderr) that `keep` accepts. Kills it after `timeoutMs`.
 * @param {{ command: string, args: string[] }} cmd
 * @param {number} timeoutMs
 * @param {(line: string) => boolean} keep
 * @returns {Promise<{ code: number | null, signal: string | null, timedOut: boolean, lines: string[] }>}
 */
function runCollecting(cmd, timeoutMs, keep) {
  return new Promise((resolve) => {
    const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (keep(line)) lines.push(line);
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, lines });
    });
  });
}

/** Lines of gtlsclient's debug log (without packet dumps) that carry evidence. */
const EVIDENCE =
  /Handshake CRYPTO|pkt tx .*type=0RTT|Early data was rejected|key update confirmed|Path validation .* succeeded|path validation was timed out|initiate_immediate_migration|ERR_/;

/** Bytes of the server's Handshake-epoch CRYPTO data: a resumed TLS 1.3 handshake carries no certificate. */
function handshakeCryptoBytes(lines) {
  let total = 0;
  for (const line of lines) {
    const m = /frm rx .*Handshake CRYPTO\(0x06\) offset=\d+ len=(\d+)/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** The options both client drivers (hq-interop and HTTP/3) take. */
const CLIENT_OPTIONS = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  ca: { type: 'string' },
  'server-name': { type: 'string', default: 'localhost' },
  out: { type: 'string' },
  timeout: { type: 'string', default: '60' },
};

/**
 * Checks a client driver's --port and --out (and fails with `noPaths` when that is a
 * reason), creates --out; the port, the --timeout deadline and the resolved --out.
 */
function clientSetup(o, noPaths) {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port <= 0) driverFail('missing --port');
  if (!o.out) driverFail('missing --out');
  if (noPaths) driverFail(noPaths);
  const deadline = Date.now() + Number(o.timeout) * 1000;
  const out = path.resolve(o.out);
  mkdirSync(out, { recursive: true });
  return { port, deadline, out };
}

/** Runs one gtlsclient command within what is left until `deadline`; fails unless it exits 0. */
async function runClientBefore(cmd, deadline, timeout, keep) {
  const left = deadline - Date.now();
  if (left <= 0) driverFail(`timed out after ${timeout}s`);
  const r = await runCollecting(cmd, left, keep);
  if (r.timedOut) driverFail(`timed out after ${timeout}s (gtlsclient killed)`);
  if (r.code !== 0) driverFail(`gtlsclient exited with ${r.code ?? r.signal}`);
  return r.lines;
}

/**
 * The client side of the contract on gtlsclient. Evidence comes from its
 * debug log (`--no-quic-dump --no-http-dump`): RESUMED compares the server's
 * Handshake CRYPTO bytes of the two connections (a resumed handshake has no
 * Certificate, 147 against 688 bytes with the test certificates); ZERO_RTT
 * is accepted when 0-RTT packets went out and gtlsclient did not report
 * "Early data was rejected by server"; MIGRATED needs "Path validation …
 * succeeded" (gtlsclient migrates 50 ms after the handshake, with
 * --change-local-addr); KEY_UPDATE needs libngtcp2's "key update confirmed"
 * (--key-update, 50 ms after the handshake).
 */
export async function runClientDriver(argv) {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      resume: { type: 'boolean', default: false },
      'zero-rtt': { type: 'boolean', default: false },
      migrate: { type: 'boolean', default: false },
      'key-update': { type: 'boolean', default: false },
      'max-streams-wait': { type: 'boolean', default: false }, // gtlsclient always waits for MAX_STREAMS
    },
  });
  const { port, deadline, out } = clientSetup(o, positionals.length === 0 && 'no PATH to download');
  const resume = o.resume || o['zero-rtt'];
  const verbose = resume || o.migrate || o['key-update'];
  const base = {
    host: o.host,
    port,
    out,
    paths: positionals,
    serverName: o['server-name'],
    quiet: !verbose,
    ...(o.migrate ? { changeLocalAddrAfter: '50ms' } : {}),
    ...(o['key-update'] ? { keyUpdateAfter: '50ms' } : {}),
  };
  // gtlsclient has no CA option and does not verify the certificate: --ca is accepted and unused.
  const keep = (line) => EVIDENCE.test(line) && !/^\s*[0-9a-f]{8} /.test(line);
  const withDebug = (cmd) =>
    verbose ? { ...cmd, args: ['--no-quic-dump', '--no-http-dump', ...cmd.args] } : cmd;
  const runOne = (cmd) => runClientBefore(withDebug(cmd), deadline, o.timeout, keep);

  let lines;
  if (resume) {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'ngtcp2-state-'));
    try {
      const [first, second] = ngtcp2ResumptionCommands({ ...base, stateDir, zeroRtt: o['zero-rtt'] });
      const firstLines = await runOne(first);
      lines = await runOne(second);
      const full = handshakeCryptoBytes(firstLines);
      const again = handshakeCryptoBytes(lines);
      driverLog(`server Handshake CRYPTO bytes: ${full} then ${again}`);
      process.stdout.write(`RESUMED ${full > 0 && again > 0 && again < full / 2}\n`);
      if (o['zero-rtt']) {
        const sent = lines.some((l) => /pkt tx .*type=0RTT/.test(l));
        const rejected = lines.some((l) => l.includes('Early data was rejected'));
        process.stdout.write(`ZERO_RTT ${sent && !rejected ? 'accepted' : 'rejected'}\n`);
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  } else {
    lines = await runOne(ngtcp2ClientCommand(base));
  }
  if (o.migrate) {
    const ok = lines.some((l) => /Path validation .* succeeded/.test(l));
    const why = lines.find((l) => /initiate_immediate_migration|path validation was timed out/.test(l));
    process.stdout.write(`MIGRATED ${ok}${ok || !why ? '' : ` ${why.trim()}`}\n`);
  }
  if (o['key-update']) {
    const ok = lines.some((l) => l.includes('key update confirmed'));
    process.stdout.write(`KEY_UPDATE ${ok ? 'initiated' : 'not-confirmed'}\n`);
  }
  const missing = positionals.filter((p) => {
    const name = path.posix.basename(p.split('?')[0]) || 'index.html';
    return !existsSync(path.join(out, name));
  });
  if (missing.length > 0) driverFail(`gtlsclient saved no file for ${missing.join(', ')}`);
  process.exit(0);
}

/**
 * The client side of the HTTP/3 contract (README.md, "HTTP/3") on gtlsclient: the PATHs
 * concurrently on one connection; `--post FILE` as `-m POST -d FILE` to /echo, saved as
 * OUT/echo (gtlsclient sends its -d data with every request, so GETs and a POST together
 * take two runs: the GETs, then the POST). `--cancel` is out of reach: gtlsclient cannot
 * abandon a request, so it prints `CANCELLED unsupported …` and fails.
 */
export async function runH3ClientDriver(argv) {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      post: { type: 'string' },
      cancel: { type: 'boolean', default: false },
      h3: { type: 'boolean', default: true },
    },
  });
  if (o.cancel) {
    process.stdout.write('CANCELLED unsupported (gtlsclient cannot abandon a request)\n');
    driverFail('--cancel is not supported by gtlsclient');
  }
  const { port, deadline, out } = clientSetup(
    o,
    positionals.length === 0 && !o.post && 'no PATH and no --post',
  );
  const base = { host: o.host, port, out, serverName: o['server-name'], idleTimeout: '15s' };
  const runs = [];
  if (positionals.length > 0) runs.push(ngtcp2ClientCommand({ ...base, paths: positionals }));
  if (o.post) {
    const cmd = ngtcp2ClientCommand({ ...base, paths: ['/echo'] });
    runs.push({ ...cmd, args: ['-m', 'POST', `--data=${path.resolve(o.post)}`, ...cmd.args] });
  }
  for (const cmd of runs) await runClientBefore(cmd, deadline, o.timeout, () => false);
  const names = positionals.map((p) => path.posix.basename(p.split('?')[0]) || 'index.html');
  if (o.post) names.push('echo');
  const missing = names.filter((n) => !existsSync(path.join(out, n)));
  if (missing.length > 0) driverFail(`gtlsclient saved no file for ${missing.join(', ')}`);
  process.exit(0);
}

/** The server side of the contract on gtlsserver: a free port, READY once it is bound, SIGTERM ends it. */
export async function runServerDriver(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      cert: { type: 'string' },
      key: { type: 'string' },
      root: { type: 'string' },
      retry: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '120' },
      h3: { type: 'boolean', default: true }, // gtlsserver speaks HTTP/3 only
    },
  });
  if (!o.cert || !o.key || !o.root) driverFail('--cert, --key and --root are required');
  let child = null;
  let stopping = false;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    driverLog(`stopping (${why})`);
    child?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  setTimeout(() => stop(`--timeout ${o.timeout}s`), Number(o.timeout) * 1000).unref();
  // A port picked free can be taken before gtlsserver binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = Number(o.port) > 0 ? Number(o.port) : await pickUdpPort(o.host);
    const cmd = ngtcp2ServerCommand({
      host: o.host,
      port,
      cert: o.cert,
      key: o.key,
      root: path.resolve(o.root),
      retry: o.retry,
    });
    // Its output goes to our stderr: stdout carries READY only.
    child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 2, 2] });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
    const bound = waitUdpPortBound(port, 5000).then(
      () => 'bound',
      () => 'not bound',
    );
    const first = await Promise.race([bound, exited]);
    if (first === 'bound') {
      process.stdout.write(`READY ${port}\n`);
      const end = await exited;
      if (!stopping) driverFail(`gtlsserver exited on its own (${end})`);
      return;
    }
    child.kill('SIGKILL');
    driverLog(`gtlsserver did not come up on port ${port} (${first})`);
  }
  driverFail('gtlsserver did not start');
}

const isMain = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  const [role, ...rest] = process.argv.slice(2);
  if (!ngtcp2Available())
    driverFail(`${GTLSSERVER} / ${GTLSCLIENT} missing: apt-get install ngtcp2-server ngtcp2-client`);
  // gtlsserver speaks HTTP/3 only, so `h3-server` is `server` (without --retry it is the HTTP/3
  // contract's server, minus POST /echo and GOAWAY: gtlsserver has neither).
  const drivers = {
    server: runServerDriver,
    client: runClientDriver,
    'h3-server': runServerDriver,
    'h3-client': runH3ClientDriver,
  };
  const run = Object.hasOwn(drivers, role) ? drivers[role] : null;
  if (run === null)
    driverFail(`usage: ngtcp2.mjs server|client|h3-server|h3-client [options] (got ${JSON.stringify(role)})`);
  run(rest).catch((err) => driverFail(err instanceof Error ? err.message : String(err)));
}
