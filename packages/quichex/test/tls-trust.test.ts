/**
 * TLS as node:tls users expect it, over real handshakes on loopback:
 * verification codes, rejectUnauthorized, intermediates, pinning with
 * checkServerIdentity, the peer's certificates, mutual TLS both ways, SNI,
 * encrypted keys, and the default trust store.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type TlsFixtures, tlsFixtures } from '../../../test/support/tls-fixtures.js';
import {
  Config,
  type ConfigOptions,
  type Connection,
  connect,
  type Listener,
  listen,
  QuicError,
} from '../src/index.js';
import { echoStreams } from './support/fixtures.js';
import { echo, until, within } from './support/net.js';

const fx: TlsFixtures = tlsFixtures();
const listeners: Listener[] = [];
afterAll(async () => {
  await Promise.all(listeners.map((l) => l.close()));
});

/** A listener whose established connections are recorded (and echoed). */
async function serve(options: ConfigOptions): Promise<{ port: number; accepted: Connection[] }> {
  const accepted: Connection[] = [];
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config: new Config({ alpn: ['test'], ...options }),
    onConnection: (conn) => {
      accepted.push(conn);
      return echoStreams(conn);
    },
  });
  listeners.push(listener);
  return { port: listener.address().port, accepted };
}

function dial(port: number, options: ConfigOptions, serverName = 'localhost'): Promise<Connection> {
  return connect({
    host: '127.0.0.1',
    port,
    serverName,
    handshakeTimeout: 5000,
    config: new Config({ alpn: ['test'], ...options }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<QuicError> {
  const err = await within(
    promise.then(
      (conn) => {
        void (conn as Connection).close();
        throw new Error('expected the connection to fail');
      },
      (e: unknown) => e,
    ),
    8000,
    'the connection attempt to fail',
  );
  expect(err).toBeInstanceOf(QuicError);
  return err as QuicError;
}

describe('a client rejects a bad server certificate with node:tls codes', () => {
  const cases: [string, keyof TlsFixtures, string, RegExp][] = [
    ['expired', 'expired', 'CERT_HAS_EXPIRED', /certificate has expired/],
    ['not yet valid', 'notYetValid', 'CERT_NOT_YET_VALID', /certificate is not yet valid/],
    ['self-signed', 'selfSigned', 'DEPTH_ZERO_SELF_SIGNED_CERT', /self.signed/],
    ['from an unknown CA', 'unknownCaLeaf', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', /unable to verify/],
    ['for another name', 'wrongName', 'ERR_TLS_CERT_ALTNAME_INVALID', /altnames/],
  ];
  for (const [what, fixture, code, message] of cases) {
    it(`${what}: ${code}`, async () => {
      const pair = fx[fixture] as { cert: string; key: string };
      const { port, accepted } = await serve({ cert: pair.cert, key: pair.key });
      const err = await rejection(dial(port, { ca: fx.rootCa.cert }));
      expect(err.code).toBe('QUICHE_ERR_TLS_FAIL');
      expect(err.authorizationError).toBe(code);
      expect(err.message).toMatch(/^the certificate of localhost was rejected: /);
      expect(err.message).toMatch(message);
      expect(err.type).toBe('transport');
      expect(err.errorCode! >= 0x100n && err.errorCode! <= 0x1ffn).toBe(true);
      if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        // node:tls's own error is the cause, with its code and reason.
        expect(err.cause).toBeInstanceOf(Error);
        expect((err.cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      }
      // The server saw the handshake fail, not an established connection.
      await new Promise((r) => setTimeout(r, 50));
      expect(accepted).toEqual([]);
    });
  }

  it('rejectUnauthorized: false admits it, and says why it is not authorized', async () => {
    const { port } = await serve({ cert: fx.expired.cert, key: fx.expired.key });
    const conn = await dial(port, { ca: fx.rootCa.cert, rejectUnauthorized: false });
    try {
      expect(conn.info()).toMatchObject({ authorized: false, authorizationError: 'CERT_HAS_EXPIRED' });
      expect(conn.peerCertificate()?.fingerprint256).toBe(
        new X509Certificate(fx.expired.cert).fingerprint256,
      );
      expect(await echo(conn, 'still talking')).toBe('still talking');
    } finally {
      await conn.close();
    }
  });

  it('verifyPeer: false is the older name of rejectUnauthorized: false', async () => {
    const { port } = await serve({ cert: fx.selfSigned.cert, key: fx.selfSigned.key });
    const conn = await dial(port, { verifyPeer: false });
    expect(conn.info().authorizationError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    await conn.close();
  });
});

describe('0-RTT', () => {
  it('a connection that resolved early for 0-RTT closes with the rejection when the handshake completes', async () => {
    const { port } = await serve({ cert: fx.expired.cert, key: fx.expired.key, earlyData: true });
    // A first connection that accepts anything, to get a session ticket.
    const lenient = new Config({
      alpn: ['test'],
      ca: fx.rootCa.cert,
      rejectUnauthorized: false,
      earlyData: true,
    });
    const first = await connect({ host: '127.0.0.1', port, serverName: 'localhost', config: lenient });
    const ticket = new Promise<Uint8Array>((resolve) => first.once('session', resolve));
    expect(await echo(first, 'one')).toBe('one');
    const session = await within(ticket, 5000, 'a session ticket');
    await first.close();
    const strict = new Config({ alpn: ['test'], ca: fx.rootCa.cert, earlyData: true });
    const conn = await connect({
      host: '127.0.0.1',
      port,
      serverName: 'localhost',
      config: strict,
      session,
      earlyData: true,
    });
    expect(conn.established).toBe(false);
    const info = await within(conn.closed, 5000, 'the 0-RTT connection to close');
    expect(info).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL', local: true, errorCode: 0x100n + 45n });
    const err = await conn.openStream().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL', authorizationError: 'CERT_HAS_EXPIRED' });
  });
});

describe('a good server certificate', () => {
  it('is authorized, and its chain is readable after the connection closed', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const conn = await dial(port, { ca: fx.rootCa.cert });
    expect(conn.info()).toMatchObject({ authorized: true, authorizationError: null });
    await conn.close();
    const cert = conn.peerCertificate();
    expect(cert).toBeInstanceOf(X509Certificate);
    expect(cert?.fingerprint256).toBe(fx.leafFingerprint256);
    expect(conn.peerCertificateChain()).toHaveLength(1);
  });

  it('intermediates sent by the server complete the chain to the root', async () => {
    const withChain = await serve({ cert: fx.viaIntermediate.chain, key: fx.viaIntermediate.key });
    const conn = await dial(withChain.port, { ca: fx.rootCa.cert });
    expect(conn.info().authorized).toBe(true);
    const chain = conn.peerCertificateChain();
    expect(chain.map((c) => c.fingerprint256)).toEqual([
      new X509Certificate(fx.viaIntermediate.cert).fingerprint256,
      new X509Certificate(fx.intermediate.cert).fingerprint256,
    ]);
    expect(chain[0]!.checkIssued(chain[1]!)).toBe(true);
    await conn.close();
    // Without the intermediate the leaf cannot be tied to the root.
    const leafOnly = await serve({ cert: fx.viaIntermediate.cert, key: fx.viaIntermediate.key });
    const err = await rejection(dial(leafOnly.port, { ca: fx.rootCa.cert }));
    expect(err.authorizationError).toMatch(/^UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT_LOCALLY)$/);
  });

  it('connecting by address checks the address against the certificate, as node:tls', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const byAddress = await connect({
      host: '127.0.0.1',
      port,
      config: new Config({ alpn: ['test'], ca: fx.rootCa.cert }),
    });
    expect(byAddress.info()).toMatchObject({ authorized: true, serverName: null });
    await byAddress.close();
    const other = await serve({ cert: fx.wrongName.cert, key: fx.wrongName.key });
    const err = await rejection(
      connect({
        host: '127.0.0.1',
        port: other.port,
        config: new Config({ alpn: ['test'], ca: fx.rootCa.cert }),
      }),
    );
    expect(err.authorizationError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(err.message).toMatch(/^the certificate of 127\.0\.0\.1 was rejected/);
  });
});

describe('checkServerIdentity', () => {
  it('receives the name and the X509Certificate, and can pin a fingerprint', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const seen: [string, string][] = [];
    const pinned = (expected: string) => (host: string, cert: X509Certificate) => {
      seen.push([host, cert.fingerprint256]);
      return cert.fingerprint256 === expected
        ? undefined
        : new Error(`${host} is not the pinned certificate`);
    };
    const ok = await dial(port, { ca: fx.rootCa.cert, checkServerIdentity: pinned(fx.leafFingerprint256) });
    expect(ok.info().authorized).toBe(true);
    await ok.close();
    expect(seen).toEqual([['localhost', fx.leafFingerprint256]]);

    const other = new X509Certificate(fx.wrongName.cert).fingerprint256;
    const err = await rejection(dial(port, { ca: fx.rootCa.cert, checkServerIdentity: pinned(other) }));
    expect(err.authorizationError).toBe('localhost is not the pinned certificate');
    expect((err.cause as Error).message).toBe('localhost is not the pinned certificate');
  });

  it('a check that throws rejects the certificate with that error as the cause', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const boom = Object.assign(new Error('pin store unavailable'), { code: 'E_PIN_STORE' });
    const err = await rejection(
      dial(port, {
        ca: fx.rootCa.cert,
        checkServerIdentity: () => {
          throw boom;
        },
      }),
    );
    expect(err.authorizationError).toBe('E_PIN_STORE');
    expect(err.cause).toBe(boom);
  });

  it('is not called when the chain already failed', async () => {
    const { port } = await serve({ cert: fx.unknownCaLeaf.cert, key: fx.unknownCaLeaf.key });
    let calls = 0;
    const err = await rejection(
      dial(port, {
        ca: fx.rootCa.cert,
        checkServerIdentity: () => {
          calls++;
          return undefined;
        },
      }),
    );
    expect(err.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(calls).toBe(0);
  });
});

describe('mutual TLS', () => {
  const server = (extra: ConfigOptions = {}) =>
    serve({ cert: fx.leaf.cert, key: fx.leaf.key, ca: fx.clientCa.cert, requestCert: true, ...extra });

  it('a client with a certificate from the client CA is admitted, and the server sees it', async () => {
    const { port, accepted } = await server();
    const conn = await dial(port, { ca: fx.rootCa.cert, cert: fx.client.cert, key: fx.client.key });
    expect(await echo(conn, 'mtls')).toBe('mtls');
    const seen = accepted[0]!;
    expect(seen.info()).toMatchObject({ authorized: true, authorizationError: null });
    expect(seen.peerCertificate()?.subject).toMatch(/CN=client-1/);
    await conn.close();
  });

  it("the listener reports each refused client with 'tlsClientError'", async () => {
    const errors: QuicError[] = [];
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: new Config({
        alpn: ['test'],
        cert: fx.leaf.cert,
        key: fx.leaf.key,
        ca: fx.clientCa.cert,
        requestCert: true,
      }),
      onConnection: echoStreams,
    });
    listeners.push(listener);
    listener.on('tlsClientError', (err, conn) => {
      expect(conn.established).toBe(false);
      errors.push(err);
    });
    const port = listener.address().port;
    await refused(port, { cert: fx.strangerClient.cert, key: fx.strangerClient.key }, []);
    await refused(port, {}, []);
    await until(() => errors.length === 2, 3000, 'two tlsClientError events');
    expect(errors[0]).toMatchObject({
      code: 'QUICHE_ERR_TLS_FAIL',
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(errors[0]!.message).toMatch(/^the certificate of the client was rejected/);
    // No certificate at all: BoringSSL fails the handshake with certificate_required.
    expect(errors[1]).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL', errorCode: 0x100n + 116n, remote: false });
    const ok = await dial(port, { ca: fx.rootCa.cert, cert: fx.client.cert, key: fx.client.key });
    expect(await echo(ok, 'fine')).toBe('fine');
    await ok.close();
    expect(errors).toHaveLength(2);
  });

  async function refused(port: number, client: ConfigOptions, accepted: Connection[]): Promise<void> {
    // In TLS 1.3 the client finishes its handshake before the server has
    // checked its certificate: connect() may resolve, then the server closes.
    const info = await within(
      dial(port, { ca: fx.rootCa.cert, ...client }).then(
        (conn) => conn.closed,
        (err: QuicError) => ({ code: err.code, local: false, errorCode: err.errorCode }),
      ),
      8000,
      'the refused client to close',
    );
    expect(info).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL', local: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).toEqual([]);
  }

  it('a client without a certificate is refused (certificate_required)', async () => {
    const { port, accepted } = await server();
    await refused(port, {}, accepted);
  });

  it('a client whose certificate does not verify is refused', async () => {
    const { port, accepted } = await server();
    await refused(port, { cert: fx.strangerClient.cert, key: fx.strangerClient.key }, accepted);
  });

  it('with rejectUnauthorized: false every client is admitted and the server can tell them apart', async () => {
    const { port, accepted } = await server({ rejectUnauthorized: false });
    const clients = [
      await dial(port, { ca: fx.rootCa.cert, cert: fx.client.cert, key: fx.client.key }),
      await dial(port, { ca: fx.rootCa.cert, cert: fx.strangerClient.cert, key: fx.strangerClient.key }),
      await dial(port, { ca: fx.rootCa.cert }),
    ];
    await until(() => accepted.length === 3, 5000, 'three accepted connections');
    const byCn = (c: Connection) => c.peerCertificate()?.subject.match(/CN=(.*)/)?.[1] ?? null;
    const views = accepted.map((c) => [byCn(c), c.info().authorized, c.info().authorizationError]);
    expect(views).toEqual(
      expect.arrayContaining([
        ['client-1', true, null],
        ['intruder', false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
        [null, false, 'UNABLE_TO_GET_ISSUER_CERT'],
      ]),
    );
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a server that asks for no certificate reports none, whatever the client has', async () => {
    const { port, accepted } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const conn = await dial(port, { ca: fx.rootCa.cert, cert: fx.client.cert, key: fx.client.key });
    await until(() => accepted.length === 1, 5000, 'the accepted connection');
    expect(accepted[0]!.info()).toMatchObject({ authorized: false, authorizationError: null });
    expect(accepted[0]!.peerCertificate()).toBeNull();
    await conn.close();
  });
});

describe('SNI', () => {
  const sni = {
    'a.test': fx.sni.a,
    'B.Test': fx.sni.b,
    '*.wild.test': fx.sni.wild,
  };

  it('picks the certificate of the name asked for, and the default for other names', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key, sni });
    const subjectFor = async (name: string): Promise<string | undefined> => {
      const conn = await dial(port, { ca: fx.rootCa.cert, rejectUnauthorized: false }, name);
      const info = conn.info();
      const san = conn.peerCertificate()?.subjectAltName;
      await conn.close();
      return `${info.authorized ? 'ok' : info.authorizationError} ${san}`;
    };
    expect(await subjectFor('a.test')).toBe('ok DNS:a.test');
    expect(await subjectFor('b.test')).toBe('ok DNS:b.test');
    expect(await subjectFor('x.wild.test')).toBe('ok DNS:*.wild.test');
    // A wildcard covers one label only; unknown names get the default certificate.
    expect(await subjectFor('y.x.wild.test')).toMatch(/^ERR_TLS_CERT_ALTNAME_INVALID DNS:localhost/);
    expect(await subjectFor('unknown.test')).toMatch(/^ERR_TLS_CERT_ALTNAME_INVALID DNS:localhost/);
  });

  it('without a default certificate an unknown name fails the handshake (unrecognized_name)', async () => {
    const { port } = await serve({ sni });
    const ok = await dial(port, { ca: fx.rootCa.cert }, 'a.test');
    expect(ok.info().authorized).toBe(true);
    await ok.close();
    const err = await rejection(dial(port, { ca: fx.rootCa.cert }, 'unknown.test'));
    expect(err).toMatchObject({ code: 'QUICHE_ERR_TLS_FAIL', errorCode: 0x100n + 112n, remote: true });
  });

  it('rejects bad server names and bad identities, naming them', () => {
    expect(() => new Config({ sni: { 'bad name': fx.sni.a } })).toThrow(/not a host name/);
    expect(() => new Config({ sni: { 'a.test': { cert: fx.sni.a.cert, key: fx.sni.b.key } } })).toThrow(
      /sni\["a\.test"\]: key does not match the certificate/,
    );
    expect(() => new Config({ sni: { 'a.test': { cert: fx.sni.a.cert } } as never })).toThrow(TypeError);
  });
});

describe('keys and certificates given in memory', () => {
  it('an encrypted key loads with its passphrase, and fails clearly without it', async () => {
    const { cert, key, passphrase } = fx.encrypted;
    const { port } = await serve({ cert, key, passphrase });
    const conn = await dial(port, { ca: fx.rootCa.cert });
    expect(conn.info().authorized).toBe(true);
    await conn.close();
    expect(() => new Config({ cert, key })).toThrow(/key: key is encrypted: give its passphrase/);
    expect(() => new Config({ cert, key, passphrase: 'wrong' })).toThrow(
      /key could not be decrypted with the passphrase given/,
    );
    // Set in any order through the setters.
    expect(new Config().loadPrivKeyFromPem(key, passphrase).loadCertChainFromPem(cert).hasCertificate).toBe(
      true,
    );
  });

  it('a key that does not match the certificate is refused', () => {
    expect(() => new Config({ cert: fx.leaf.cert, key: fx.client.key })).toThrow(
      /key: key does not match the certificate/,
    );
  });

  it('half an identity is refused when it would be used', async () => {
    const config = new Config({ alpn: ['test'], cert: fx.client.cert, ca: fx.rootCa.cert });
    await expect(connect({ host: '127.0.0.1', port: 9, config })).rejects.toThrow(
      /certificate chain but no private key/,
    );
    await expect(listen({ host: '127.0.0.1', port: 0, config })).rejects.toThrow(TypeError);
  });

  it('ca takes a list, and together the CAs replace the default trust', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const conn = await dial(port, { ca: [fx.unknownCa.cert, fx.rootCa.cert] });
    expect(conn.info().authorized).toBe(true);
    await conn.close();
    const err = await rejection(dial(port, { ca: [fx.unknownCa.cert, fx.clientCa.cert] }));
    expect(err.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(() => new Config({ ca: [] })).toThrow(/ca must not be an empty array/);
    expect(
      () => new Config({ ca: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }),
    ).toThrow(/ca/);
  });

  it('caDirectory reads every PEM certificate of a directory; bad files and directories are named', async () => {
    const { mkdtempSync, writeFileSync, mkdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'quichex-cadir-'));
    try {
      writeFileSync(path.join(dir, 'root.pem'), fx.rootCa.cert);
      writeFileSync(path.join(dir, 'notes.txt'), 'not a certificate');
      mkdirSync(path.join(dir, 'sub'));
      const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
      const conn = await dial(port, { caDirectory: dir });
      expect(conn.info().authorized).toBe(true);
      await conn.close();
      const empty = mkdtempSync(path.join(tmpdir(), 'quichex-cadir-empty-'));
      expect(() => new Config({ caDirectory: empty })).toThrow(/holds no PEM certificate/);
      rmSync(empty, { recursive: true });
      expect(() => new Config({ caDirectory: path.join(dir, 'missing') })).toThrow(
        /caDirectory: cannot read .*ENOENT/,
      );
      expect(() => new Config({ caFile: path.join(dir, 'notes.txt') })).toThrow(/must be PEM text/);
      expect(() => new Config({ cert: fx.leaf.cert, key: fx.leaf.key, passphrase: 42 as never })).toThrow(
        /passphrase must be a string or a Uint8Array/,
      );
      expect(() => new Config({ ca: 7 as never })).toThrow(/ca must be a string or a Uint8Array/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without ca a client trusts Node root store, which does not hold our test root', async () => {
    const { port } = await serve({ cert: fx.leaf.cert, key: fx.leaf.key });
    const err = await rejection(dial(port, {}));
    expect(err.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
