/**
 * Interop smoke suite against aioquic, an independent QUIC implementation,
 * in both directions over loopback:
 * - a quichex client echoes 1 MiB and a datagram through an aioquic server;
 * - an aioquic client echoes 1 MiB and a datagram through a quichex Listener.
 *
 * The aioquic side is test/interop/peers/aioquic_peer.py, run with the
 * virtualenv python that scripts/install-interop-peers.sh creates (or the
 * one named by QUICHEX_AIOQUIC_PYTHON). A missing peer fails the suite.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Config, type Connection, connect, type Listener, listen } from '../../packages/quichex/src/index.js';
import { echoStreams } from '../../packages/quichex/test/support/fixtures.js';
import { generateTestCerts, type TestCerts } from '../support/certs.js';

const PEER_SCRIPT = fileURLToPath(new URL('./peers/aioquic_peer.py', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ALPN = 'quichex-interop';
const PAYLOAD_BYTES = 1024 * 1024;
/** Seconds the python peer may live / work before giving up on its own. */
const PEER_SERVER_LIFETIME_S = 120;
const PEER_CLIENT_TIMEOUT_S = 30;
/** Bounds on the Node side. */
const READY_TIMEOUT_MS = 15_000;
const CLIENT_EXIT_TIMEOUT_MS = (PEER_CLIENT_TIMEOUT_S + 10) * 1000;
const TRANSFER_TIMEOUT_MS = 30_000;
const DATAGRAM_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 3_000;

/** The interpreter with aioquic installed: QUICHEX_AIOQUIC_PYTHON, else the installer's venv. */
function aioquicPython(): string {
  const override = process.env.QUICHEX_AIOQUIC_PYTHON;
  if (override) return override;
  const cache = process.env.QUICHEX_CACHE ?? path.join(homedir(), '.cache', 'quichex');
  return path.join(cache, 'venv-aioquic', 'bin', 'python');
}

/** Checks the interpreter exists and imports aioquic; throws an actionable error otherwise. */
function checkPeerPython(python: string): string {
  const hint =
    'Run `bash scripts/install-interop-peers.sh` (installs aioquic 1.7.2 into ' +
    '$QUICHEX_CACHE/venv-aioquic, default ~/.cache/quichex/venv-aioquic) or set QUICHEX_AIOQUIC_PYTHON to a python that has aioquic.';
  if (!existsSync(python)) {
    throw new Error(`aioquic interop peer unavailable: no python at ${python}. ${hint}`);
  }
  const probe = spawnSync(python, ['-c', 'import aioquic; print(aioquic.__version__)'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (probe.error || probe.status !== 0) {
    const detail = probe.error?.message ?? probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`;
    throw new Error(`aioquic interop peer unavailable: ${python} cannot import aioquic (${detail}). ${hint}`);
  }
  return probe.stdout.trim();
}

/** Byte i is i % 251: the same pattern the python peer generates. */
function patternBytes(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Rejects after `ms` with a message naming what was awaited. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// -- child processes ---------------------------------------------------------------

interface Peer {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (or signal name) once the process exited. */
  readonly exited: Promise<number | string>;
}

const children = new Set<Peer>();

function startPeer(python: string, args: string[], onLine?: (line: string) => void): Peer {
  const child = spawn(python, ['-u', PEER_SCRIPT, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | string>((resolve) => {
    // 'close' (not 'exit'): fires once stdout/stderr are drained too.
    child.once('close', (code, sig) => resolve(code ?? sig ?? 'unknown'));
    child.once('error', (err) => {
      stderr.push(`spawn failed: ${err.message}`);
      resolve('spawn-error');
    });
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    onLine?.(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const peer: Peer = { child, stdout, stderr, exited };
  children.add(peer);
  return peer;
}

/** SIGTERM, then SIGKILL after a grace period; waits (bounded) for the exit. */
async function stopPeer(peer: Peer): Promise<void> {
  children.delete(peer);
  const { child } = peer;
  child.stdin?.end();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      peer.exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), KILL_GRACE_MS)),
    ]);
    if (!stopped) {
      child.kill('SIGKILL');
      await withTimeout(peer.exited, KILL_GRACE_MS, 'the killed aioquic peer to exit').catch(() => undefined);
    }
  }
}

function describePeer(peer: Peer): string {
  const tail = (lines: string[]): string => lines.slice(-20).join('\n  ') || '(empty)';
  return `stdout:\n  ${tail(peer.stdout)}\nstderr:\n  ${tail(peer.stderr)}`;
}

/** Starts the aioquic echo server on an ephemeral loopback port; resolves once it printed READY. */
async function startAioquicServer(python: string, certs: TestCerts): Promise<{ peer: Peer; port: number }> {
  let onReady: (port: number) => void = () => undefined;
  const announced = new Promise<number>((resolve) => {
    onReady = resolve;
  });
  const readyLine = (line: string): void => {
    const m = /^READY (\d+)$/.exec(line);
    if (m) onReady(Number(m[1]));
  };
  const peer = startPeer(
    python,
    [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--cert',
      certs.cert,
      '--key',
      certs.key,
      '--alpn',
      ALPN,
      '--timeout',
      String(PEER_SERVER_LIFETIME_S),
      '--exit-on-stdin-eof',
    ],
    readyLine,
  );
  const died = peer.exited.then((code): never => {
    throw new Error(`aioquic server exited (${code}) before READY\n${describePeer(peer)}`);
  });
  const ready = Promise.race([announced, died]);
  try {
    const port = await withTimeout(ready, READY_TIMEOUT_MS, 'the aioquic server to print READY');
    return { peer, port };
  } catch (err) {
    await stopPeer(peer);
    throw err;
  }
}

interface ClientResult {
  ok: boolean;
  error?: string;
  sha256?: string;
  received?: number;
  datagram?: string;
  datagram_attempts?: number;
  alpn?: string;
  seconds?: number;
}

/** Runs the aioquic checking client to completion; returns its exit code and parsed JSON line. */
async function runAioquicClient(
  python: string,
  certs: TestCerts,
  port: number,
  bytes: number,
): Promise<{ code: number | string; result: ClientResult; peer: Peer }> {
  const peer = startPeer(python, [
    'client',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--ca',
    certs.caCert,
    '--alpn',
    ALPN,
    '--server-name',
    'localhost',
    '--bytes',
    String(bytes),
    '--timeout',
    String(PEER_CLIENT_TIMEOUT_S),
  ]);
  peer.child.stdin?.end();
  const code = await withTimeout(peer.exited, CLIENT_EXIT_TIMEOUT_MS, 'the aioquic client to exit');
  // readline may deliver an unterminated last line just after 'close'.
  await new Promise((resolve) => setImmediate(resolve));
  const line = [...peer.stdout].reverse().find((l) => l.trimStart().startsWith('{'));
  if (line === undefined) {
    throw new Error(`aioquic client (exit ${code}) printed no JSON line\n${describePeer(peer)}`);
  }
  return { code, result: JSON.parse(line) as ClientResult, peer };
}

function jsonWithBigInts(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The listener's live connections with their stats, for failure messages. */
function describeServerSide(listener: Listener): string {
  const conns = [...listener.connections].filter((c) => !c.isClosed);
  if (conns.length === 0) return 'no live connections';
  return conns
    .map((c) => {
      return jsonWithBigInts({ streams: c.streamCount, stats: c.stats(), path: c.pathStats()[0] });
    })
    .join('\n');
}

// -- the suite ---------------------------------------------------------------------

describe('interop with aioquic', () => {
  let certs: TestCerts;
  let python: string;
  let peerError: Error | undefined;
  const configs: Config[] = [];
  const connections: Connection[] = [];
  const listeners: Listener[] = [];

  /** The peer interpreter; fails (never skips) the calling test when it is missing. */
  function requirePython(): string {
    if (peerError) throw peerError;
    return python;
  }

  beforeAll(() => {
    certs = generateTestCerts();
    python = aioquicPython();
    try {
      checkPeerPython(python);
    } catch (err) {
      peerError = err as Error;
    }
  });

  afterEach(async () => {
    for (const conn of connections.splice(0)) conn.destroy();
    await Promise.all(
      listeners.splice(0).map((l) => withTimeout(l.close({ timeoutMs: 2_000 }), 5_000, 'listener close')),
    );
    await Promise.all([...children].map((p) => stopPeer(p)));
    for (const config of configs.splice(0)) config.free();
  });

  afterAll(() => certs?.cleanup());

  it('quichex client -> aioquic server: 1 MiB bidi echo and a datagram', async () => {
    const py = requirePython();
    const { peer, port } = await startAioquicServer(py, certs);

    const config = new Config({ alpn: [ALPN], caFile: certs.caCert, dgram: true });
    configs.push(config);
    const conn = await connect({
      host: '127.0.0.1',
      port,
      config,
      serverName: 'localhost',
      handshakeTimeout: 10_000,
    });
    connections.push(conn);
    expect(conn.info().alpn).toBe(ALPN);

    const payload = patternBytes(PAYLOAD_BYTES);
    const stream = await conn.openStream();
    const signal = AbortSignal.timeout(TRANSFER_TIMEOUT_MS);
    const started = performance.now();
    // Read while writing: the echo comes back while we are still sending.
    let echoed: Buffer;
    try {
      [, echoed] = await Promise.all([stream.end(payload, { signal }), stream.readAll({ signal })]);
    } catch (err) {
      const stats = conn.isClosed ? 'connection closed' : jsonWithBigInts(conn.stats());
      throw new Error(
        `1 MiB echo through aioquic failed: ${(err as Error).message}\nquichex stats: ${stats}\n${describePeer(peer)}`,
        { cause: err },
      );
    }
    const elapsed = performance.now() - started;
    expect(echoed.length).toBe(payload.length);
    expect(sha256(echoed)).toBe(sha256(payload));
    expect(Buffer.compare(echoed, payload)).toBe(0);

    // Datagrams are unreliable: resend until the echo arrives, within a deadline.
    const ping = 'ping-from-quichex';
    const deadline = performance.now() + DATAGRAM_TIMEOUT_MS;
    let reply: Uint8Array | null = null;
    let attempts = 0;
    while (reply === null && performance.now() < deadline) {
      attempts++;
      conn.sendDatagram(ping);
      try {
        reply = await conn.receiveDatagram({ signal: AbortSignal.timeout(500) });
      } catch (err) {
        if ((err as Error).name !== 'TimeoutError') throw err;
      }
    }
    expect(reply, `no datagram echo after ${attempts} attempts\n${describePeer(peer)}`).not.toBeNull();
    expect(Buffer.from(reply!).toString('utf8')).toBe(ping);

    const closed = await withTimeout(
      conn.close({ errorCode: 0, reason: 'done' }),
      10_000,
      'the connection to close',
    );
    expect(closed.local).toBe(true);
    expect(closed.graceful).toBe(true);
    console.info(
      `quichex -> aioquic: ${PAYLOAD_BYTES} bytes echoed in ${elapsed.toFixed(0)} ms, datagram after ${attempts} attempt(s)`,
    );
  });

  it('aioquic client -> quichex listener: 1 MiB bidi echo and a datagram', async () => {
    const py = requirePython();
    const config = new Config({
      alpn: [ALPN],
      certChainFile: certs.cert,
      privKeyFile: certs.key,
      dgram: true,
    });
    configs.push(config);
    const serverErrors: Error[] = [];
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config,
      onConnection: (conn) => {
        conn.on('error', (err) => serverErrors.push(err));
        conn.on('datagram', (d) => {
          try {
            conn.sendDatagram(d);
          } catch (err) {
            serverErrors.push(err as Error);
          }
        });
        return echoStreams(conn);
      },
    });
    listeners.push(listener);
    const { port } = listener.address();

    const { code, result, peer } = await runAioquicClient(py, certs, port, PAYLOAD_BYTES);
    const context = `aioquic client exit ${code}\n${describePeer(peer)}\nquichex side: ${describeServerSide(listener)}`;
    expect(result.error, context).toBeUndefined();
    expect(result.ok, context).toBe(true);
    expect(code, context).toBe(0);
    expect(result.alpn).toBe(ALPN);
    expect(result.received).toBe(PAYLOAD_BYTES);
    expect(result.sha256).toBe(sha256(patternBytes(PAYLOAD_BYTES)));
    expect(result.datagram).toBe('ping-from-aioquic');
    expect(serverErrors).toEqual([]);
    console.info(
      `aioquic -> quichex: ${result.received} bytes echoed in ${result.seconds}s, datagram after ${result.datagram_attempts} attempt(s)`,
    );
  });
});
