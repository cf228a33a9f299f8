/**
 * quichex's TLS glue (quichex.h) at the C level: configs on a context we
 * configure from memory, bad input refused with a message, a handshake
 * between two in-memory connections whose chain is then verified with
 * X.509 codes, the peer's whole chain, SNI selection and key log lines by
 * callback.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { tlsFixtures } from '../../../test/support/tls-fixtures.js';
import {
  encodeAlpn,
  QUICHE_PROTOCOL_VERSION,
  type QuicheConfig,
  type QuicheConn,
  type QuichexTls,
  quiche_config_free,
  quiche_config_log_keys,
  quiche_config_set_application_protos,
  quiche_config_set_initial_max_data,
  quiche_config_set_initial_max_streams_bidi,
  quiche_config_set_max_idle_timeout,
  quiche_conn_is_established,
  quichex_conn_peer_cert_at,
  quichex_conn_set_keylog_callback,
  quichex_conn_verify_peer,
  quichex_tls_add_server_name,
  quichex_tls_free,
  quichex_tls_new,
  quichex_tls_set_identity,
  quichex_tls_set_verify,
  quichex_trust_free,
  quichex_trust_new,
  quichex_verify_error_name,
  quichex_verify_error_string,
  readBorrowed,
  readErrorBuffer,
  registerKeylogCallback,
  TlsVerifyMode,
} from '../src/index.js';
import { Pair, TEST_ALPN } from './support/pair.js';

const fx = tlsFixtures();
const bytes = (s: string): Buffer => Buffer.from(s);
const err = new Uint8Array(256);
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const fn of cleanups.splice(0)) fn();
});

/** A config on a glue TLS context, freed after the file. */
function glueConfig(): { tls: QuichexTls; config: QuicheConfig } {
  const out = new BigUint64Array(1);
  const tls = quichex_tls_new(QUICHE_PROTOCOL_VERSION, out, err, err.length);
  expect(tls, readErrorBuffer(err)).not.toBeNull();
  const config = out[0] as QuicheConfig;
  cleanups.push(() => {
    quichex_tls_free(tls!);
    quiche_config_free(config);
  });
  return { tls: tls!, config };
}

function setIdentity(tls: QuichexTls, cert: string, key: string, passphrase?: string): number {
  const c = bytes(cert);
  const k = bytes(key);
  const p = passphrase === undefined ? null : bytes(passphrase);
  return quichex_tls_set_identity(tls, c, c.length, k, k.length, p, p?.length ?? 0, err, err.length);
}

function trust(pem: string) {
  const b = bytes(pem);
  const t = quichex_trust_new(b, b.length, err, err.length);
  expect(t, readErrorBuffer(err)).not.toBeNull();
  cleanups.push(() => quichex_trust_free(t!));
  return t!;
}

/** A server config with `identity` and an ALPN matching the pair's client. */
function serverWith(setup: (tls: QuichexTls) => void): QuicheConfig {
  const { tls, config } = glueConfig();
  setup(tls);
  makeConfigInto(config);
  return config;
}

/** The ALPN and limits a handshake with the pair's client needs, on a glue-made config. */
function makeConfigInto(config: QuicheConfig): void {
  const alpn = encodeAlpn([TEST_ALPN]);
  expect(quiche_config_set_application_protos(config, alpn, alpn.length)).toBe(0);
  quiche_config_set_max_idle_timeout(config, 5000);
  quiche_config_set_initial_max_data(config, 1_000_000);
  quiche_config_set_initial_max_streams_bidi(config, 10);
}

function handshake(serverConfig: QuicheConfig, serverName = 'localhost'): Pair {
  const pair = new Pair({ sharedServerConfig: serverConfig, serverName });
  cleanups.push(() => pair.free());
  pair.pump();
  expect(quiche_conn_is_established(pair.client)).toBe(true);
  return pair;
}

function chainOf(conn: QuicheConn): string[] {
  const out = new BigUint64Array(1);
  const len = new BigUint64Array(1);
  const fps: string[] = [];
  for (let i = 0; quichex_conn_peer_cert_at(conn, i, out, len); i++) {
    fps.push(new X509Certificate(readBorrowed(out, len)).fingerprint256);
  }
  return fps;
}

describe('input checks', () => {
  it('refuses an unknown QUIC version with a message', () => {
    const out = new BigUint64Array(1);
    expect(quichex_tls_new(0x0a0a0a0b, out, err, err.length)).toBeNull();
    expect(readErrorBuffer(err)).toMatch(/could not create a config for version 0xa0a0a0b/);
  });

  it('refuses bad identities, naming what is wrong', () => {
    const { tls } = glueConfig();
    expect(setIdentity(tls, 'not pem', fx.leaf.key)).toBe(-1);
    expect(readErrorBuffer(err)).toBe('cert holds no certificate');
    expect(setIdentity(tls, fx.leaf.cert, fx.client.key)).toBe(-1);
    expect(readErrorBuffer(err)).toMatch(/key does not match the certificate/);
    expect(setIdentity(tls, fx.encrypted.cert, fx.encrypted.key)).toBe(-1);
    expect(readErrorBuffer(err)).toBe('key is encrypted: give its passphrase');
    expect(setIdentity(tls, fx.encrypted.cert, fx.encrypted.key, 'nope')).toBe(-1);
    expect(readErrorBuffer(err)).toBe('key could not be decrypted with the passphrase given');
    expect(setIdentity(tls, fx.encrypted.cert, fx.encrypted.key, fx.encrypted.passphrase)).toBe(0);
    const name = bytes('no spaces allowed');
    const c = bytes(fx.sni.a.cert);
    const k = bytes(fx.sni.a.key);
    expect(
      quichex_tls_add_server_name(tls, name, name.length, c, c.length, k, k.length, null, 0, err, err.length),
    ).toBe(-1);
    expect(readErrorBuffer(err)).toMatch(/is not a host name or \*\.wildcard/);
    expect(quichex_tls_set_verify(tls, 3)).toBe(-1);
    expect(quichex_tls_set_verify(tls, TlsVerifyMode.REQUIRE)).toBe(0);
  });

  it('truncates long messages to the buffer, NUL-terminated', () => {
    const small = new Uint8Array(8).fill(0xff);
    const b = bytes('x');
    expect(quichex_trust_new(b, b.length, small, small.length)).toBeNull();
    expect(small[7]).toBe(0);
    expect(readErrorBuffer(small)).toBe('ca hold');
  });

  it('names X.509 codes as node:tls does', () => {
    expect(quichex_verify_error_name(0)).toBe('OK');
    expect(quichex_verify_error_name(10)).toBe('CERT_HAS_EXPIRED');
    expect(quichex_verify_error_name(18)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(quichex_verify_error_name(21)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(quichex_verify_error_name(-5)).toBeNull();
    expect(quichex_verify_error_string(10)).toBe('certificate has expired');
  });
});

describe('a handshake on a glue-made server config', () => {
  it('presents the chain from memory; the client verifies it against a trust store', () => {
    const server = serverWith((tls) =>
      expect(setIdentity(tls, fx.viaIntermediate.chain, fx.viaIntermediate.key)).toBe(0),
    );
    const pair = handshake(server);
    expect(chainOf(pair.client)).toEqual([
      new X509Certificate(fx.viaIntermediate.cert).fingerprint256,
      new X509Certificate(fx.intermediate.cert).fingerprint256,
    ]);
    const depth = new Int32Array(1);
    expect(quichex_conn_verify_peer(pair.client, trust(fx.rootCa.cert), true, null, 0, depth)).toBe(0);
    // Against another root: the issuer is unknown.
    expect(quichex_conn_verify_peer(pair.client, trust(fx.unknownCa.cert), true, null, 0, depth)).toBe(20);
    expect(depth[0]).toBe(1);
    // A server certificate is not a client certificate (extended key usage).
    expect(quichex_conn_verify_peer(pair.client, trust(fx.rootCa.cert), false, null, 0, depth)).toBe(26);
    // The server asked for no certificate, so it has none to verify.
    expect(quichex_conn_verify_peer(pair.srv, trust(fx.rootCa.cert), false, null, 0, depth)).toBe(-1);
    // With a name: the leaf names localhost and ::1, not other.example nor 10.0.0.1.
    const root = trust(fx.rootCa.cert);
    const check = (name: string) =>
      quichex_conn_verify_peer(pair.client, root, true, bytes(name), name.length, depth);
    expect([check('localhost'), check('::1'), check('other.example'), check('10.0.0.1')]).toEqual([
      0, 0, 62, 64,
    ]);
  });

  it('chooses the identity by SNI, with exact names before wildcards', () => {
    const server = serverWith((tls) => {
      expect(setIdentity(tls, fx.leaf.cert, fx.leaf.key)).toBe(0);
      for (const [name, pair] of [
        ['A.test.', fx.sni.a],
        ['*.wild.test', fx.sni.wild],
      ] as const) {
        const n = bytes(name);
        const c = bytes(pair.cert);
        const k = bytes(pair.key);
        expect(
          quichex_tls_add_server_name(tls, n, n.length, c, c.length, k, k.length, null, 0, err, err.length),
        ).toBe(0);
      }
    });
    const leafOf = (name: string) => chainOf(handshake(server, name).client)[0];
    expect(leafOf('a.test')).toBe(new X509Certificate(fx.sni.a.cert).fingerprint256);
    expect(leafOf('x.wild.test')).toBe(new X509Certificate(fx.sni.wild.cert).fingerprint256);
    expect(leafOf('wild.test')).toBe(fx.leafFingerprint256);
    expect(leafOf('other.test')).toBe(fx.leafFingerprint256);
  });

  it('hands key log lines to the callback with the connection number', () => {
    const server = serverWith((tls) => {
      expect(setIdentity(tls, fx.leaf.cert, fx.leaf.key)).toBe(0);
    });
    quiche_config_log_keys(server);
    const lines: [number, string][] = [];
    const cb = registerKeylogCallback((line, ctx) => lines.push([ctx, Buffer.from(line).toString('latin1')]));
    const pair = new Pair({ sharedServerConfig: server });
    cleanups.push(() => pair.free());
    const initial = pair.drain('client');
    pair.accept(initial[0]!);
    expect(quichex_conn_set_keylog_callback(pair.srv, cb, 42)).toBe(true);
    for (const pkt of initial) pair.deliver('server', pkt);
    pair.pump();
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(new Set(lines.map(([ctx]) => ctx))).toEqual(new Set([42]));
    expect(lines.map(([, l]) => l.split(' ')[0])).toContain('SERVER_TRAFFIC_SECRET_0');
    expect(quichex_conn_set_keylog_callback(pair.srv, 0n, 1)).toBe(false);
  });
});
