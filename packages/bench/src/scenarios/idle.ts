/**
 * Idle connections: C connections opened and held; the server's memory per
 * connection is (after − before) ÷ C, RSS from /proc/<pid>/status for every
 * impl, V8 heap from the `stats` line where a JS server offers it.
 *
 * One client process holds at most {@link perClient} connections: each has
 * its own socket, so a process needs that many descriptors (the peers run
 * with `ulimit -n` raised where the machine allows it, else at the hard
 * limit), and one local address has only ~28k ephemeral ports, so when
 * there are several processes each binds its own 127.0.0.x. A TCP server
 * needs a descriptor per connection too: past the limit, TLS is n/a.
 *
 * @module
 */
import type { Certs } from '../commands.js';
import { peerCommand } from '../commands.js';
import { PeerProcess, peerNofile, rssKb, sleep } from '../proc.js';
import type { Impl, PeerLine } from '../protocol.js';
import { failure, startServer, stopServer } from './pair.js';
import type { BenchCase, Mode, RunOutcome } from './types.js';

/** Connections per client process: under ~28k ephemeral ports, and under the open-files limit. */
export function perClient(): number {
  return Math.max(100, Math.min(20_000, peerNofile() - 256));
}

function label(n: number): string {
  return n >= 1000 ? `${n / 1000}k` : String(n);
}

export function idleCases(mode: Mode, runs: number): BenchCase[] {
  const counts = mode === 'full' ? [1000, 10_000, 100_000] : [100];
  return counts.map((count) => ({
    id: `idle-${label(count)}`,
    scenario: 'idle',
    title: `idle connections ×${label(count)}`,
    args: { count, concurrency: 100 },
    metrics: [
      { key: 'serverRssKbPerConn', label: 'server RSS KB/conn', better: 'lower', digits: 1 },
      { key: 'serverHeapKbPerConn', label: 'server heap KB/conn', better: 'lower', digits: 1 },
      { key: 'errors', label: 'errors', better: 'lower', digits: 0 },
    ],
    // Opening 100k connections takes minutes.
    timeoutMs: mode === 'full' ? Math.max(120_000, count * 20) : 30_000,
    runs: count >= 100_000 ? 1 : runs,
  }));
}

/** The server's heap (KiB) from its `stats` line, or `null` when it has none. */
async function serverHeap(server: PeerProcess, impl: Impl): Promise<PeerLine['stats'] | null> {
  if (impl === 'native') return null;
  const before = server.lines.length;
  server.send('stats');
  try {
    const line = await server.waitLine(
      (l) => l.stats !== undefined && server.lines.indexOf(l) >= before,
      10_000,
      `${impl} server stats`,
    );
    return line.stats ?? null;
  } catch {
    return null;
  }
}

export async function runIdle(impl: Impl, c: BenchCase, certs: Certs): Promise<RunOutcome> {
  const count = Number(c.args.count);
  // Time for the server to finish what the last handshakes left (and the allocator to settle).
  const settleMs = count > 1000 ? 1000 : 300;
  let server: PeerProcess | undefined;
  const clients: PeerProcess[] = [];
  try {
    const limit = peerNofile();
    if (impl === 'tls' && count > limit - 256) {
      return {
        status: 'n/a',
        error: `a TCP server needs ${count} descriptors; the open-files limit here is ${limit}`,
      };
    }
    const started = await startServer(impl, c, certs);
    server = started.server;
    await sleep(settleMs);
    const rssBefore = rssKb(server.pid);
    const heapBefore = await serverHeap(server, impl);

    const per = perClient();
    const procs = Math.ceil(count / per);
    const t0 = performance.now();
    // The whole run keeps about `concurrency` handshakes in flight, whatever the process count.
    const each = Math.max(10, Math.floor(Number(c.args.concurrency) / procs));
    for (let i = 0; i < procs; i++) {
      const n = Math.min(per, count - i * per);
      const flags = ['--port', String(started.port), '--count', String(n), '--concurrency', String(each)];
      if (procs > 1) flags.push('--local-address', `127.0.0.${2 + i}`);
      clients.push(new PeerProcess(peerCommand(impl, 'client', 'idle', flags, certs)));
    }
    const ready = await Promise.all(
      clients.map((cl, i) =>
        cl.waitLine(
          (l) => l['ready-idle'] === true || l.error !== undefined,
          c.timeoutMs,
          `${impl} idle client ${i}`,
        ),
      ),
    );
    const failed = ready.find((l) => l.error !== undefined);
    if (failed) {
      const text = String(failed.error);
      return text.startsWith('n/a: ')
        ? { status: 'n/a', error: text.slice(5) }
        : { status: 'error', error: text };
    }
    const setupSeconds = (performance.now() - t0) / 1000;
    const held = ready.reduce((a, l) => a + (l.count ?? 0), 0);
    const errors = ready.reduce((a, l) => a + (l.errors ?? 0), 0);
    await sleep(settleMs);
    const rssAfter = rssKb(server.pid);
    const heapAfter = await serverHeap(server, impl);
    if (server.exited) throw new Error(`the server died holding the connections (${server.describeExit()})`);

    const perConn = (a: number | null | undefined, b: number | null | undefined): number | null =>
      a != null && b != null && held > 0 ? Math.round(((a - b) / held) * 100) / 100 : null;
    const result: Record<string, unknown> = {
      count: held,
      requested: count,
      errors: count - held,
      clientErrors: errors,
      firstError: ready.find((l) => l.firstError !== undefined)?.firstError ?? null,
      clientProcesses: procs,
      openFilesLimit: limit,
      setupSeconds: Math.round(setupSeconds * 100) / 100,
      serverRssKbBefore: rssBefore,
      serverRssKbAfter: rssAfter,
      serverRssKbPerConn: perConn(rssAfter, rssBefore),
      serverHeapKbPerConn: perConn(heapAfter?.heapKb, heapBefore?.heapKb),
      serverConnections: heapAfter?.connections ?? null,
    };
    for (const cl of clients) cl.endStdin();
    await Promise.all(clients.map((cl) => cl.stop(30_000)));
    const serverLine = await stopServer(server);
    return { status: 'ok', result, ...(serverLine ? { server: serverLine } : {}) };
  } catch (err) {
    return failure(err);
  } finally {
    for (const cl of clients) cl.kill();
    if (server && !server.exited) await stopServer(server);
  }
}
