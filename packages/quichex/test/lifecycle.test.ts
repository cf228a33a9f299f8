/**
 * Lifecycles end to end: thousands of connect/close cycles give every
 * native resource back, closing a listener closes its connections and ends
 * its iterator, and sockets that cannot be had fail with stable codes.
 */
import dgram from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { type Connection, connect, type Listener, listen, QuicError, resourceCounts } from '../src/index.js';
import { clientConfig, echoServer, echoStreams, serverConfig } from './support/fixtures.js';
import { echo, until, within } from './support/net.js';

/** V8's gc(), for steadier RSS readings (falls back to none). */
function getGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

async function rss(gc: (() => void) | undefined): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().rss;
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

describe('connect/close cycles', () => {
  const WARM_UP = 100;
  const CYCLES = 2000;

  it(`${CYCLES} sequential cycles give every connection and socket back, with bounded RSS growth`, async () => {
    const l = await echoServer();
    const config = clientConfig();
    const port = l.address().port;
    const baseline = resourceCounts();
    const gc = getGc();

    let failures = 0;
    const cycle = async (): Promise<void> => {
      const conn = await connect({ host: '127.0.0.1', port, config, serverName: 'localhost' });
      const stream = await conn.openStream();
      await stream.end('x');
      const echoed = await within(stream.readAll(), 5000, 'the echo');
      const info = await within(conn.close(), 5000, 'the close');
      if (echoed.toString() !== 'x' || !info.graceful || !info.local) failures++;
    };

    try {
      for (let i = 0; i < WARM_UP; i++) await cycle();
      await until(() => l.connections.size === 0, 10_000, 'the server to drain the warm-up connections');
      const rssBefore = await rss(gc);
      const started = performance.now();
      for (let i = 0; i < CYCLES; i++) await cycle();
      const seconds = (performance.now() - started) / 1000;
      // The server side of the last connections may still be draining.
      await until(
        () => l.connections.size === 0 && resourceCounts().connections === baseline.connections,
        10_000,
        'the server to drain',
      );
      const rssAfter = await rss(gc);
      const growthMiB = (rssAfter - rssBefore) / 2 ** 20;
      console.info(
        `lifecycle: ${CYCLES} cycles in ${seconds.toFixed(1)} s (${((seconds * 1000) / CYCLES).toFixed(1)} ms each), ` +
          `RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MiB (${growthMiB.toFixed(1)} MiB), gc ${gc ? 'forced' : 'not available'}`,
      );

      expect(failures).toBe(0);
      const now = resourceCounts();
      expect(now.connections).toBe(baseline.connections);
      expect(now.sockets).toBe(baseline.sockets);
      expect(now.configs).toBe(baseline.configs);
      // Handle leaks are caught exactly above; RSS catches leaked bytes. A leak of a
      // quiche connection (TLS state, recovery, buffers: tens of KiB) or of a socket's
      // send-buffer pool per cycle would add well over 32 KiB x 2000 = 64 MiB; a
      // steady process stays far below it (V8 and malloc keep some slack).
      expect(growthMiB).toBeLessThan(64);
    } finally {
      await l.close();
    }
  }, 600_000);
});

describe('listener close', () => {
  it('closes every connection gracefully and ends the for-await loop', async () => {
    const baseline = resourceCounts();
    const l = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    const accepted: Connection[] = [];
    const loop = (async () => {
      for await (const conn of l) {
        accepted.push(conn);
        void echoStreams(conn);
      }
    })();
    const clients: Connection[] = [];
    for (let i = 0; i < 3; i++) {
      const conn = await connect({
        host: '127.0.0.1',
        port: l.address().port,
        config: clientConfig(),
        serverName: 'localhost',
      });
      clients.push(conn);
      expect(await echo(conn, `client ${i}`)).toBe(`client ${i}`);
    }
    await until(() => accepted.length === 3, 5000, 'three accepted connections');

    await within(l.close(), 10_000, 'the listener to close');
    await within(loop, 5000, 'the for-await loop to end');
    expect(l.connections.size).toBe(0);
    expect(await l.accept()).toBeNull();
    expect(l.close()).toBe(l.close()); // idempotent
    for (const conn of clients) {
      const info = await within(conn.closed, 5000, 'a client to see the close');
      expect(info).toMatchObject({ errorCode: 0n, local: false, type: 'application', graceful: true });
    }
    for (const conn of accepted) expect(conn.isClosed).toBe(true);
    expect(resourceCounts().connections).toBe(baseline.connections);
    expect(resourceCounts().sockets).toBe(baseline.sockets);
  });
});

describe('sockets that cannot be had', () => {
  it('listening on a port already in use rejects with ERR_QUIC_SOCKET', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    let first: Listener | undefined;
    try {
      const sockets = resourceCounts().sockets;
      const port = taken.address().port;
      const err = await listen({ host: '127.0.0.1', port, config: serverConfig() }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(QuicError);
      expect(err).toMatchObject({ code: 'ERR_QUIC_SOCKET' });
      expect(resourceCounts().sockets).toBe(sockets);

      // Same for a port held by another quichex listener.
      first = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
      await expect(
        listen({ host: '127.0.0.1', port: first.address().port, config: serverConfig() }),
      ).rejects.toMatchObject({ code: 'ERR_QUIC_SOCKET' });
    } finally {
      taken.close();
      await first?.close();
    }
  });

  it('connecting to a port where nothing listens fails with ERR_QUIC_UNREACHABLE or a handshake timeout', async () => {
    const before = resourceCounts();
    const port = await freePort();
    const err = await within(
      connect({
        host: '127.0.0.1',
        port,
        config: clientConfig(),
        serverName: 'localhost',
        handshakeTimeout: 1000,
      }).then(
        (conn) => {
          conn.destroy();
          return null;
        },
        (e: unknown) => e,
      ),
      5000,
      'the connection attempt to fail',
    );
    expect(err).toBeInstanceOf(QuicError);
    const code = (err as QuicError).code;
    console.info(`lifecycle: connecting to a closed loopback port failed with ${code}`);
    expect(['ERR_QUIC_UNREACHABLE', 'ERR_QUIC_HANDSHAKE_TIMEOUT']).toContain(code);
    expect(resourceCounts().connections).toBe(before.connections);
    expect(resourceCounts().sockets).toBe(before.sockets);
  });
});
