/**
 * Test certificates, generated at test time with the openssl CLI: a CA, a
 * leaf for localhost / 127.0.0.1 / ::1 signed by it, and an unrelated CA for
 * "wrong CA" cases. Nothing is committed; each call writes a fresh temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export interface TestCerts {
  /** Directory holding every file; remove with {@link TestCerts.cleanup}. */
  readonly dir: string;
  /** CA certificate that signed the leaf (PEM path). */
  readonly caCert: string;
  /** Leaf certificate chain for `localhost`, `127.0.0.1`, `::1` (PEM path). */
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

/** Generates a CA, a leaf signed by it, and an unrelated CA. */
export function generateTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'quichex-certs-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key'], dir);
  openssl(['req', '-new', '-key', 'leaf.key', '-subj', '/CN=localhost', '-out', 'leaf.csr'], dir);
  writeFileSync(
    path.join(dir, 'leaf.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.pem',
    ],
    dir,
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
