/**
 * Every wait takes an AbortSignal and rejects with exactly `signal.reason`;
 * the connection (or listener) keeps working afterwards.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { connect, listen, resourceCounts } from '../src/index.js';
import { clientConfig, serverConfig } from './support/fixtures.js';
import { delay, pair, pseudoRandomBytes, readExactly } from './support/pair.js';

class MyReason extends Error {}

/** Resolves once `promise` has settled or `ms` passed; returns whether it settled. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await delay(ms);
  return settled;
}

describe('AbortSignal', () => {
  it('aborts connect() before it starts and right after it was called', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    const before = resourceCounts();
    try {
      const port = listener.address().port;
      const early = new AbortController();
      const earlyReason = new MyReason('early');
      early.abort(earlyReason);
      await expect(
        connect({
          host: '127.0.0.1',
          port,
          config: clientConfig(),
          serverName: 'localhost',
          signal: early.signal,
        }),
      ).rejects.toBe(earlyReason);

      const late = new AbortController();
      const lateReason = new MyReason('late');
      const attempt = connect({
        host: '127.0.0.1',
        port,
        config: clientConfig(),
        serverName: 'localhost',
        signal: late.signal,
      });
      late.abort(lateReason);
      await expect(attempt).rejects.toBe(lateReason);
      expect(resourceCounts().sockets).toBe(before.sockets);

      // The listener is unaffected: a fresh connection succeeds.
      const conn = await connect({
        host: '127.0.0.1',
        port,
        config: clientConfig(),
        serverName: 'localhost',
      });
      try {
        expect(conn.established).toBe(true);
      } finally {
        await conn.close();
      }
    } finally {
      await listener.close();
    }
  });

  it('aborts connect() during a handshake with a server that never answers', async () => {
    const blackhole = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blackhole.bind(0, '127.0.0.1', resolve));
    const before = resourceCounts();
    try {
      const controller = new AbortController();
      const reason = new MyReason('gave up');
      const attempt = connect({
        host: '127.0.0.1',
        port: blackhole.address().port,
        config: clientConfig(),
        serverName: 'localhost',
        handshakeTimeout: 60_000,
        signal: controller.signal,
      });
      // The Initial reached the "server": the handshake is under way.
      await once(blackhole, 'message', { signal: AbortSignal.timeout(5000) });
      controller.abort(reason);
      await expect(attempt).rejects.toBe(reason);
      // Nothing is left behind.
      const after = resourceCounts();
      expect(after.connections).toBe(before.connections);
      expect(after.sockets).toBe(before.sockets);
    } finally {
      blackhole.close();
    }
  });

  it('aborts listener.accept() and keeps accepting', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    try {
      const controller = new AbortController();
      const reason = new MyReason('stop waiting');
      const waiting = listener.accept({ signal: controller.signal });
      controller.abort(reason);
      await expect(waiting).rejects.toBe(reason);

      const accepted = listener.accept();
      const conn = await connect({
        host: '127.0.0.1',
        port: listener.address().port,
        config: clientConfig(),
        serverName: 'localhost',
      });
      try {
        const server = await accepted;
        expect(server?.established).toBe(true);
      } finally {
        await conn.close();
      }
    } finally {
      await listener.close();
    }
  });

  it('aborts openStream() waiting for stream credit, and the connection keeps working', async () => {
    const p = await pair({ server: { initialMaxStreamsBidi: 0 } });
    try {
      const controller = new AbortController();
      const reason = new MyReason('no credit');
      const opening = p.client.openStream({ signal: controller.signal });
      expect(await settlesWithin(opening, 50)).toBe(false);
      controller.abort(reason);
      await expect(opening).rejects.toBe(reason);
      // No stream id was spent: the limit still applies, uni streams still work.
      await expect(p.client.openStream({ wait: false })).rejects.toMatchObject({
        code: 'ERR_QUIC_STREAM_LIMIT',
      });
      const uni = await p.client.openUniStream();
      await uni.end('after abort');
      const s = await p.server.acceptStream({ signal: AbortSignal.timeout(5000) });
      expect((await s?.readAll())?.toString()).toBe('after abort');
      // An already aborted signal rejects at once.
      await expect(p.client.openStream({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    } finally {
      await p.close();
    }
  });

  it('aborts a write blocked on flow control, and a write queued behind it', async () => {
    const p = await pair({ server: { initialMaxStreamDataBidiRemote: 1024 } });
    try {
      const stream = await p.client.openStream();
      const data = pseudoRandomBytes(9, 100_000);
      const controller = new AbortController();
      const reason = new MyReason('write took too long');
      const writing = stream.write(data, { signal: controller.signal });
      // The server reads nothing: the 1 KiB window fills and the write waits.
      expect(await settlesWithin(writing, 100)).toBe(false);

      // A second write queues behind the first; its own abort must not wait for it.
      const queuedController = new AbortController();
      const queuedReason = new MyReason('queued too long');
      const queued = stream.write('more', { signal: queuedController.signal });
      queuedController.abort(queuedReason);
      await expect(queued).rejects.toBe(queuedReason);
      expect(await settlesWithin(writing, 10)).toBe(false);

      controller.abort(reason);
      await expect(writing).rejects.toBe(reason);

      // The stream and the connection still work: what quiche took arrives in order.
      const ss = await p.server.acceptStream({ signal: AbortSignal.timeout(5000) });
      if (ss === null) throw new Error('no stream');
      const [received] = await Promise.all([
        ss.readAll({ signal: AbortSignal.timeout(10_000) }),
        stream.end(),
      ]);
      expect(received.length).toBeGreaterThan(0);
      expect(received.length).toBeLessThan(data.length);
      expect(Buffer.compare(received, data.subarray(0, received.length))).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('aborts a read waiting for data, and a later read gets the data', async () => {
    const p = await pair();
    try {
      const stream = await p.client.openStream();
      await stream.write('hello');
      const ss = await p.server.acceptStream({ signal: AbortSignal.timeout(5000) });
      if (ss === null) throw new Error('no stream');
      expect((await readExactly(ss, 5)).toString()).toBe('hello');

      const controller = new AbortController();
      const reason = new MyReason('read took too long');
      const reading = ss.read({ signal: controller.signal });
      expect(await settlesWithin(reading, 50)).toBe(false);
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
      // Iteration-style waits (acceptStream, receiveDatagram) abort the same way.
      await expect(p.server.acceptStream({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);

      await stream.end('world');
      expect((await ss.readAll({ signal: AbortSignal.timeout(5000) })).toString()).toBe('world');
    } finally {
      await p.close();
    }
  });
});
