/**
 * TLS through quiche: certificate and name verification, ALPN, turning
 * verification off, and certificates given as in-memory PEM.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Config, type Connection, connect, type Listener, listen, QuicError } from '../src/index.js';
import { clientConfig, echoServer, echoStreams, testCerts } from './support/fixtures.js';
import { echo, until, within } from './support/net.js';

let server: Listener;
const serverSides: Connection[] = [];

beforeAll(async () => {
  server = await echoServer();
  server.on('connection', (conn) => serverSides.push(conn));
});
afterAll(() => server.close());

function connectTo(config: Config, serverName = 'localhost', handshakeTimeout = 5000): Promise<Connection> {
  return connect({ host: '127.0.0.1', port: server.address().port, config, serverName, handshakeTimeout });
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return within(
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (err: unknown) => err,
    ),
    8000,
    'the connection attempt to fail',
  );
}

describe('certificate verification', () => {
  it('accepts the server certificate signed by the trusted CA', async () => {
    const conn = await connectTo(clientConfig());
    expect(conn.info().alpn).toBe('test');
    expect(await echo(conn, 'trusted')).toBe('trusted');
    await conn.close();
  });

  it('rejects a certificate from another CA with QUICHE_ERR_TLS_FAIL', async () => {
    const err = await rejection(connectTo(clientConfig({ caFile: testCerts().otherCaCert })));
    expect(err).toBeInstanceOf(QuicError);
    expect(err).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL' });
  });

  it('rejects a certificate that does not name the server with QUICHE_ERR_TLS_FAIL', async () => {
    const err = await rejection(connectTo(clientConfig(), 'wrong.example'));
    expect(err).toBeInstanceOf(QuicError);
    expect(err).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL' });
  });

  it('verifyPeer: false connects even with the wrong CA', async () => {
    const conn = await connectTo(clientConfig({ caFile: testCerts().otherCaCert, verifyPeer: false }));
    expect(await echo(conn, 'unverified')).toBe('unverified');
    await conn.close();
  });

  it('failed handshakes leave nothing behind on the server', async () => {
    await until(() => server.connections.size === 0, 10_000, 'the failed server connections to go away');
  });
});

describe('ALPN', () => {
  it('rejects a client that offers no protocol the server speaks with ERR_QUIC_ALPN_MISMATCH', async () => {
    const err = await rejection(connectTo(clientConfig({ alpn: ['other'] })));
    expect(err).toBeInstanceOf(QuicError);
    expect(err).toMatchObject({ code: 'ERR_QUIC_ALPN_MISMATCH', remote: true });
  });

  it('reports the mismatch, not a handshake timeout, when handshakeTimeout is shorter than the draining period', async () => {
    // The client learns of the mismatch from the server's CONNECTION_CLOSE at once; quiche then
    // drains for 3 PTO (about 3 s before any RTT sample). connect() must not wait for that.
    const err = await rejection(connectTo(clientConfig({ alpn: ['other'] }), 'localhost', 2000));
    expect(err).toMatchObject({ code: 'ERR_QUIC_ALPN_MISMATCH' });
  });

  it('picks the protocol both sides know', async () => {
    const conn = await connectTo(clientConfig({ alpn: ['other', 'test'] }));
    expect(conn.info().alpn).toBe('test');
    await conn.close();
  });
});

describe('in-memory PEM', () => {
  it('cert, key and ca given as PEM strings work, and no temp file remains', async () => {
    const files = testCerts();
    // A private temp dir, so that no other test process can create quichex-pem-* entries in it.
    const privateTmp = mkdtempSync(path.join(tmpdir(), 'quichex-tls-test-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    let serverConfig: Config | undefined;
    let clientCfg: Config | undefined;
    let clientBytesCfg: Config | undefined;
    let l: Listener | undefined;
    try {
      expect(tmpdir()).toBe(privateTmp);
      const pemDirs = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('quichex-pem-'));
      expect(pemDirs()).toEqual([]);
      serverConfig = new Config({
        alpn: ['test'],
        cert: readFileSync(files.cert, 'utf8'),
        key: readFileSync(files.key, 'utf8'),
      });
      clientCfg = new Config({ alpn: ['test'], ca: readFileSync(files.caCert, 'utf8') });
      clientBytesCfg = new Config({ alpn: ['test'], ca: new Uint8Array(readFileSync(files.caCert)) });
      expect(serverConfig.hasCertificate).toBe(true);
      // Invalid PEM is refused, naming the option; nothing is written anywhere.
      expect(() => new Config({ key: 'not a key' })).toThrow(TypeError);
      expect(
        () => new Config({ cert: '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n' }),
      ).toThrow(/cert is not a valid PEM certificate/);
      expect(pemDirs()).toEqual([]);
      expect(readdirSync(privateTmp)).toEqual([]);

      l = await listen({
        host: '127.0.0.1',
        port: 0,
        config: serverConfig,
        onConnection: (c) => echoStreams(c),
      });
      for (const cfg of [clientCfg, clientBytesCfg]) {
        const conn = await connect({
          host: '127.0.0.1',
          port: l.address().port,
          config: cfg,
          serverName: 'localhost',
        });
        expect(await echo(conn, 'pem')).toBe('pem');
        await conn.close();
      }
      // The wrong CA as PEM text still fails verification: the PEM really was loaded.
      const wrong = new Config({ alpn: ['test'], ca: readFileSync(files.otherCaCert, 'utf8') });
      try {
        const err = await rejection(
          connect({ host: '127.0.0.1', port: l.address().port, config: wrong, serverName: 'localhost' }),
        );
        expect(err).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL' });
      } finally {
        wrong.free();
      }
      expect(pemDirs()).toEqual([]);
    } finally {
      await l?.close();
      serverConfig?.free();
      clientCfg?.free();
      clientBytesCfg?.free();
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      rmSync(privateTmp, { recursive: true, force: true });
    }
  });
});
