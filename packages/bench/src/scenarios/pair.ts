/**
 * One run of one case for one impl: start the server, run the client, stop
 * the server, every step bounded.
 *
 * @module
 */
import { type Certs, peerCommand } from '../commands.js';
import { PeerProcess } from '../proc.js';
import type { Impl } from '../protocol.js';
import { type BenchCase, caseFlags, type RunOutcome } from './types.js';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 8_000;

/** A peer said the scenario does not apply to it (`{"error":"n/a: ..."}`). */
export class NotApplicable extends Error {}

/** The outcome for an error thrown while running a case. */
export function failure(err: unknown): RunOutcome {
  if (err instanceof NotApplicable) return { status: 'n/a', error: err.message };
  return { status: 'error', error: err instanceof Error ? err.message : String(err) };
}

/** Starts a server and waits for its ready line. */
export async function startServer(
  impl: Impl,
  c: BenchCase,
  certs: Certs,
): Promise<{ server: PeerProcess; port: number }> {
  const server = new PeerProcess(
    peerCommand(impl, 'server', c.scenario, ['--port', '0', ...caseFlags(c.serverArgs ?? {})], certs),
  );
  try {
    const ready = await server.waitLine((l) => l.ready === true, READY_TIMEOUT_MS, `${impl} server start`);
    if (typeof ready.port !== 'number' || ready.port <= 0)
      throw new Error(`${impl} server: no port in ready line`);
    return { server, port: ready.port };
  } catch (err) {
    server.kill();
    const na = server.lines.find((l) => typeof l.error === 'string' && l.error.startsWith('n/a: '));
    if (na) throw new NotApplicable(String(na.error).slice(5));
    throw err;
  }
}

/** Stops a server (stdin closed, then SIGKILL after a bound) and returns its final line. */
export async function stopServer(server: PeerProcess): Promise<Record<string, unknown> | undefined> {
  await server.stop(STOP_TIMEOUT_MS);
  return server.lines.find((l) => l.server !== undefined)?.server as Record<string, unknown> | undefined;
}

export async function runPair(impl: Impl, c: BenchCase, certs: Certs): Promise<RunOutcome> {
  let server: PeerProcess | undefined;
  let client: PeerProcess | undefined;
  try {
    const started = await startServer(impl, c, certs);
    server = started.server;
    client = new PeerProcess(
      peerCommand(impl, 'client', c.scenario, ['--port', String(started.port), ...caseFlags(c.args)], certs),
    );
    const line = await client.waitLine(
      (l) => l.result !== undefined || l.error !== undefined,
      c.timeoutMs,
      `${impl} client`,
    );
    if (line.error !== undefined) {
      const text = String(line.error);
      return text.startsWith('n/a: ')
        ? { status: 'n/a', error: text.slice(5) }
        : { status: 'error', error: text };
    }
    const code = await client.stop(5000);
    if (code !== 0)
      return { status: 'error', error: `client exited with ${client.describeExit()} after its result` };
    const serverLine = await stopServer(server);
    return { status: 'ok', result: line.result ?? {}, ...(serverLine ? { server: serverLine } : {}) };
  } catch (err) {
    return failure(err);
  } finally {
    client?.kill();
    if (server && !server.exited) await stopServer(server);
  }
}
