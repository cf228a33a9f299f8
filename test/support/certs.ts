/**
 * Test certificates, generated at test time with the openssl CLI: a root CA,
 * an intermediate CA it signed, a leaf for localhost / 127.0.0.1 / ::1 signed
 * by the intermediate (the certificate file holds the leaf and the
 * intermediate, as servers send them), and an unrelated CA for "wrong CA"
 * cases. Nothing is committed; each call writes a fresh temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export interface TestCerts {
  /** Directory holding every file; remove with {@link TestCerts.cleanup}. */
  readonly dir: string;
  /** The root CA the leaf chains to (PEM path). */
  readonly caCert: string;
  /** Certificate chain for `localhost`, `127.0.0.1`, `::1`: the leaf, then the intermediate CA (PEM path). */
  readonly cert: string;
  /** Leaf private key (PEM path). */
  readonly key: string;
  /** A CA that did not sign the leaf (PEM path). */
  readonly otherCaCert: string;
  /** Removes the directory. */
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-sha256',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-out',
      `${name}.pem`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

/**
 * Signs `<name>.csr` in `dir` with the CA `<ca>.pem`/`<ca>.key`, with the
 * extensions of `<name>.ext`, valid for 2 days, into `out`.
 */
export function signCsr(dir: string, name: string, ca: string, out: string): void {
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      out,
    ],
    dir,
  );
}

/** Generates a root CA, an intermediate, a leaf signed by the intermediate, and an unrelated CA. */
export function generateTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'quichex-certs-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'intermediate.key'], dir);
  openssl(
    ['req', '-new', '-key', 'intermediate.key', '-subj', '/CN=intermediate', '-out', 'intermediate.csr'],
    dir,
  );
  writeFileSync(
    path.join(dir, 'intermediate.ext'),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  signCsr(dir, 'intermediate', 'ca', 'intermediate.pem');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key'], dir);
  openssl(['req', '-new', '-key', 'leaf.key', '-subj', '/CN=localhost', '-out', 'leaf.csr'], dir);
  writeFileSync(
    path.join(dir, 'leaf.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  signCsr(dir, 'leaf', 'intermediate', 'leaf-only.pem');
  writeFileSync(
    path.join(dir, 'leaf.pem'),
    Buffer.concat([
      readFileSync(path.join(dir, 'leaf-only.pem')),
      readFileSync(path.join(dir, 'intermediate.pem')),
    ]),
  );
  // quiche reads keys as PKCS#8 or traditional PEM; PKCS#8 is the common ground.
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-out', 'leaf.pk8.pem'], dir);
  return {
    dir,
    caCert: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'leaf.pem'),
    key: path.join(dir, 'leaf.pk8.pem'),
    otherCaCert: path.join(dir, 'other-ca.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let fileCerts: TestCerts | undefined;

/** Certificates for the current test file, made once and removed after it. */
export function testCerts(): TestCerts {
  if (!fileCerts) {
    fileCerts = generateTestCerts();
    const c = fileCerts;
    afterAll(() => c.cleanup());
  }
  return fileCerts;
}
