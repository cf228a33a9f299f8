/**
 * `@matrixai/quic` (quiche through napi-rs), through its own API: QUICServer,
 * QUICClient.createQUICClient, QUICStream as WHATWG streams. It has no
 * datagram API, so `dgram` is n/a. Its server always demands a Retry round
 * trip (address validation), which its handshake figures include.
 *
 * @module
 */
import { createHmac, getRandomValues, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Logger, { LogLevel } from '@matrixai/logger';
import { events, QUICClient, type QUICConnection, QUICServer, type QUICStream } from '@matrixai/quic';
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
  type HandshakeResult,
  HOST,
  handshakeResult,
  type IdleClientResult,
  latencySummary,
  type PeerOptions,
  type PeerResult,
  RR_SIZE,
  type Scenario,
} from '../protocol.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

function logger(): Logger {
  return new Logger('matrixai', LogLevel.ERROR);
}

function transportConfig(scenario: Scenario) {
  return {
    applicationProtos: [ALPN],
    maxSendUdpPayloadSize: 1350,
    maxIdleTimeout: scenario === 'idle' ? 0 : 30_000,
    initialMaxData: 64 * MiB,
    initialMaxStreamDataBidiLocal: 16 * MiB,
    initialMaxStreamDataBidiRemote: 16 * MiB,
    initialMaxStreamDataUni: 16 * MiB,
    initialMaxStreamsBidi: 100_000,
  };
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

// -- server ------------------------------------------------------------------

async function discardThenAck(stream: QUICStream): Promise<void> {
  const reader = stream.readable.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  const writer = stream.writable.getWriter();
  await writer.write(Uint8Array.of(1));
  await writer.close();
}

async function echo(stream: QUICStream): Promise<void> {
  await stream.readable.pipeTo(stream.writable);
}

function serveConnection(conn: QUICConnection, scenario: Scenario): void {
  conn.addEventListener(events.EventQUICConnectionStream.name, (evt: Event) => {
    const stream = (evt as events.EventQUICConnectionStream).detail;
    const handled = scenario === 'bulk' ? discardThenAck(stream) : echo(stream);
    handled.catch(() => stream.cancel());
  });
  conn.addEventListener(events.EventQUICConnectionError.name, () => undefined);
}

async function server(scenario: Scenario, opts: PeerOptions): Promise<ServerHandle> {
  if (!opts.cert || !opts.key) throw new Error('the server needs --cert and --key');
  const hmacKey = randomBytes(32);
  const live = new Set<QUICConnection>();
  const srv = new QUICServer({
    crypto: {
      key: toArrayBuffer(hmacKey),
      ops: {
        async sign(key, data) {
          return toArrayBuffer(createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest());
        },
        async verify(key, data, sig) {
          const want = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
          const got = Buffer.from(sig);
          return got.length === want.length && timingSafeEqual(got, want);
        },
      },
    },
    config: {
      ...transportConfig(scenario),
      cert: readFileSync(opts.cert, 'utf8'),
      key: readFileSync(opts.key, 'utf8'),
      verifyPeer: false,
    },
    logger: logger(),
  });
  srv.addEventListener(events.EventQUICServerError.name, () => undefined);
  srv.addEventListener(events.EventQUICServerConnection.name, (evt: Event) => {
    const conn = (evt as events.EventQUICServerConnection).detail;
    live.add(conn);
    conn.addEventListener(events.EventQUICConnectionStopped.name, () => live.delete(conn), { once: true });
    serveConnection(conn, scenario);
  });
  await srv.start({ host: HOST, port: opts.port });
  return {
    port: srv.port,
    connections: () => live.size,
    close: () => srv.stop({ force: true }),
  };
}

// -- client ------------------------------------------------------------------

async function dial(scenario: Scenario, opts: PeerOptions): Promise<QUICClient> {
  const client = await QUICClient.createQUICClient(
    {
      host: HOST,
      port: opts.port,
      localHost: opts.localAddress ?? HOST,
      crypto: {
        ops: {
          async randomBytes(data: ArrayBuffer) {
            getRandomValues(new Uint8Array(data));
          },
        },
      },
      config: { ...transportConfig(scenario), verifyPeer: false },
      logger: logger(),
    },
    { timer: CONNECT_TIMEOUT_MS },
  );
  client.addEventListener(events.EventQUICClientError.name, () => undefined);
  return client;
}

function destroy(client: QUICClient): Promise<void> {
  return withTimeout(client.destroy({ force: true }), 5000, 'destroy').catch(() => undefined);
}

/** Reads until the stream ends; returns the byte count. */
async function drain(stream: QUICStream): Promise<number> {
  const reader = stream.readable.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

async function bulk(opts: PeerOptions): Promise<BulkResult> {
  const client = await dial('bulk', opts);
  try {
    const chunk = payload(CHUNK);
    const t0 = performance.now();
    await Promise.all(
      split(opts.bytes, opts.streams).map(async (n) => {
        const stream = client.connection.newStream('bidi');
        const reply = drain(stream);
        const writer = stream.writable.getWriter();
        for (let sent = 0; sent < n; sent += CHUNK) {
          await writer.write(n - sent >= CHUNK ? chunk : chunk.subarray(0, n - sent));
        }
        await writer.close();
        const got = await reply;
        if (got !== 1) throw new Error(`expected a 1-byte reply, got ${got} bytes`);
      }),
    );
    return bulkResult(opts.bytes, opts.streams, performance.now() - t0);
  } finally {
    await destroy(client);
  }
}

async function rr(opts: PeerOptions): Promise<PeerResult> {
  const client = await dial('rr', opts);
  const msg = payload(RR_SIZE, 0x62);
  const samples: number[] = [];
  try {
    if (opts.newStream) {
      for (let i = 0; i < opts.count; i++) {
        const t = performance.now();
        const stream = client.connection.newStream('bidi');
        const reply = drain(stream);
        const writer = stream.writable.getWriter();
        await writer.write(msg);
        await writer.close();
        const got = await withTimeout(reply, 5000, 'echo');
        if (got !== RR_SIZE) throw new Error(`echo of ${got} bytes, expected ${RR_SIZE}`);
        samples.push((performance.now() - t) * 1000);
      }
    } else {
      const stream = client.connection.newStream('bidi');
      const reader = stream.readable.getReader();
      const writer = stream.writable.getWriter();
      for (let i = 0; i < opts.count; i++) {
        const t = performance.now();
        await writer.write(msg);
        let got = 0;
        while (got < RR_SIZE) {
          const { done, value } = await withTimeout(reader.read(), 5000, 'echo');
          if (done) throw new Error('the server ended the stream early');
          got += value.byteLength;
        }
        samples.push((performance.now() - t) * 1000);
      }
      await writer.close();
    }
    return latencySummary(samples);
  } finally {
    await destroy(client);
  }
}

async function handshake(opts: PeerOptions): Promise<HandshakeResult> {
  const closing: Promise<unknown>[] = [];
  let errors = 0;
  let firstError: unknown;
  const t0 = performance.now();
  await pool(opts.count, opts.concurrency, async () => {
    try {
      const client = await dial('handshake', opts);
      closing.push(destroy(client));
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
    dial('idle', opts),
  );
  await hooks.holdIdle(items.length, errors, firstError);
  await withTimeout(Promise.all(items.map((c) => destroy(c))), 10_000, 'destroy').catch(() => undefined);
  return { count: items.length, errors, seconds };
}

export const matrixaiPeer: Peer = {
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
      default:
        throw new Error(`matrixai: ${scenario} is not supported`);
    }
  },
};
