/**
 * Every certificate variant the TLS tests need, generated at test time with
 * the openssl CLI into a fresh temp dir and returned as PEM text: a root CA,
 * an intermediate, leafs signed by either, expired / not-yet-valid /
 * wrong-name / self-signed / unknown-CA leafs, SNI leafs, client-auth certs,
 * and an encrypted key. Nothing is committed.
 *
 * All keys are EC prime256v1 in unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`,
 * which is what `openssl req -newkey ... -noenc` writes in OpenSSL 3), except
 * `encrypted.key` (PKCS#8, aes-256-cbc). All signatures are sha256. Certs are
 * valid for 2 days from now, except `expired` and `notYetValid`, which go
 * through `openssl ca` because OpenSSL 3.0's `req`/`x509` cannot set a start
 * date.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export interface Pair {
  readonly cert: string;
  readonly key: string;
}

export interface TlsFixtures {
  /** Directory holding every file; remove with {@link TlsFixtures.cleanup}. */
  readonly dir: string;
  /** Root CA (CA:TRUE, keyCertSign). */
  readonly rootCa: Pair;
  /** Intermediate CA signed by rootCa (CA:TRUE, pathlen:0). */
  readonly intermediate: Pair;
  /** Leaf for localhost/127.0.0.1/::1 (serverAuth) signed by `intermediate`; `cert` is the leaf alone, `chain` is leaf + intermediate PEM concatenated. */
  readonly viaIntermediate: Pair & { readonly chain: string };
  /** Leaf for localhost/127.0.0.1/::1 signed directly by rootCa (serverAuth, clientAuth). */
  readonly leaf: Pair;
  /** Same names, signed by rootCa, valid from now-10 days to now-1 day. */
  readonly expired: Pair;
  /** Same names, signed by rootCa, valid from now+1 day to now+10 days. */
  readonly notYetValid: Pair;
  /** Signed by rootCa but only for DNS:other.example (no IP SANs). */
  readonly wrongName: Pair;
  /** Self-signed leaf (CA:FALSE) for localhost/127.0.0.1/::1. */
  readonly selfSigned: Pair;
  /** Leaf for localhost/127.0.0.1/::1 signed by `unknownCa`, a CA nobody trusts. */
  readonly unknownCaLeaf: Pair;
  readonly unknownCa: Pair;
  /** SNI leafs signed by rootCa: SAN DNS:a.test, DNS:b.test, DNS:*.wild.test respectively (serverAuth). */
  readonly sni: { readonly a: Pair; readonly b: Pair; readonly wild: Pair };
  /** Client-auth CA, and a client cert (CN=client-1, extendedKeyUsage=clientAuth) signed by it. */
  readonly clientCa: Pair;
  readonly client: Pair;
  /** A client cert (CN=intruder, clientAuth) signed by `unknownCa`. */
  readonly strangerClient: Pair;
  /** The `leaf` certificate with its key encrypted (PKCS#8, aes-256-cbc) under `passphrase`. */
  readonly encrypted: Pair & { readonly passphrase: string };
  /** SHA-256 fingerprint of `leaf.cert` in node's X509Certificate.fingerprint256 format (AA:BB:...). */
  readonly leafFingerprint256: string;
  /** Removes the directory. */
  cleanup(): void;
}

const LOCAL_NAMES = 'DNS:localhost,IP:127.0.0.1,IP:::1';
const PASSPHRASE = 'quichex-fixture-passphrase';
const DAY_MS = 24 * 60 * 60 * 1000;

interface ExtSpec {
  /** CA cert; `pathlen` 0 for the intermediate. */
  readonly ca?: { readonly pathlen?: number };
  /** extendedKeyUsage value, e.g. `serverAuth,clientAuth`. */
  readonly eku?: string;
  readonly san?: string;
  /** Omit keyUsage (the self-signed leaf: a keyUsage without keyCertSign would stop it counting as self-signed). */
  readonly noKeyUsage?: boolean;
}

/** Extension sections of the config, by name (passed to `-extensions`). */
const EXTENSIONS: Record<string, ExtSpec> = {
  ext_ca: { ca: {} },
  ext_intermediate: { ca: { pathlen: 0 } },
  ext_server_local: { eku: 'serverAuth', san: LOCAL_NAMES },
  ext_leaf_local: { eku: 'serverAuth,clientAuth', san: LOCAL_NAMES },
  ext_self_local: { eku: 'serverAuth,clientAuth', san: LOCAL_NAMES, noKeyUsage: true },
  ext_wrong_name: { eku: 'serverAuth', san: 'DNS:other.example' },
  ext_sni_a: { eku: 'serverAuth', san: 'DNS:a.test' },
  ext_sni_b: { eku: 'serverAuth', san: 'DNS:b.test' },
  ext_sni_wild: { eku: 'serverAuth', san: 'DNS:*.wild.test' },
  ext_client: { eku: 'clientAuth' },
};

function extensionSection(name: string, spec: ExtSpec): string {
  const lines = [`[ ${name} ]`];
  if (spec.ca) {
    const pathlen = spec.ca.pathlen === undefined ? '' : `, pathlen:${spec.ca.pathlen}`;
    lines.push(`basicConstraints = critical, CA:TRUE${pathlen}`, 'keyUsage = critical, keyCertSign, cRLSign');
  } else {
    lines.push('basicConstraints = critical, CA:FALSE');
    if (!spec.noKeyUsage) lines.push('keyUsage = critical, digitalSignature');
  }
  if (spec.eku) lines.push(`extendedKeyUsage = ${spec.eku}`);
  if (spec.san) lines.push(`subjectAltName = ${spec.san}`);
  lines.push('subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid');
  return lines.join('\n');
}

/** One config for both `openssl req` and `openssl ca` (a throwaway CA database in the temp dir). */
function configText(): string {
  return [
    '[ req ]',
    'distinguished_name = req_dn',
    'string_mask = utf8only',
    '[ req_dn ]',
    '[ ca ]',
    'default_ca = fixture_ca',
    '[ fixture_ca ]',
    'database = index.txt',
    'new_certs_dir = .',
    'rand_serial = yes',
    'unique_subject = no',
    'default_md = sha256',
    'policy = policy_any',
    'copy_extensions = none',
    'email_in_dn = no',
    '[ policy_any ]',
    'commonName = supplied',
    ...Object.entries(EXTENSIONS).map(([name, spec]) => extensionSection(name, spec)),
    '',
  ].join('\n');
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc'];

/**
 * One openssl call: a fresh key (`name.key`) and a cert (`name.pem`) for it,
 * self-signed, or signed by `issuer` (`issuer.pem` / `issuer.key`).
 */
function newCert(dir: string, name: string, cn: string, ext: string, issuer?: string): void {
  const signer = issuer ? ['-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`] : [];
  openssl(
    [
      'req',
      '-x509',
      '-config',
      'tls.cnf',
      ...NEW_EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      `/CN=${cn}`,
      '-sha256',
      '-days',
      '2',
      '-extensions',
      ext,
      ...signer,
    ],
    dir,
  );
}

/** Signs `csr` with `issuer` through `openssl ca`, which can set both validity dates. */
function caSign(
  dir: string,
  csr: string,
  out: string,
  issuer: string,
  ext: string,
  from: Date,
  to: Date,
): void {
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'tls.cnf',
      '-in',
      csr,
      '-out',
      out,
      '-cert',
      `${issuer}.pem`,
      '-keyfile',
      `${issuer}.key`,
      '-md',
      'sha256',
      '-extensions',
      ext,
      '-startdate',
      asn1Time(from),
      '-enddate',
      asn1Time(to),
    ],
    dir,
  );
}

/** `YYYYMMDDHHMMSSZ` (UTC), as `openssl ca -startdate/-enddate` takes it. */
function asn1Time(date: Date): string {
  return `${date
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-T:]/g, '')}Z`;
}

/** SHA-256 of the DER of the first certificate in `pem`, as `AA:BB:...`. */
function fingerprint256(pem: string): string {
  const body = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)?.[1];
  if (!body) throw new Error('no certificate in PEM');
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** Generates every fixture into a fresh temp dir (about 20 openssl calls). */
export function generateTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(path.join(tmpdir(), 'quichex-tls-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    writeFileSync(path.join(dir, 'tls.cnf'), configText());
    writeFileSync(path.join(dir, 'index.txt'), '');

    // CAs.
    newCert(dir, 'root', 'quichex-test-root', 'ext_ca');
    newCert(dir, 'unknown-ca', 'quichex-test-unknown-ca', 'ext_ca');
    newCert(dir, 'client-ca', 'quichex-test-client-ca', 'ext_ca');
    newCert(dir, 'intermediate', 'quichex-test-intermediate', 'ext_intermediate', 'root');

    // Server leafs.
    newCert(dir, 'via-intermediate', 'localhost', 'ext_server_local', 'intermediate');
    newCert(dir, 'wrong-name', 'other.example', 'ext_wrong_name', 'root');
    newCert(dir, 'self-signed', 'localhost', 'ext_self_local');
    newCert(dir, 'unknown-ca-leaf', 'localhost', 'ext_leaf_local', 'unknown-ca');
    newCert(dir, 'sni-a', 'a.test', 'ext_sni_a', 'root');
    newCert(dir, 'sni-b', 'b.test', 'ext_sni_b', 'root');
    newCert(dir, 'sni-wild', '*.wild.test', 'ext_sni_wild', 'root');

    // Client certs.
    newCert(dir, 'client', 'client-1', 'ext_client', 'client-ca');
    newCert(dir, 'stranger-client', 'intruder', 'ext_client', 'unknown-ca');

    // `leaf`, `expired` and `notYetValid` share one key and CSR, signed by root with different dates.
    openssl(
      [
        'req',
        '-new',
        '-config',
        'tls.cnf',
        ...NEW_EC_KEY,
        '-keyout',
        'leaf.key',
        '-out',
        'leaf.csr',
        '-subj',
        '/CN=localhost',
      ],
      dir,
    );
    const now = Date.now();
    const at = (days: number): Date => new Date(now + days * DAY_MS);
    caSign(dir, 'leaf.csr', 'leaf.pem', 'root', 'ext_leaf_local', at(0), at(2));
    caSign(dir, 'leaf.csr', 'expired.pem', 'root', 'ext_leaf_local', at(-10), at(-1));
    caSign(dir, 'leaf.csr', 'not-yet-valid.pem', 'root', 'ext_leaf_local', at(1), at(10));
    openssl(
      [
        'pkcs8',
        '-topk8',
        '-v2',
        'aes-256-cbc',
        '-in',
        'leaf.key',
        '-passout',
        `pass:${PASSPHRASE}`,
        '-out',
        'leaf.enc.key',
      ],
      dir,
    );
  } catch (err) {
    cleanup();
    throw err;
  }

  const read = (file: string): string => readFileSync(path.join(dir, file), 'utf8');
  const pair = (name: string, keyName = name): Pair => ({
    cert: read(`${name}.pem`),
    key: read(`${keyName}.key`),
  });
  const leaf = pair('leaf');
  const intermediate = pair('intermediate');
  const viaIntermediate = pair('via-intermediate');
  return {
    dir,
    rootCa: pair('root'),
    intermediate,
    viaIntermediate: { ...viaIntermediate, chain: viaIntermediate.cert + intermediate.cert },
    leaf,
    expired: pair('expired', 'leaf'),
    notYetValid: pair('not-yet-valid', 'leaf'),
    wrongName: pair('wrong-name'),
    selfSigned: pair('self-signed'),
    unknownCaLeaf: pair('unknown-ca-leaf'),
    unknownCa: pair('unknown-ca'),
    sni: { a: pair('sni-a'), b: pair('sni-b'), wild: pair('sni-wild') },
    clientCa: pair('client-ca'),
    client: pair('client'),
    strangerClient: pair('stranger-client'),
    encrypted: { cert: leaf.cert, key: read('leaf.enc.key'), passphrase: PASSPHRASE },
    leafFingerprint256: fingerprint256(leaf.cert),
    cleanup,
  };
}

let fileFixtures: TlsFixtures | undefined;

/** Fixtures for the current test file, made once and removed after it (afterAll), like testCerts(). */
export function tlsFixtures(): TlsFixtures {
  if (!fileFixtures) {
    fileFixtures = generateTlsFixtures();
    const f = fileFixtures;
    afterAll(() => f.cleanup());
  }
  return fileFixtures;
}
