import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { clientConfig, echoServer } from './support/fixtures.js';

describe('echo over loopback', () => {
  it('handshakes over IPv4 and echoes a bidi stream', async () => {
    const server = await echoServer();
    afterAll(() => server.close());
    const conn = await connect({
      host: '127.0.0.1',
      port: server.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    expect(conn.established).toBe(true);
    const info = conn.info();
    expect(info.alpn).toBe('test');
    expect(info.isServer).toBe(false);
    const stream = await conn.openStream();
    await stream.end('hello quic');
    const echoed = await stream.readAll();
    expect(echoed.toString()).toBe('hello quic');
    const closed = await conn.close({ errorCode: 0, reason: 'bye' });
    expect(closed.local).toBe(true);
    expect(closed.graceful).toBe(true);
  });
});
