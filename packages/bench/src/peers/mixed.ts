/**
 * The `mixed` scenario's shared peer code: the uploader's and the prober's
 * loops, and the server's rule for telling a probe from an upload. Each impl
 * supplies only how to open one upload and how to run one probe.
 *
 * @module
 */
import { createInterface } from 'node:readline';
import { emit, errorText, sleep, withTimeout } from '../lifecycle.js';
import {
  type PeerOptions,
  PROBE_LIMIT,
  type ProbeResult,
  probeResult,
  round3,
  UPLOAD_MAX_MS,
  type UploadResult,
} from '../protocol.js';

/** Shared by every upload of one uploader: the byte count, and whether to stop. */
export interface UploadState {
  /** Bytes the transport accepted, over every connection. */
  bytes: number;
  stopped: boolean;
}

/** One running upload (one connection, one stream). */
export interface Upload {
  /** Its write loop: resolves once `state.stopped` is seen, rejects when the upload fails. */
  running: Promise<void>;
  /** Packets declared lost so far, or `undefined` when the impl does not tell. */
  lost(): number | undefined;
  /** Closes the connection (the caller bounds the wait). */
  close(): Promise<void>;
}

/** A probe that got its echo: its latency and how to close its connection. */
export interface Probed {
  /** Milliseconds from starting connect() to the last byte of the echo. */
  ms: number;
  close(): Promise<unknown>;
}

/**
 * The uploader: opens `opts.connections` uploads with `open`, prints
 * `uploading`, answers each `mark` line on stdin with the bytes uploaded since
 * the previous mark, and stops when stdin closes (or after
 * {@link UPLOAD_MAX_MS}). Any upload failing before then fails the uploader.
 */
export async function runUploader(
  opts: PeerOptions,
  open: (state: UploadState) => Promise<Upload>,
): Promise<UploadResult> {
  if (opts.connections < 1) throw new Error('the uploader needs --connections ≥ 1');
  const state: UploadState = { bytes: 0, stopped: false };
  const opened = await Promise.allSettled(Array.from({ length: opts.connections }, () => open(state)));
  const uploads = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const closeAll = (): Promise<unknown> =>
    Promise.all(uploads.map((u) => withTimeout(u.close(), 5000, 'close').catch(() => undefined)));
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    state.stopped = true;
    await closeAll();
    throw failed.reason;
  }
  emit({ uploading: true, connections: uploads.length });
  const t0 = performance.now();
  let markAt = t0;
  let markBytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, UPLOAD_MAX_MS);
      const rl = createInterface({ input: process.stdin });
      rl.on('line', (line) => {
        if (line.trim() !== 'mark') return;
        const now = performance.now();
        emit({ mark: { bytes: state.bytes - markBytes, seconds: round3((now - markAt) / 1000) } });
        markAt = now;
        markBytes = state.bytes;
      });
      rl.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      for (const u of uploads) {
        u.running.then(
          () => {
            if (!state.stopped) reject(new Error('an upload stopped on its own'));
          },
          (err: unknown) => {
            if (!state.stopped) reject(err);
          },
        );
      }
    });
  } finally {
    state.stopped = true;
  }
  const seconds = (performance.now() - t0) / 1000;
  const losses = uploads.map((u) => u.lost());
  await closeAll();
  return {
    connections: uploads.length,
    bytes: state.bytes,
    seconds: round3(seconds),
    ...(losses.every((l): l is number => l !== undefined) ? { lost: losses.reduce((a, b) => a + b, 0) } : {}),
  };
}

/** A promise that rejects with the signal's reason once it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * The prober: `opts.count` probes one after the other, each started
 * `opts.interval` ms after the previous one started (at once when that one
 * took longer), each bounded by `opts.probeTimeout`. `probe` must give up and
 * free its connection when its signal aborts; a probe that fails or runs out
 * of time is counted as a failure and the run goes on.
 */
export async function runProber(
  opts: PeerOptions,
  probe: (signal: AbortSignal) => Promise<Probed>,
): Promise<ProbeResult> {
  const samples: number[] = [];
  const closing: Promise<unknown>[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  emit({ probing: true });
  for (let i = 0; i < opts.count; i++) {
    const started = performance.now();
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new Error(`probe timed out after ${opts.probeTimeout} ms`)),
      opts.probeTimeout,
    );
    const attempt = probe(ac.signal);
    try {
      const done = await Promise.race([attempt, aborted(ac.signal)]);
      samples.push(done.ms);
      closing.push(done.close().catch(() => undefined));
    } catch (err) {
      failures++;
      firstFailure ??= errorText(err);
      // The probe gives up (and frees its connection) on abort, whatever made it fail.
      if (!ac.signal.aborted) ac.abort(err);
      // An echo that came after the bound still gets its connection closed.
      attempt.then((late) => late.close()).catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
    const wait = started + opts.interval - performance.now();
    if (wait > 0 && i + 1 < opts.count) await sleep(wait);
  }
  await withTimeout(Promise.all(closing), 10_000, 'closing').catch(() => undefined);
  // Even every probe failing is a measurement (of a server that did not answer), not an error.
  return probeResult(samples, opts.count, failures, firstFailure);
}

/**
 * The server's rule (see {@link PROBE_LIMIT}) for one stream or TCP
 * connection: feed it each chunk; at the end, `reply()` is the echo of a
 * small stream or one byte for a long one.
 */
export class ProbeOrUpload {
  #kept: Uint8Array[] = [];
  #bytes = 0;

  /** Takes one chunk: kept while the stream is still small enough to be a probe. */
  push(chunk: Uint8Array): void {
    this.#bytes += chunk.length;
    if (this.#bytes <= PROBE_LIMIT) this.#kept.push(chunk);
    else if (this.#kept.length > 0) this.#kept = [];
  }

  /** What to send back with FIN once the stream has ended. */
  reply(): Buffer {
    return this.#bytes <= PROBE_LIMIT ? Buffer.concat(this.#kept) : Buffer.of(1);
  }
}
