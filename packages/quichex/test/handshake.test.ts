/**
 * Handshake over IPv4 and IPv6 loopback: what info(), stats() and
 * pathStats() report on both sides once the connection carried traffic.
 */
import { describe, expect, it } from 'vitest';
import { type Connection, connect, type Listener, listen } from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';

async function handshake(
  host: string,
): Promise<{ listener: Listener; client: Connection; server: Connection }> {
  const listener = await listen({
    host,
    port: 0,
    config: serverConfig({ initialMaxStreamsBidi: 37, initialMaxStreamsUni: 5, initialMaxData: 3_000_000 }),
  });
  try {
    const accepted = listener.accept();
    const client = await connect({
      host,
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    const server = await accepted;
    if (server === null) throw new Error('listener closed before accepting');
    return { listener, client, server };
  } catch (err) {
    await listener.close();
    throw err;
  }
}

describe('handshake', () => {
  for (const [family, host] of [
    ['IPv4', '127.0.0.1'],
    ['IPv6', '::1'],
  ] as const) {
    it(`completes over ${family} (${host}) and reports info on both sides`, async () => {
      const { listener, client, server } = await handshake(host);
      try {
        expect(client.established).toBe(true);
        expect(server.established).toBe(true);

        const ci = client.info();
        const si = server.info();
        expect(ci.alpn).toBe('test');
        expect(si.alpn).toBe('test');
        expect(ci.isServer).toBe(false);
        expect(si.isServer).toBe(true);
        expect(ci.established).toBe(true);
        expect(si.established).toBe(true);
        expect(ci.serverName).toBe('localhost');
        expect(si.serverName).toBe('localhost');
        expect(ci.resumed).toBe(false);
        expect(ci.traceId.length).toBeGreaterThan(0);

        // Ports line up with the sockets on both ends.
        const listenPort = listener.address().port;
        expect(ci.remotePort).toBe(listenPort);
        expect(ci.remoteAddress).toBe(host);
        expect(si.localPort).toBe(listenPort);
        expect(si.localAddress).toBe(host);
        expect(si.remotePort).toBe(ci.localPort);
        expect(si.remoteAddress).toBe(host);
        expect(ci.localPort).toBe(client.localAddress.port);
        expect(ci.localPort).toBeGreaterThan(0);
        expect(client.localAddress.family).toBe(family);
        expect(server.remoteAddress.port).toBe(ci.localPort);

        // The client sees the server's transport parameters, and vice versa.
        const p = ci.peerTransportParams;
        expect(p).not.toBeNull();
        expect(Number(p?.peerInitialMaxStreamsBidi)).toBe(37);
        expect(Number(p?.peerInitialMaxStreamsUni)).toBe(5);
        expect(Number(p?.peerInitialMaxData)).toBe(3_000_000);
        expect(Number(p?.peerMaxIdleTimeout)).toBe(30_000);
        expect(Number(p?.peerInitialMaxStreamDataBidiLocal)).toBe(1024 * 1024);
        expect(p?.peerMaxDatagramFrameSize).toBeNull();
        const sp = si.peerTransportParams;
        expect(Number(sp?.peerInitialMaxStreamsBidi)).toBe(100);

        // Traffic, then statistics.
        const serving = echoStreams(server);
        const stream = await client.openStream();
        const payload = Buffer.alloc(20_000, 0x5a);
        await stream.end(payload);
        expect(Buffer.compare(await stream.readAll(), payload)).toBe(0);

        for (const conn of [client, server]) {
          const st = conn.stats();
          expect(st.sent).toBeGreaterThan(0);
          expect(st.recv).toBeGreaterThan(0);
          expect(Number(st.sentBytes)).toBeGreaterThan(20_000);
          expect(Number(st.recvBytes)).toBeGreaterThan(20_000);
          expect(st.pathsCount).toBeGreaterThanOrEqual(1);
          const paths = conn.pathStats();
          expect(paths.length).toBeGreaterThanOrEqual(1);
          const path = paths[0]!;
          expect(path.active).toBe(true);
          expect(path.sent).toBeGreaterThan(0);
          expect(path.recv).toBeGreaterThan(0);
          expect(Number(path.rtt)).toBeGreaterThan(0);
          expect(Number(path.minRtt)).toBeGreaterThan(0);
          expect(path.cwnd).toBeGreaterThan(0);
          expect(path.pmtu).toBeGreaterThanOrEqual(1200);
          expect(path.peerAddr?.port).toBe(conn === client ? listenPort : ci.localPort);
        }
        expect(client.stats().sent).toBeGreaterThanOrEqual(client.pathStats()[0]!.sent);

        const closed = await client.close({ errorCode: 0, reason: 'done' });
        expect(closed.graceful).toBe(true);
        const serverClosed = await server.closed;
        expect(serverClosed.local).toBe(false);
        expect(serverClosed.reason).toBe('done');
        await serving;
      } finally {
        client.destroy();
        await listener.close();
      }
    });
  }
});
