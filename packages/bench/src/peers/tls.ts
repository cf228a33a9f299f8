/**
 * Node's TLS 1.3 over TCP (`node:tls`), with the same certificate as the
 * QUIC peers. K streams are K sockets; `rr --new-stream` has no equivalent.
 * In `mixed` a probe is a new TLS connection whose 32 bytes end with the
 * client's half-close, and an upload is a connection that never ends.
 *
 * @module
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import {
  type ClientHooks,
  errorText,
  openMany,
  type Peer,
  payload,
  pool,
  type ServerHandle,
  split,
  withTimeout,
} from '../lifecycle.js';
import {
  type BulkResult,
  bulkResult,
  type HandshakeResult,
  HOST,
  handshakeResult,
  type IdleClientResult,
  latencySummary,
  type PeerOptions,
  type PeerResult,
  PROBE_SIZE,
  RR_SIZE,
  type Scenario,
} from '../protocol.js';
import {
  type Probed,
  ProbeOrUpload,
  runProber,
  runUploader,
  type Upload,
  type UploadState,
} from './mixed.js';

const CHUNK = 64 * 1024;

function serveSocket(socket: tls.TLSSocket, scenario: Scenario): void {
  socket.on('error', () => socket.destroy());
  if (scenario === 'bulk') {
    socket.on('data', () => undefined);
    socket.on('end', () => socket.end(Buffer.of(1)));
  } else if (scenario === 'mixed') {
    // A probe's echo must not wait for Nagle; uploads write 64 KiB at a time anyway.
    socket.setNoDelay(true);
    const rule = new ProbeOrUpload();
    socket.on('data', (d: Buffer) => rule.push(d));
    socket.on('end', () => socket.end(rule.reply()));
  } else if (scenario === 'rr') {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
  } else {
    socket.resume();
    socket.on('end', () => socket.end());
  }
}

async function server(scenario: Scenario, opts: PeerOptions): Promise<ServerHandle> {
  if (!opts.cert || !opts.key) throw new Error('the server needs --cert and --key');
  const live = new Set<tls.TLSSocket>();
  const srv = tls.createServer({
    cert: readFileSync(opts.cert),
    key: readFileSync(opts.key),
    minVersion: 'TLSv1.3',
  });
  srv.on('secureConnection', (socket) => {
    live.add(socket);
    socket.on('close', () => live.delete(socket));
    serveSocket(socket, scenario);
  });
  srv.on('tlsClientError', () => undefined);
  srv.listen({ port: opts.port, host: HOST, backlog: 4096 });
  await once(srv, 'listening');
  const addr = srv.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : opts.port,
    connections: () => live.size,
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

function dial(opts: PeerOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: HOST,
      port: opts.port,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      socket.removeListener('error', fail);
      socket.on('error', () => socket.destroy());
      resolve(socket);
    });
  });
}

async function writeAll(socket: tls.TLSSocket, n: number): Promise<void> {
  const chunk = payload(CHUNK);
  for (let sent = 0; sent < n; sent += CHUNK) {
    const ok = socket.write(n - sent >= CHUNK ? chunk : chunk.subarray(0, n - sent));
    if (!ok) await once(socket, 'drain');
  }
}

async function bulk(opts: PeerOptions): Promise<BulkResult> {
  const sockets = await Promise.all(Array.from({ length: opts.streams }, () => dial(opts)));
  try {
    const t0 = performance.now();
    await Promise.all(
      split(opts.bytes, opts.streams).map(async (n, i) => {
        const s = sockets[i] as tls.TLSSocket;
        let replied = 0;
        s.on('data', (d: Buffer) => {
          replied += d.length;
        });
        const ended = once(s, 'end');
        await writeAll(s, n);
        s.end();
        await ended;
        if (replied !== 1) throw new Error(`expected a 1-byte reply, got ${replied} bytes`);
      }),
    );
    return bulkResult(opts.bytes, opts.streams, performance.now() - t0);
  } finally {
    for (const s of sockets) s.destroy();
  }
}

async function rr(opts: PeerOptions): Promise<PeerResult> {
  const socket = await dial(opts);
  try {
    socket.setNoDelay(true);
    const msg = payload(RR_SIZE, 0x62);
    let got = 0;
    let wake: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= RR_SIZE && wake) {
        const w = wake;
        wake = null;
        w();
      }
    });
    const samples: number[] = [];
    for (let i = 0; i < opts.count; i++) {
      const t = performance.now();
      const reply = new Promise<void>((resolve) => {
        wake = resolve;
      });
      socket.write(msg);
      await withTimeout(reply, 5000, 'echo');
      got -= RR_SIZE;
      samples.push((performance.now() - t) * 1000);
    }
    return latencySummary(samples);
  } finally {
    socket.destroy();
  }
}

async function handshake(opts: PeerOptions): Promise<HandshakeResult> {
  const closing: Promise<unknown>[] = [];
  let errors = 0;
  let firstError: unknown;
  const t0 = performance.now();
  await pool(opts.count, opts.concurrency, async () => {
    try {
      const s = await dial(opts);
      closing.push(once(s, 'close').catch(() => undefined));
      s.end();
    } catch (err) {
      errors++;
      firstError ??= err;
    }
  });
  const ms = performance.now() - t0;
  await withTimeout(Promise.all(closing), 10_000, 'closing').catch(() => undefined);
  if (errors === opts.count) throw new Error(`every handshake failed: ${errorText(firstError)}`);
  return handshakeResult(opts.count - errors, opts.concurrency, ms, errors);
}

async function idle(opts: PeerOptions, hooks: ClientHooks): Promise<IdleClientResult> {
  const { items, errors, firstError, seconds } = await openMany(opts.count, opts.concurrency, () =>
    dial(opts),
  );
  await hooks.holdIdle(items.length, errors, firstError);
  for (const s of items) s.destroy();
  return { count: items.length, errors, seconds };
}

/** mixed uploader: one TLS connection, 64 KiB writes (with backpressure) until told to stop. */
async function openUpload(opts: PeerOptions, state: UploadState): Promise<Upload> {
  const socket = await dial(opts);
  const chunk = payload(CHUNK);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const running = (async () => {
    while (!state.stopped) {
      if (socket.destroyed) throw new Error('the upload connection closed');
      const ok = socket.write(chunk);
      state.bytes += chunk.length;
      if (!ok) await Promise.race([once(socket, 'drain'), closed]);
    }
  })();
  running.catch(() => undefined);
  return {
    running,
    lost: () => undefined,
    close: async () => {
      socket.destroy();
      await closed;
    },
  };
}

/** mixed probe: a new TLS connection, 32 bytes and half-close, the 32-byte echo back. */
function probeOnce(opts: PeerOptions, signal: AbortSignal): Promise<Probed> {
  const msg = payload(PROBE_SIZE, 0x70);
  const t0 = performance.now();
  return new Promise<Probed>((resolve, reject) => {
    const socket = tls.connect({
      host: HOST,
      port: opts.port,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    socket.setNoDelay(true);
    let got = 0;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (err: unknown): void => {
      socket.destroy();
      if (settle()) reject(err);
    };
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', fail);
    socket.once('secureConnect', () => socket.end(msg));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got < PROBE_SIZE) return;
      const ms = performance.now() - t0;
      if (settle())
        resolve({
          ms,
          close: async () => {
            socket.destroy();
          },
        });
    });
    socket.once('end', () => {
      if (got < PROBE_SIZE) fail(new Error(`the echo ended after ${got} of ${PROBE_SIZE} bytes`));
    });
  });
}

function mixed(opts: PeerOptions): Promise<PeerResult> {
  return opts.probe
    ? runProber(opts, (signal) => probeOnce(opts, signal))
    : runUploader(opts, (state) => openUpload(opts, state));
}

export const tlsPeer: Peer = {
  server,
  client(scenario, opts, hooks) {
    switch (scenario) {
      case 'bulk':
        return bulk(opts);
      case 'rr':
        return rr(opts);
      case 'handshake':
        return handshake(opts);
      case 'idle':
        return idle(opts, hooks);
      case 'mixed':
        return mixed(opts);
      default:
        throw new Error(`tls: ${scenario} is not supported`);
    }
  },
};
