/**
 * Self-test of test/support/tls-fixtures.ts: each generated certificate has
 * the issuer, names, validity, key and extended key usages its doc promises.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTlsFixtures, type Pair, tlsFixtures } from './support/tls-fixtures.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const LOCAL_SAN = 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1';

const x509 = (pem: string): X509Certificate => new X509Certificate(pem);

/** `cert` was issued and signed by `issuer`. */
function expectIssuedBy(cert: string, issuer: string): void {
  const c = x509(cert);
  const i = x509(issuer);
  expect(c.checkIssued(i)).toBe(true);
  expect(c.verify(i.publicKey)).toBe(true);
  expect(c.issuer).toBe(i.subject);
}

function expectKeyMatches(pair: Pair, passphrase?: string): void {
  const key = createPrivateKey(passphrase === undefined ? pair.key : { key: pair.key, passphrase });
  expect(key.asymmetricKeyType).toBe('ec');
  expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  expect(x509(pair.cert).checkPrivateKey(key)).toBe(true);
}

/** Valid now, for about 2 days. */
function expectCurrent(cert: string): void {
  const c = x509(cert);
  const now = Date.now();
  expect(Date.parse(c.validFrom)).toBeLessThanOrEqual(now);
  expect(Date.parse(c.validTo)).toBeGreaterThan(now + 36 * 3600_000);
}

describe('tls fixtures', () => {
  const f = tlsFixtures();
  const all: Record<string, Pair> = {
    rootCa: f.rootCa,
    intermediate: f.intermediate,
    viaIntermediate: f.viaIntermediate,
    leaf: f.leaf,
    expired: f.expired,
    notYetValid: f.notYetValid,
    wrongName: f.wrongName,
    selfSigned: f.selfSigned,
    unknownCaLeaf: f.unknownCaLeaf,
    unknownCa: f.unknownCa,
    sniA: f.sni.a,
    sniB: f.sni.b,
    sniWild: f.sni.wild,
    clientCa: f.clientCa,
    client: f.client,
    strangerClient: f.strangerClient,
  };

  it('returns PEM text with unencrypted PKCS#8 keys that match their certs', () => {
    for (const [name, pair] of Object.entries(all)) {
      expect(pair.cert, name).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
      expect(pair.cert.match(/BEGIN CERTIFICATE/g), name).toHaveLength(1);
      expect(pair.key, name).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expectKeyMatches(pair);
      expect(x509(pair.cert).publicKey.asymmetricKeyDetails?.namedCurve, name).toBe('prime256v1');
    }
  });

  it('signs everything with sha256', () => {
    // X509Certificate does not expose the signature algorithm; toString() of
    // the legacy object does not either, so check the DER's OID
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) appears.
    const ecdsaSha256 = Buffer.from('06082a8648ce3d040302', 'hex');
    for (const [name, pair] of Object.entries(all)) {
      expect(x509(pair.cert).raw.includes(ecdsaSha256), name).toBe(true);
    }
  });

  it('makes CAs with the right constraints and issuers', () => {
    for (const ca of [f.rootCa, f.unknownCa, f.clientCa]) {
      const c = x509(ca.cert);
      expect(c.ca).toBe(true);
      expectIssuedBy(ca.cert, ca.cert);
      expectCurrent(ca.cert);
    }
    expect(x509(f.intermediate.cert).ca).toBe(true);
    expectIssuedBy(f.intermediate.cert, f.rootCa.cert);
    expectCurrent(f.intermediate.cert);
    // Distinct CAs.
    const subjects = new Set(
      [f.rootCa, f.unknownCa, f.clientCa, f.intermediate].map((p) => x509(p.cert).subject),
    );
    expect(subjects.size).toBe(4);
    expect(x509(f.leaf.cert).checkIssued(x509(f.unknownCa.cert))).toBe(false);
  });

  it('makes the leaf signed by the root for localhost, usable for server and client auth', () => {
    const c = x509(f.leaf.cert);
    expect(c.ca).toBe(false);
    expectIssuedBy(f.leaf.cert, f.rootCa.cert);
    expect(c.subjectAltName).toBe(LOCAL_SAN);
    expect(c.keyUsage).toEqual(expect.arrayContaining([SERVER_AUTH, CLIENT_AUTH]));
    expect(c.checkHost('localhost')).toBe('localhost');
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.checkIP('::1')).toBe('::1');
    expectCurrent(f.leaf.cert);
    expect(f.leafFingerprint256).toBe(c.fingerprint256);
    expect(f.leafFingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('makes a leaf via the intermediate, with a chain', () => {
    const c = x509(f.viaIntermediate.cert);
    expectIssuedBy(f.viaIntermediate.cert, f.intermediate.cert);
    expect(c.checkIssued(x509(f.rootCa.cert))).toBe(false);
    expect(c.subjectAltName).toBe(LOCAL_SAN);
    expect(c.keyUsage).toContain(SERVER_AUTH);
    expect(f.viaIntermediate.chain).toBe(f.viaIntermediate.cert + f.intermediate.cert);
    expectCurrent(f.viaIntermediate.cert);
  });

  it('makes expired and not-yet-valid leafs with real dates', () => {
    const now = Date.now();
    const day = 24 * 3600_000;
    const expired = x509(f.expired.cert);
    expectIssuedBy(f.expired.cert, f.rootCa.cert);
    expect(expired.subjectAltName).toBe(LOCAL_SAN);
    expect(Date.parse(expired.validTo)).toBeLessThan(now);
    expect(Math.abs(Date.parse(expired.validTo) - (now - day))).toBeLessThan(60_000);
    expect(Math.abs(Date.parse(expired.validFrom) - (now - 10 * day))).toBeLessThan(60_000);

    const future = x509(f.notYetValid.cert);
    expectIssuedBy(f.notYetValid.cert, f.rootCa.cert);
    expect(future.subjectAltName).toBe(LOCAL_SAN);
    expect(Date.parse(future.validFrom)).toBeGreaterThan(now);
    expect(Math.abs(Date.parse(future.validFrom) - (now + day))).toBeLessThan(60_000);
    expect(Math.abs(Date.parse(future.validTo) - (now + 10 * day))).toBeLessThan(60_000);
  });

  it('makes a wrong-name leaf for other.example only', () => {
    const c = x509(f.wrongName.cert);
    expectIssuedBy(f.wrongName.cert, f.rootCa.cert);
    expect(c.subjectAltName).toBe('DNS:other.example');
    expect(c.checkHost('localhost')).toBeUndefined();
    expect(c.checkIP('127.0.0.1')).toBeUndefined();
    expect(c.keyUsage).toContain(SERVER_AUTH);
    expectCurrent(f.wrongName.cert);
  });

  it('makes a self-signed non-CA leaf', () => {
    const c = x509(f.selfSigned.cert);
    expect(c.ca).toBe(false);
    expectIssuedBy(f.selfSigned.cert, f.selfSigned.cert);
    expect(c.subjectAltName).toBe(LOCAL_SAN);
    expect(c.keyUsage).toContain(SERVER_AUTH);
    expect(c.checkIssued(x509(f.rootCa.cert))).toBe(false);
    expectCurrent(f.selfSigned.cert);
  });

  it('makes a leaf signed by the unknown CA', () => {
    const c = x509(f.unknownCaLeaf.cert);
    expectIssuedBy(f.unknownCaLeaf.cert, f.unknownCa.cert);
    expect(c.checkIssued(x509(f.rootCa.cert))).toBe(false);
    expect(c.verify(x509(f.rootCa.cert).publicKey)).toBe(false);
    expect(c.subjectAltName).toBe(LOCAL_SAN);
    expect(c.keyUsage).toContain(SERVER_AUTH);
    expectCurrent(f.unknownCaLeaf.cert);
  });

  it('makes SNI leafs', () => {
    const cases: [Pair, string, string][] = [
      [f.sni.a, 'DNS:a.test', 'a.test'],
      [f.sni.b, 'DNS:b.test', 'b.test'],
      [f.sni.wild, 'DNS:*.wild.test', 'x.wild.test'],
    ];
    for (const [pair, san, host] of cases) {
      const c = x509(pair.cert);
      expectIssuedBy(pair.cert, f.rootCa.cert);
      expect(c.subjectAltName).toBe(san);
      expect(c.checkHost(host)).toBe(host.startsWith('x.') ? '*.wild.test' : host);
      expect(c.keyUsage).toContain(SERVER_AUTH);
      expectCurrent(pair.cert);
    }
    expect(x509(f.sni.a.cert).checkHost('b.test')).toBeUndefined();
  });

  it('makes client certs signed by the client CA and by the unknown CA', () => {
    const client = x509(f.client.cert);
    expectIssuedBy(f.client.cert, f.clientCa.cert);
    expect(client.subject).toBe('CN=client-1');
    expect(client.keyUsage).toEqual([CLIENT_AUTH]);
    expect(client.checkIssued(x509(f.rootCa.cert))).toBe(false);
    expectCurrent(f.client.cert);

    const stranger = x509(f.strangerClient.cert);
    expectIssuedBy(f.strangerClient.cert, f.unknownCa.cert);
    expect(stranger.subject).toBe('CN=intruder');
    expect(stranger.keyUsage).toEqual([CLIENT_AUTH]);
    expect(stranger.checkIssued(x509(f.clientCa.cert))).toBe(false);
  });

  it('encrypts the leaf key under the passphrase', () => {
    expect(f.encrypted.cert).toBe(f.leaf.cert);
    expect(f.encrypted.key).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expectKeyMatches(f.encrypted, f.encrypted.passphrase);
    expect(() => createPrivateKey(f.encrypted.key)).toThrow();
    expect(() => createPrivateKey({ key: f.encrypted.key, passphrase: 'wrong' })).toThrow();
  });

  it('generates quickly, and cleanup removes the directory', () => {
    const t0 = performance.now();
    const g = generateTlsFixtures();
    const ms = performance.now() - t0;
    console.log(`generateTlsFixtures: ${ms.toFixed(0)} ms`);
    expect(existsSync(g.dir)).toBe(true);
    g.cleanup();
    expect(existsSync(g.dir)).toBe(false);
    expect(ms).toBeLessThan(2000);
  });
});
