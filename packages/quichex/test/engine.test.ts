/**
 * The engine's contracts that the refactor into core, driver and facade
 * pinned: queues that never keep closed connections, cleanup that no
 * listener can stop, a GSO fallback that drops nothing, the one way to the
 * socket descriptor, keep-alive, and one endpoint that accepts and dials.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createGsoSender } from '@quichex/ffi';
import { describe, expect, it } from 'vitest';
import { socketFd } from '../src/driver/socket-fd.js';
import { transmit } from '../src/driver/transmit.js';
import { UdpSocket } from '../src/driver/udp-socket.js';
import { type Connection, connect, createEndpoint, listen, resourceCounts } from '../src/index.js';
import { useCleanups } from './support/cleanups.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { echo, until, within } from './support/net.js';

const cleanups = useCleanups();

describe('accept queue', () => {
  it('never hands out a connection that closed before anyone accepted it', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    const port = listener.address().port;
    for (let i = 0; i < 5; i++) {
      const c = await connect({ host: '127.0.0.1', port, config: clientConfig(), serverName: 'localhost' });
      await c.close();
    }
    await until(() => listener.connections.size === 0, 5000, 'the server connections to close');
    const next = await listener.accept({ signal: AbortSignal.timeout(300) }).catch((err: Error) => err.name);
    expect(next).toBe('TimeoutError');
  });

  it("queues nothing while only 'connection' listeners take connections", async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    const seen: Connection[] = [];
    listener.on('connection', (conn) => seen.push(conn));
    const c = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    cleanups.push(() => c.destroy());
    await until(() => seen.length === 1, 5000, 'the connection event');
    // Asking now finds an empty queue: the connection went to the listener only.
    const next = await listener.accept({ signal: AbortSignal.timeout(200) }).catch((err: Error) => err.name);
    expect(next).toBe('TimeoutError');
  });
});

describe('cleanup', () => {
  it('runs to the end even when close listeners of the connection and its streams throw', async () => {
    const before = resourceCounts();
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig(),
      onConnection: (conn) => {
        conn.on('close', () => {
          throw new Error('server close listener');
        });
        return echoStreams(conn);
      },
    });
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    const stream = await client.openStream();
    await stream.write('held open');
    stream.on('close', () => {
      throw new Error('stream close listener');
    });
    client.on('close', () => {
      throw new Error('client close listener');
    });
    client.destroy();
    expect((await within(client.closed, 2000, 'client closed')).code).toBe('ERR_QUIC_DESTROYED');
    expect(stream.readable || stream.writable).toBe(false);
    await listener.close({ timeoutMs: 2000 });
    expect(listener.connections.size).toBe(0);
    // A destroyed connection's native state lingers (at most 1 s) until its CONNECTION_CLOSE is out.
    await until(() => resourceCounts().connections === before.connections, 1500, 'native connections freed');
    expect(resourceCounts()).toMatchObject({ connections: before.connections, sockets: before.sockets });
  });

  it("a rejecting async 'connection' listener closes that connection alone", async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    let n = 0;
    listener.on('connection', async (conn) => {
      if (n++ === 0) throw new Error('handler bug');
      await echoStreams(conn);
    });
    const port = listener.address().port;
    const opts = { host: '127.0.0.1', port, config: clientConfig(), serverName: 'localhost' };
    const bad = await connect(opts);
    const info = await within(bad.closed, 5000, 'the failed connection to close');
    expect(info).toMatchObject({ type: 'application', errorCode: 1n, local: false });
    const good = await connect(opts);
    cleanups.push(() => good.close());
    expect(await echo(good, 'still serving')).toBe('still serving');
  });
});

describe('GSO fallback', () => {
  it('sends every datagram when GSO turns itself off in the middle of a flush', async () => {
    const sender = createGsoSender();
    if (sender === null) throw new Error('this suite runs on Linux, where GSO exists');
    // Room for the whole burst: a drop here would not be the sender's.
    const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    const tx = dgram.createSocket('udp4');
    tx.bind(0, '127.0.0.1');
    await once(tx, 'listening');
    const socket = new UdpSocket(tx, 1350, false, true);
    cleanups.push(() => {
      socket.close();
      rx.close();
    });
    // A descriptor the kernel rejects (EBADF): the first batch fails and GSO turns off.
    socket.gso = { sender, fd: 1_000_000 };
    const total = 100; // more than one GSO run of 64
    let received = 0;
    rx.on('message', () => received++);
    let produced = 0;
    const peer = { family: 'IPv4', address: '127.0.0.1', port: rx.address().port } as const;
    const source = {
      send(out: Uint8Array, max: number): number {
        if (produced === total) return 0;
        out.fill(produced++ & 0xff, 0, Math.min(1200, max));
        return 1200;
      },
      sentTo: () => true,
      sentAt: () => 0,
      sentFrom: () => true,
      sentToAddress: () => peer,
    };
    transmit(source, {
      socket,
      sockets: [socket],
      peer,
      peerSockaddr: { buf: new Uint8Array(16), len: 16 },
      held: null,
    });
    expect(socket.gso).toBeNull();
    await until(() => received >= total, 2000, `${total} datagrams`).catch(() => undefined);
    expect(received).toBe(total);
  });
});

describe('socket descriptor', () => {
  it('is found on a bound dgram socket, and a socket without one falls back to plain sends', async () => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    const fd = socketFd(s);
    expect(typeof fd).toBe('number');
    expect(fd).toBeGreaterThan(2);
    s.close();
    // What a future Node without the internal state would look like.
    const stripped = Object.create(dgram.Socket.prototype) as dgram.Socket;
    expect(socketFd(stripped)).toBeNull();
  });
});

describe('keep-alive', () => {
  const short = { maxIdleTimeout: 1000 };

  it('holds a quiet connection with a 1 s idle timeout open for 5 s', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig(short) });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    listener.on('connection', (conn) => void echoStreams(conn));
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(short),
      serverName: 'localhost',
      keepAlive: true,
    });
    cleanups.push(() => client.destroy());
    await new Promise((r) => setTimeout(r, 5000));
    expect(client.isClosed).toBe(false);
    expect(await echo(client, 'still here')).toBe('still here');
  }, 15_000);

  it('without it, the same connection idles out', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig(short) });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(short),
      serverName: 'localhost',
    });
    const info = await within(client.closed, 5000, 'the idle timeout');
    expect(info.code).toBe('ERR_QUIC_IDLE_TIMEOUT');
  });

  it('rejects a bad keepAlive value by name', async () => {
    await expect(
      connect({ host: '127.0.0.1', port: 1, config: clientConfig(), keepAlive: -5 }),
    ).rejects.toThrow(/keepAlive/);
    await expect(
      connect({ host: '127.0.0.1', port: 1, config: clientConfig(), keepAlive: 'yes' as never }),
    ).rejects.toThrow(TypeError);
  });
});

describe('Endpoint', () => {
  it('accepts and dials on one socket: two peers reach each other from their listening ports', async () => {
    const before = resourceCounts();
    const a = await createEndpoint({ host: '127.0.0.1', port: 0 });
    const b = await createEndpoint({ host: '127.0.0.1', port: 0 });
    a.listen({ config: serverConfig(), onConnection: (conn) => echoStreams(conn) });
    b.listen({ config: serverConfig(), onConnection: (conn) => echoStreams(conn) });
    const ab = await a.connect({
      host: '127.0.0.1',
      port: b.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    const ba = await b.connect({
      host: '127.0.0.1',
      port: a.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    // Each dialled from the port it listens on.
    expect(ab.localAddress.port).toBe(a.address().port);
    expect(ba.localAddress.port).toBe(b.address().port);
    expect(await echo(ab, 'a to b')).toBe('a to b');
    expect(await echo(ba, 'b to a')).toBe('b to a');
    expect(resourceCounts().sockets - before.sockets).toBe(2);
    await Promise.all([a.close(), b.close()]);
    expect(ab.isClosed && ba.isClosed).toBe(true);
    await until(() => resourceCounts().connections === before.connections, 5000, 'every connection freed');
    expect(resourceCounts()).toMatchObject({ connections: before.connections, sockets: before.sockets });
  });

  it("closing a listen() listener's endpoint closes the listener too, without waiting on itself", async () => {
    const before = resourceCounts();
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    listener.on('connection', (conn) => echoStreams(conn));
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    expect(await echo(client, 'hi')).toBe('hi');
    await within(listener.endpoint.close(), 5000, 'the endpoint to close');
    expect(listener.closing).toBe(true);
    await within(client.closed, 5000, 'the client to see the close');
    expect(resourceCounts()).toMatchObject({ connections: before.connections, sockets: before.sockets });
  });

  it('refuses a second listener and dials after close', async () => {
    const e = await createEndpoint({ host: '127.0.0.1' });
    e.listen({ config: serverConfig() });
    expect(() => e.listen({ config: serverConfig() })).toThrow(/already has a listener/);
    await e.close();
    await expect(e.connect({ host: '127.0.0.1', port: 9, config: clientConfig() })).rejects.toMatchObject({
      code: 'ERR_QUIC_DESTROYED',
    });
  });
});
