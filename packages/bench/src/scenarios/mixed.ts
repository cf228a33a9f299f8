/**
 * Mixed load: does a server stay responsive while it is busy? One server
 * process; an uploader process with K connections (one stream each) that
 * upload as fast as they can; meanwhile a prober process that makes N
 * sequential probes, each a new connection with a 32-byte echo, timed from
 * connect() to the echo received.
 *
 * One run, in order:
 *
 * 1. start the server, then the uploader; wait until it is `uploading`;
 * 2. warm-up (`warmup-ms`), then `mark` (that window is dropped);
 * 3. `baseline-ms`, then `mark`: the first window without probes;
 * 4. start the prober; at its `probing` line `mark` (its start-up is dropped);
 * 5. at its result `mark`: upload throughput while probes ran;
 * 6. `baseline-ms` again, then `mark`: the second window without probes;
 * 7. close the uploader's stdin (it closes its connections), stop the server.
 *
 * Throughput without probes is that of windows 3 and 6 together: one on each
 * side of the probes, so that a rate still drifting (a congestion window
 * regrowing for seconds after losses, as CUBIC's does) does not bias the
 * ratio either way. With `connections: 0` (`mixed-idle`) only the prober
 * runs: the probes' latency on an idle server, the reference for the loaded
 * one.
 *
 * @module
 */
import { type Certs, peerCommand } from '../commands.js';
import { PeerProcess, sleep } from '../proc.js';
import { type Impl, type PeerLine, round3, type UploadMark } from '../protocol.js';
import { failure, startServer, stopServer } from './pair.js';
import type { BenchCase, Metric, Mode, RunOutcome } from './types.js';

/** Bound on one probe (ms): past it the probe counts as a failure. */
export const PROBE_TIMEOUT_MS = 3000;

const UPLOADER_READY_MS = 20_000;
const MARK_TIMEOUT_MS = 10_000;

const probeMetrics: Metric[] = [
  { key: 'p50', label: 'probe p50 ms', better: 'lower', digits: 2 },
  { key: 'p90', label: 'probe p90 ms', better: 'lower', digits: 2 },
  { key: 'p99', label: 'probe p99 ms', better: 'lower', digits: 2 },
  { key: 'max', label: 'probe max ms', better: 'lower', digits: 2 },
  { key: 'failures', label: 'probe failures', better: 'lower', digits: 0 },
];

const uploadMetrics: Metric[] = [
  { key: 'baselineMbps', label: 'uploads MB/s, no probes', better: 'higher', digits: 1 },
  { key: 'duringMbps', label: 'uploads MB/s, during probes', better: 'higher', digits: 1 },
  { key: 'uploadRatio', label: 'uploads during ÷ no probes', better: 'higher', digits: 2 },
];

/** The `mixed` case (probes during K = 4 uploads) and its `mixed-idle` reference (no uploads). */
export function mixedCases(mode: Mode, runs: number): BenchCase[] {
  const full = mode === 'full';
  const connections = 4;
  // Probes every `interval` ms: the probe phase lasts about count × interval,
  // long enough for its upload window to mean something.
  const probes = full ? { count: 150, interval: 50 } : { count: 20, interval: 50 };
  // Uploads take about a second to reach their pace (congestion windows, JIT): the warm-up covers it.
  const phases = full
    ? { 'warmup-ms': 2000, 'baseline-ms': 3000 }
    : { 'warmup-ms': 1000, 'baseline-ms': 600 };
  const timeoutMs = 30_000 + probes.count * (PROBE_TIMEOUT_MS + probes.interval);
  return [
    {
      id: 'mixed',
      scenario: 'mixed',
      title: `mixed: ${probes.count} probes during ${connections} uploads`,
      args: { connections, ...probes, 'probe-timeout': PROBE_TIMEOUT_MS, ...phases },
      metrics: [...probeMetrics, ...uploadMetrics],
      timeoutMs,
      runs,
    },
    {
      id: 'mixed-idle',
      scenario: 'mixed',
      title: `mixed: ${probes.count} probes, no uploads`,
      args: { connections: 0, ...probes, 'probe-timeout': PROBE_TIMEOUT_MS },
      metrics: [...probeMetrics],
      timeoutMs,
      runs,
    },
  ];
}

function mbps(m: UploadMark): number | null {
  return m.seconds > 0 ? Math.round((m.bytes / 1e6 / m.seconds) * 1000) / 1000 : null;
}

/** An error line of a client as an outcome (n/a or error). */
function clientError(line: PeerLine): RunOutcome {
  const text = String(line.error);
  return text.startsWith('n/a: ')
    ? { status: 'n/a', error: text.slice(5) }
    : { status: 'error', error: text };
}

/** Writes `mark` to the uploader and waits for the answer to exactly that line. */
async function mark(uploader: PeerProcess, impl: Impl): Promise<UploadMark> {
  const before = uploader.lines.filter((l) => l.mark !== undefined).length;
  uploader.send('mark');
  const line = await uploader.waitLine(
    (l) => l.mark !== undefined && uploader.lines.filter((x) => x.mark !== undefined).indexOf(l) === before,
    MARK_TIMEOUT_MS,
    `${impl} uploader mark`,
  );
  return line.mark as UploadMark;
}

/** One run of a mixed case for one impl: the phases above, every step bounded, every process stopped. */
export async function runMixed(impl: Impl, c: BenchCase, certs: Certs): Promise<RunOutcome> {
  const a = c.args;
  const connections = Number(a.connections ?? 0);
  let server: PeerProcess | undefined;
  let uploader: PeerProcess | undefined;
  let prober: PeerProcess | undefined;
  try {
    const started = await startServer(impl, c, certs);
    server = started.server;
    const port = String(started.port);
    let before: UploadMark | undefined;
    if (connections > 0) {
      uploader = new PeerProcess(
        peerCommand(impl, 'client', 'mixed', ['--port', port, '--connections', String(connections)], certs),
      );
      const up = await uploader.waitLine(
        (l) => l.uploading === true || l.error !== undefined,
        UPLOADER_READY_MS,
        `${impl} uploader start`,
      );
      if (up.error !== undefined) return clientError(up);
      await sleep(Number(a['warmup-ms'] ?? 0));
      await mark(uploader, impl);
      await sleep(Number(a['baseline-ms'] ?? 1000));
      before = await mark(uploader, impl);
    }

    prober = new PeerProcess(
      peerCommand(
        impl,
        'client',
        'mixed',
        [
          '--port',
          port,
          '--probe',
          '--count',
          String(a.count),
          '--interval',
          String(a.interval ?? 0),
          '--probe-timeout',
          String(a['probe-timeout'] ?? PROBE_TIMEOUT_MS),
        ],
        certs,
      ),
    );
    const go = await prober.waitLine(
      (l) => l.probing === true || l.error !== undefined,
      UPLOADER_READY_MS,
      `${impl} prober start`,
    );
    if (go.error !== undefined) return clientError(go);
    if (uploader) await mark(uploader, impl);
    const done = await prober.waitLine(
      (l) => l.result !== undefined || l.error !== undefined,
      c.timeoutMs,
      `${impl} prober`,
    );
    const during = uploader ? await mark(uploader, impl) : undefined;
    if (done.error !== undefined) return clientError(done);
    if (uploader?.exited) throw new Error(`the uploader died during the probes (${uploader.describeExit()})`);

    const result: Record<string, unknown> = { connections, ...(done.result ?? {}) };
    let uploadResult: Record<string, unknown> | undefined;
    if (uploader && before && during) {
      await sleep(Number(a['baseline-ms'] ?? 1000));
      const after = await mark(uploader, impl);
      const base = mbps({ bytes: before.bytes + after.bytes, seconds: before.seconds + after.seconds });
      const dur = mbps(during);
      Object.assign(result, {
        baselineMbps: base,
        baselineBeforeMbps: mbps(before),
        baselineAfterMbps: mbps(after),
        baselineSeconds: round3(before.seconds + after.seconds),
        duringMbps: dur,
        duringSeconds: during.seconds,
        uploadRatio:
          base !== null && dur !== null && base > 0 ? Math.round((dur / base) * 1000) / 1000 : null,
      });
      uploader.endStdin();
      const fin = await uploader.waitLine(
        (l) => l.result !== undefined || l.error !== undefined,
        MARK_TIMEOUT_MS,
        `${impl} uploader stop`,
      );
      if (fin.error !== undefined) return clientError(fin);
      uploadResult = fin.result;
      if (typeof uploadResult?.lost === 'number') result.uploadLost = uploadResult.lost;
    }
    await prober.stop(5000);
    await uploader?.stop(5000);
    const serverLine = await stopServer(server);
    return {
      status: 'ok',
      result: { ...result, ...(uploadResult ? { upload: uploadResult } : {}) },
      ...(serverLine ? { server: serverLine } : {}),
    };
  } catch (err) {
    return failure(err);
  } finally {
    prober?.kill();
    uploader?.kill();
    if (server && !server.exited) await stopServer(server);
  }
}
