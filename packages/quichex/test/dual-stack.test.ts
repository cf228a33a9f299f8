/**
 * connect() to a name with IPv6 and IPv4 addresses: every address is tried,
 * alternating families, so a server on only one of them is reached either way.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { connect, listen, QuicError, resourceCounts } from '../src/index.js';
import { useCleanups } from './support/cleanups.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { echo } from './support/net.js';

/** A resolver for a name with both families, in the order given. */
const both =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const cleanups = useCleanups();

async function serverOn(host: string) {
  const listener = await listen({ host, port: 0, config: serverConfig(), onConnection: echoStreams });
  cleanups.push(() => listener.close({ timeoutMs: 1000 }));
  return listener.address().port;
}

describe('dual-stack connect', () => {
  for (const [only, order] of [
    ['127.0.0.1', ['::1', '127.0.0.1']],
    ['::1', ['::1', '127.0.0.1']],
    ['127.0.0.1', ['127.0.0.1', '::1']],
    ['::1', ['127.0.0.1', '::1']],
  ] as const) {
    it(`reaches a server on ${only} only, the name resolving to ${order.join(', ')}`, async () => {
      const before = resourceCounts();
      const port = await serverOn(only);
      const conn = await connect({
        host: 'localhost',
        port,
        config: clientConfig(),
        lookup: both(...order),
      });
      expect(conn.remoteAddress.address).toBe(only);
      expect(await echo(conn, 'over either family')).toBe('over either family');
      await conn.close();
      // The losing attempt left nothing behind.
      expect(resourceCounts().sockets).toBe(before.sockets + 1); // the listener's
    });
  }

  it('an address that never answers is passed over after attemptDelay', async () => {
    const port = await serverOn('::1');
    // The same port on 127.0.0.1 swallows every packet: that attempt would wait out its handshake timeout.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(port, '127.0.0.1', resolve));
    cleanups.push(() => silent.close());
    let swallowed = 0;
    silent.on('message', () => swallowed++);
    const started = performance.now();
    const conn = await connect({
      host: 'localhost',
      port,
      config: clientConfig(),
      lookup: both('127.0.0.1', '::1'),
      attemptDelay: 100,
    });
    const took = performance.now() - started;
    expect(conn.remoteAddress.address).toBe('::1');
    expect(swallowed).toBeGreaterThan(0); // the first attempt did start
    expect(took).toBeLessThan(3000); // far below the 10 s handshake timeout it would have waited
    await conn.close();
  });

  it('fails with the most telling error when no address works', async () => {
    const err = await connect({
      host: 'localhost',
      port: 9,
      config: clientConfig(),
      lookup: both('::1', '127.0.0.1'),
      handshakeTimeout: 2000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuicError);
    expect((err as QuicError).code).toBe('ERR_QUIC_UNREACHABLE');
  });

  it('names bad options', async () => {
    await expect(
      connect({ host: 'localhost', port: 1, config: clientConfig(), attemptDelay: 1 }),
    ).rejects.toThrow(/attemptDelay/);
    await expect(
      connect({ host: 'localhost', port: 1, config: clientConfig(), lookup: 'x' as never }),
    ).rejects.toThrow(/lookup/);
  });
});
