/**
 * Closing connections: graceful close in both directions, idempotence, the
 * `closed` event and promise, what the API does after a close, destroy(),
 * async disposal, and the idle timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect, type Listener, listen, QuicError, resourceCounts } from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { echo, until, within } from './support/net.js';

let listener: Listener;

beforeAll(async () => {
  // No onConnection: each test takes the server side of its connection with accept().
  listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
});
afterAll(() => listener.close());

/** A client connection and the server's side of it. */
async function pair(l: Listener = listener): Promise<{ client: Connection; server: Connection }> {
  const client = await connect({
    host: '127.0.0.1',
    port: l.address().port,
    config: clientConfig(),
    serverName: 'localhost',
  });
  const server = await within(l.accept(), 5000, 'the server side of the connection');
  if (server === null) throw new Error('listener closed');
  return { client, server };
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('graceful close', () => {
  it('client close: the server sees the application code and reason from the peer', async () => {
    const { client, server } = await pair();
    const clientInfo = await within(client.close({ errorCode: 42, reason: 'done' }), 5000, 'client closed');
    const serverInfo = await within(server.closed, 5000, 'server closed');
    expect(serverInfo).toMatchObject({
      local: false,
      type: 'application',
      errorCode: 42n,
      reason: 'done',
      code: 'ERR_QUIC_APPLICATION_CLOSED',
      graceful: false,
    });
    expect(clientInfo).toMatchObject({
      local: true,
      type: 'application',
      errorCode: 42n,
      reason: 'done',
      code: 'ERR_QUIC_APPLICATION_CLOSED',
    });
    expect(client.isClosed).toBe(true);
    expect(server.isClosed).toBe(true);
    expect(client.closeInfo).toBe(clientInfo);
  });

  it('server close: the client sees the application code and reason from the peer', async () => {
    const { client, server } = await pair();
    const serverInfo = await within(
      server.close({ errorCode: 7n, reason: 'server says bye' }),
      5000,
      'server closed',
    );
    const clientInfo = await within(client.closed, 5000, 'client closed');
    expect(clientInfo).toMatchObject({
      local: false,
      type: 'application',
      errorCode: 7n,
      reason: 'server says bye',
      code: 'ERR_QUIC_APPLICATION_CLOSED',
    });
    expect(serverInfo).toMatchObject({
      local: true,
      type: 'application',
      errorCode: 7n,
      reason: 'server says bye',
    });
  });

  it('close() is idempotent: every call returns the same promise, and the close event fires once', async () => {
    const { client, server } = await pair();
    const events: unknown[] = [];
    client.on('close', (info) => events.push(info));
    const first = client.close({ errorCode: 0, reason: 'once' });
    const second = client.close({ errorCode: 9, reason: 'twice' });
    expect(second).toBe(first);
    expect(first).toBe(client.closed);
    const info = await within(first, 5000, 'client closed');
    expect(client.close()).toBe(first);
    client.destroy(); // a no-op once closed
    await within(server.closed, 5000, 'server closed');
    await ticks(5);
    expect(events).toEqual([info]);
    // The first close wins.
    expect(info).toMatchObject({ errorCode: 0n, reason: 'once', graceful: true });
    expect(client.closeInfo).toBe(info);
  });

  it('after close, openStream rejects with a QuicError and stats() throws one', async () => {
    const { client, server } = await pair();
    await within(client.close(), 5000, 'client closed');
    await expect(client.openStream()).rejects.toBeInstanceOf(QuicError);
    await expect(client.openUniStream()).rejects.toBeInstanceOf(QuicError);
    expect(() => client.stats()).toThrow(QuicError);
    await within(server.closed, 5000, 'server closed');
    await expect(server.openStream()).rejects.toBeInstanceOf(QuicError);
  });

  it('streams() ends normally after a graceful (code 0) close', async () => {
    const { client, server } = await pair();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const stream of server.streams()) {
        seen.push(stream.id);
        await stream.end(await stream.readAll());
      }
    })();
    expect(await echo(client, 'one')).toBe('one');
    await within(client.close({ errorCode: 0 }), 5000, 'client closed');
    await within(loop, 5000, 'the streams() loop to end');
    expect(seen).toEqual([0]);
    expect((await server.closed).graceful).toBe(true);
    // The client's own iterator ends too.
    const clientLoop = (async () => {
      for await (const _ of client.streams()) throw new Error('no stream expected');
    })();
    await within(clientLoop, 5000, "the client's streams() loop to end");
    expect(await server.acceptStream()).toBeNull();
  });

  it('streams() ends quietly after a non-zero close; the reason is in closed', async () => {
    const { client, server } = await pair();
    const loop = (async () => {
      for await (const stream of server.streams()) await stream.end(await stream.readAll());
      return 'ended';
    })();
    expect(await echo(client, 'two')).toBe('two');
    await within(client.close({ errorCode: 3, reason: 'bad' }), 5000, 'client closed');
    // No rejection to handle: iteration simply ends.
    expect(await within(loop, 5000, 'the streams() loop to end')).toBe('ended');
    expect(await server.closed).toMatchObject({
      code: 'ERR_QUIC_APPLICATION_CLOSED',
      errorCode: 3n,
      type: 'application',
      local: false,
      reason: 'bad',
    });
    expect(await server.acceptStream()).toBeNull();
    expect(await client.acceptStream()).toBeNull();
    expect(await client.closed).toMatchObject({
      code: 'ERR_QUIC_APPLICATION_CLOSED',
      errorCode: 3n,
      local: true,
    });
  });

  it('destroy() closes at once, and frees the connection and its socket once its CONNECTION_CLOSE is out', async () => {
    const { client, server } = await pair();
    void echoStreams(server);
    // One round trip first: the client then has the server's HANDSHAKE_DONE. (Before that,
    // quiche sends a transport close in a Handshake packet only, which a server that has
    // already dropped its Handshake keys cannot read.)
    expect(await echo(client, 'confirm')).toBe('confirm');
    const before = resourceCounts();
    const stream = await client.openStream();
    const pendingRead = stream.read();
    client.destroy();
    // Synchronously: closed for its users.
    expect(client.isClosed).toBe(true);
    expect(client.closeInfo).toMatchObject({ code: 'ERR_QUIC_DESTROYED', local: true });
    expect(() => client.stats()).toThrow(QuicError);
    await expect(pendingRead).rejects.toBeInstanceOf(QuicError);
    expect((await client.closed).code).toBe('ERR_QUIC_DESTROYED');
    // The CONNECTION_CLOSE reaches the server, which closes as well.
    const serverInfo = await within(server.closed, 5000, 'server closed');
    expect(serverInfo.local).toBe(false);
    expect(serverInfo.errorCode).toBe(0n);
    // The native connection and its socket are given back within the linger bound (1 s).
    await until(
      () =>
        resourceCounts().connections <= before.connections - 2 &&
        resourceCounts().sockets === before.sockets - 1,
      1500,
      'the client connection and socket freed',
    );
  });

  it('destroy() in the middle of an upload still tells the server (the congestion window is full)', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const { client, server } = await pair();
      {
        void echoStreams(server);
        const stream = await client.openStream();
        void stream.write(Buffer.alloc(4 << 20)).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 5 + 5 * trial));
        client.destroy();
        // Without the linger, quiche kept the CONNECTION_CLOSE behind the full window and
        // the server waited for its idle timeout (30 s).
        const info = await within(server.closed, 2000, `trial ${trial}: the server to see the close`);
        expect(info.local).toBe(false);
      }
    }
  });

  it('Symbol.asyncDispose closes the connection (await using)', async () => {
    let server: Connection | undefined;
    let client: Connection | undefined;
    {
      const p = await pair();
      await using conn = p.client;
      client = conn;
      server = p.server;
      void echoStreams(server);
      expect(await echo(conn, 'disposable')).toBe('disposable');
    }
    expect(client.isClosed).toBe(true);
    expect(client.closeInfo).toMatchObject({ local: true, errorCode: 0n, graceful: true });
    expect(await within(server.closed, 5000, 'server closed')).toMatchObject({ local: false, errorCode: 0n });
  });

  it('a listener can be disposed the same way, closing its connections', async () => {
    let client: Connection | undefined;
    let l: Listener | undefined;
    {
      await using disposable = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
      l = disposable;
      client = (await pair(disposable)).client;
    }
    expect(l.closing).toBe(true);
    expect(l.connections.size).toBe(0);
    expect(await within(client.closed, 5000, 'client closed')).toMatchObject({ local: false, errorCode: 0n });
  });
});

describe('idle timeout', () => {
  it('both sides close with ERR_QUIC_IDLE_TIMEOUT when nothing is sent', async () => {
    const l = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig({ maxIdleTimeout: 300 }),
      onConnection: (conn) => echoStreams(conn),
    });
    try {
      const serverSide = new Promise<Connection>((resolve) => l.once('connection', resolve));
      const client = await connect({
        host: '127.0.0.1',
        port: l.address().port,
        config: clientConfig({ maxIdleTimeout: 300 }),
        serverName: 'localhost',
      });
      const server = await within(serverSide, 5000, 'the server connection');
      const [clientInfo, serverInfo] = await within(
        Promise.all([client.closed, server.closed]),
        10_000,
        'both sides to time out',
      );
      for (const info of [clientInfo, serverInfo]) {
        expect(info).toMatchObject({ code: 'ERR_QUIC_IDLE_TIMEOUT', local: true, graceful: false });
      }
      await expect(client.openStream()).rejects.toMatchObject({ code: 'ERR_QUIC_IDLE_TIMEOUT' });
      expect(l.connections.size).toBe(0);
    } finally {
      await l.close();
    }
  });
});
