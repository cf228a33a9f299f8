/**
 * The quichex peer: `listen()` on the server, `connect()` on the client.
 *
 * @module
 */
import { Config, type Connection, connect, listen, type Stream } from 'quichex';
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
  ALPN,
  type BulkResult,
  bulkResult,
  type DgramResult,
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
  type CountAnswer,
  clientSeconds,
  countingReply,
  type DgramCounter,
  dgramResult,
  newDgramCounter,
} from './dgram-count.js';
import {
  type Probed,
  ProbeOrUpload,
  runProber,
  runUploader,
  type Upload,
  type UploadState,
} from './mixed.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

function config(scenario: Scenario, opts: PeerOptions, server: boolean): Config {
  return new Config({
    alpn: [ALPN],
    maxSendUdpPayloadSize: 1350,
    // Idle connections are opened over minutes at 100k: they must not time out meanwhile.
    maxIdleTimeout: scenario === 'idle' ? 0 : 30_000,
    initialMaxData: 64 * MiB,
    initialMaxStreamDataBidiLocal: 16 * MiB,
    initialMaxStreamDataBidiRemote: 16 * MiB,
    initialMaxStreamDataUni: 16 * MiB,
    initialMaxStreamsBidi: 100_000,
    // The defaults before pacing was honoured: cubic, which quiche 0.30 never paces.
    ...(opts.noPacing ? { pacing: false, ccAlgorithm: 'cubic' as const } : {}),
    ...(scenario === 'dgram' ? { dgram: { recvQueueLen: 10_000, sendQueueLen: 1000 } } : {}),
    ...(server
      ? { certChainFile: required(opts.cert, '--cert'), privKeyFile: required(opts.key, '--key') }
      : { verifyPeer: false }),
  });
}

function required(v: string | undefined, name: string): string {
  if (v === undefined) throw new Error(`the server needs ${name}`);
  return v;
}

// -- server ------------------------------------------------------------------

async function discardThenAck(stream: Stream): Promise<void> {
  for (;;) {
    const c = await stream.read();
    if (c === null) break;
  }
  await stream.end(Buffer.of(1));
}

async function echo(stream: Stream): Promise<void> {
  for (;;) {
    const c = await stream.read();
    if (c === null) break;
    await stream.write(c);
  }
  await stream.end();
}

/** mixed: echo a stream that ends within PROBE_LIMIT bytes, discard a longer one. */
async function probeOrUpload(stream: Stream): Promise<void> {
  const rule = new ProbeOrUpload();
  for (;;) {
    const c = await stream.read();
    if (c === null) break;
    rule.push(c);
  }
  await stream.end(rule.reply());
}

function serveStream(stream: Stream, scenario: Scenario, counter: DgramCounter | null): Promise<void> {
  switch (scenario) {
    case 'bulk':
      return discardThenAck(stream);
    case 'mixed':
      return probeOrUpload(stream);
    case 'dgram':
      if (counter)
        return countingReply(
          counter,
          async () => (await stream.readAll()).length,
          (text) => stream.end(text),
        );
      return echo(stream);
    default:
      return echo(stream);
  }
}

async function serveConnection(conn: Connection, scenario: Scenario): Promise<void> {
  let counter: DgramCounter | null = null;
  if (scenario === 'dgram') {
    const c = newDgramCounter();
    counter = c;
    conn.on('datagram', () => c.count());
  }
  for await (const stream of conn.streams()) {
    const handle = serveStream(stream, scenario, counter);
    handle.catch(() => stream.reset(1));
  }
}

async function server(scenario: Scenario, opts: PeerOptions): Promise<ServerHandle> {
  const cfg = config(scenario, opts, true);
  const listener = await listen({
    host: HOST,
    port: opts.port,
    config: cfg,
    // Every benchmark client comes from 127.0.0.1: past 16 handshakes from one address the
    // default admission would ask them for a Retry (one more round trip each), which no other
    // peer here does. A server behind no NAT of its clients sees them spread over addresses.
    maxHandshakesPerAddress: 1_000_000,
    onConnection: (conn) => serveConnection(conn, scenario),
  });
  return {
    port: listener.address().port,
    connections: () => listener.connections.size,
    close: () => listener.close({ timeoutMs: 2000 }),
  };
}

// -- client ------------------------------------------------------------------

function dial(cfg: Config, opts: PeerOptions): Promise<Connection> {
  return connect({
    host: HOST,
    port: opts.port,
    config: cfg,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
}

async function bulk(opts: PeerOptions): Promise<BulkResult> {
  const cfg = config('bulk', opts, false);
  const conn = await dial(cfg, opts);
  try {
    const chunk = payload(CHUNK);
    const t0 = performance.now();
    await Promise.all(
      split(opts.bytes, opts.streams).map(async (n) => {
        const s = await conn.openStream();
        const reply = s.readAll();
        for (let sent = 0; sent < n; sent += CHUNK) {
          await s.write(n - sent >= CHUNK ? chunk : chunk.subarray(0, n - sent));
        }
        await s.end();
        const r = await reply;
        if (r.length !== 1) throw new Error(`expected a 1-byte reply, got ${r.length} bytes`);
      }),
    );
    const ms = performance.now() - t0;
    return { ...bulkResult(opts.bytes, opts.streams, ms), lost: conn.stats().lost };
  } finally {
    await withTimeout(conn.close(), 5000, 'close').catch(() => conn.destroy());
  }
}

async function rr(opts: PeerOptions): Promise<PeerResult> {
  const cfg = config('rr', opts, false);
  const conn = await dial(cfg, opts);
  const msg = payload(RR_SIZE, 0x62);
  const samples: number[] = [];
  try {
    if (opts.newStream) {
      for (let i = 0; i < opts.count; i++) {
        const t = performance.now();
        const s = await conn.openStream();
        await s.end(msg);
        const r = await s.readAll();
        if (r.length !== RR_SIZE) throw new Error(`echo of ${r.length} bytes, expected ${RR_SIZE}`);
        samples.push((performance.now() - t) * 1000);
      }
    } else {
      const s = await conn.openStream();
      for (let i = 0; i < opts.count; i++) {
        const t = performance.now();
        await s.write(msg);
        let got = 0;
        while (got < RR_SIZE) {
          const c = await s.read();
          if (c === null) throw new Error('the server ended the stream early');
          got += c.length;
        }
        samples.push((performance.now() - t) * 1000);
      }
      await s.end();
    }
    return latencySummary(samples);
  } finally {
    await withTimeout(conn.close(), 5000, 'close').catch(() => conn.destroy());
  }
}

async function handshake(opts: PeerOptions): Promise<HandshakeResult> {
  const cfg = config('handshake', opts, false);
  const closing: Promise<unknown>[] = [];
  let errors = 0;
  let firstError: unknown;
  const t0 = performance.now();
  await pool(opts.count, opts.concurrency, async () => {
    try {
      const conn = await dial(cfg, opts);
      // Timed: connect + established + close initiated; the draining period runs in the background.
      closing.push(conn.close().catch(() => undefined));
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

async function datagrams(opts: PeerOptions): Promise<DgramResult> {
  const cfg = config('dgram', opts, false);
  const conn = await dial(cfg, opts);
  try {
    const max = conn.maxDatagramSize;
    if (max === null) throw new Error('the server did not enable datagrams');
    const msg = payload(Math.min(opts.size, max), 0x63);
    let sent = 0;
    const t0 = performance.now();
    const deadline = performance.now() + 120_000;
    while (sent < opts.count && performance.now() < deadline) {
      if (conn.trySendDatagram(msg)) sent++;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const s = await conn.openStream();
    await s.end('done');
    const reply = JSON.parse((await s.readAll()).toString('utf8')) as CountAnswer;
    return dgramResult(sent, reply.received, clientSeconds(t0, performance.now(), reply));
  } finally {
    await withTimeout(conn.close(), 5000, 'close').catch(() => conn.destroy());
  }
}

async function idle(opts: PeerOptions, hooks: ClientHooks): Promise<IdleClientResult> {
  const cfg = config('idle', opts, false);
  const { items, errors, firstError, seconds } = await openMany(opts.count, opts.concurrency, () =>
    dial(cfg, opts),
  );
  await hooks.holdIdle(items.length, errors, firstError);
  for (const c of items) c.destroy();
  return { count: items.length, errors, seconds };
}

/** mixed uploader: one connection, one stream, 64 KiB writes until told to stop. */
async function openUpload(cfg: Config, opts: PeerOptions, state: UploadState): Promise<Upload> {
  const conn = await dial(cfg, opts);
  const chunk = payload(CHUNK);
  const running = (async () => {
    const s = await conn.openStream();
    while (!state.stopped) {
      await s.write(chunk);
      state.bytes += chunk.length;
    }
  })();
  // Failures are reported through `running` by the uploader; this only keeps them handled.
  running.catch(() => undefined);
  let lost: number | undefined;
  return {
    running,
    lost: () => {
      try {
        lost = conn.stats().lost;
      } catch {
        // closed already: the last figure read stands
      }
      return lost;
    },
    close: async () => {
      await withTimeout(conn.close(), 3000, 'close').catch(() => conn.destroy());
    },
  };
}

/** mixed probe: a new connection, one stream, 32 bytes with FIN, the echo back. */
async function probeOnce(cfg: Config, opts: PeerOptions, signal: AbortSignal): Promise<Probed> {
  const msg = payload(PROBE_SIZE, 0x70);
  const t0 = performance.now();
  const conn = await connect({ host: HOST, port: opts.port, config: cfg, signal });
  const onAbort = (): void => conn.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) throw signal.reason;
    const s = await conn.openStream();
    await s.end(msg);
    let got = 0;
    while (got < PROBE_SIZE) {
      const c = await s.read();
      if (c === null) throw new Error(`the echo ended after ${got} of ${PROBE_SIZE} bytes`);
      got += c.length;
    }
    const ms = performance.now() - t0;
    return { ms, close: () => withTimeout(conn.close(), 5000, 'close').catch(() => conn.destroy()) };
  } catch (err) {
    conn.destroy();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function mixed(opts: PeerOptions): Promise<PeerResult> {
  const cfg = config('mixed', opts, false);
  return opts.probe
    ? runProber(opts, (signal) => probeOnce(cfg, opts, signal))
    : runUploader(opts, (state) => openUpload(cfg, opts, state));
}

export const quichexPeer: Peer = {
  server,
  client(scenario, opts, hooks) {
    switch (scenario) {
      case 'bulk':
        return bulk(opts);
      case 'rr':
        return rr(opts);
      case 'handshake':
        return handshake(opts);
      case 'dgram':
        return datagrams(opts);
      case 'idle':
        return idle(opts, hooks);
      case 'mixed':
        return mixed(opts);
      default:
        throw new Error(`quichex: ${scenario} is not supported`);
    }
  },
};
