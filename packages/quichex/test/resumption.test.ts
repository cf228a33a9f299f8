import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, connect, type Listener } from '../src/index.js';
import { clientConfig, echoServer, serverConfig } from './support/fixtures.js';

const open: Array<Connection | Listener> = [];
afterEach(async () => {
  for (const x of open.splice(0)) {
    if ('accept' in x) await x.close({ timeoutMs: 1000 });
    else x.destroy();
  }
});

async function firstConnection(
  listener: Listener,
  config: ReturnType<typeof clientConfig>,
): Promise<Uint8Array> {
  const conn = await connect({
    host: '127.0.0.1',
    port: listener.address().port,
    config,
    serverName: 'localhost',
  });
  open.push(conn);
  const ticket = new Promise<Uint8Array>((resolve) => conn.once('session', resolve));
  const s = await conn.openStream();
  await s.end('one');
  expect((await s.readAll()).toString()).toBe('one');
  const session = await ticket;
  expect(session.length).toBeGreaterThan(0);
  expect(conn.session()).toEqual(session);
  expect(conn.info().resumed).toBe(false);
  await conn.close();
  return session;
}

describe('session resumption and 0-RTT', () => {
  it('resumes a session from an earlier connection', async () => {
    const listener = await echoServer();
    open.push(listener);
    const config = clientConfig();
    const session = await firstConnection(listener, config);
    const again = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config,
      serverName: 'localhost',
      session,
    });
    open.push(again);
    expect(again.info().resumed).toBe(true);
    expect(again.info().earlyData).toBe('none');
    const s = await again.openStream();
    await s.end('two');
    expect((await s.readAll()).toString()).toBe('two');
    await again.close();
  });

  it('sends a request as 0-RTT early data that the server accepts', async () => {
    const listener = await echoServer({ config: serverConfig({ earlyData: true }) });
    open.push(listener);
    const config = clientConfig({ earlyData: true });
    const session = await firstConnection(listener, config);
    const conn = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config,
      serverName: 'localhost',
      session,
      earlyData: true,
    });
    open.push(conn);
    // connect() resolved before the handshake completed: this write is 0-RTT.
    expect(conn.established).toBe(false);
    expect(conn.info().inEarlyData).toBe(true);
    const s = await conn.openStream();
    await s.end('early');
    expect((await s.readAll()).toString()).toBe('early');
    expect(conn.established).toBe(true);
    expect(conn.info().resumed).toBe(true);
    expect(conn.info().earlyData).toBe('accepted');
    await conn.close();
  });

  it('reports 0-RTT as rejected by a server without early data, and still delivers the data', async () => {
    // One server config issues the ticket (with early data), another one, without
    // early data but sharing nothing else, answers the resumption attempt.
    const ticketing = await echoServer({ config: serverConfig({ earlyData: true }) });
    open.push(ticketing);
    const config = clientConfig({ earlyData: true });
    const session = await firstConnection(ticketing, config);
    const strict = await echoServer({ config: serverConfig() });
    open.push(strict);
    const conn = await connect({
      host: '127.0.0.1',
      port: strict.address().port,
      config,
      serverName: 'localhost',
      session,
      earlyData: true,
    });
    open.push(conn);
    const s = await conn.openStream();
    await s.end('resent after the handshake');
    expect((await s.readAll()).toString()).toBe('resent after the handshake');
    expect(conn.info().resumed).toBe(false);
    expect(conn.info().earlyData).toBe('rejected');
    await conn.close();
  });

  it('rejects a session that is not a Uint8Array, and falls back to a full handshake for garbage', async () => {
    const listener = await echoServer();
    open.push(listener);
    const port = listener.address().port;
    await expect(
      connect({ host: '127.0.0.1', port, config: clientConfig(), session: 'x' as unknown as Uint8Array }),
    ).rejects.toThrow(TypeError);
    const conn = await connect({
      host: '127.0.0.1',
      port,
      config: clientConfig(),
      serverName: 'localhost',
      session: new Uint8Array([1, 2, 3, 4]),
    });
    open.push(conn);
    expect(conn.info().resumed).toBe(false);
    await conn.close();
  });
});
