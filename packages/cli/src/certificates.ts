/**
 * A self-signed certificate for local use (demos, `quichex serve` without
 * --cert): EC P-256, valid for localhost, 127.0.0.1 and ::1, acting as its
 * own trust anchor so a client can verify it by loading it as its CA.
 */
import { generate } from 'selfsigned';

/** PEM certificate and key, plus the certificate's SHA-256 fingerprint. */
export interface LocalCertificate {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** Generates a fresh self-signed certificate for `localhost`. */
export async function generateLocalCertificate(days = 30): Promise<LocalCertificate> {
  const now = Date.now();
  const result = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + days * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: result.cert, key: result.private, fingerprint: result.fingerprint };
}

/**
 * The certificate `quichex serve` uses when none is given: generated once,
 * kept (key readable by the owner only) under `dir`, and reused after.
 * Returns the paths and whether it was just created.
 */
export async function localCertificateFiles(
  dir: string,
): Promise<{ certFile: string; keyFile: string; fingerprint: string; created: boolean }> {
  const { existsSync, mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const { X509Certificate } = await import('node:crypto');
  const certFile = path.join(dir, 'localhost-cert.pem');
  const keyFile = path.join(dir, 'localhost-key.pem');
  let created = false;
  if (
    !existsSync(certFile) ||
    !existsSync(keyFile) ||
    new Date(new X509Certificate(readFileSync(certFile)).validTo) < new Date()
  ) {
    const c = await generateLocalCertificate(365);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, c.key, { mode: 0o600 });
    writeFileSync(certFile, c.cert, { mode: 0o644 });
    created = true;
  }
  const fingerprint = new X509Certificate(readFileSync(certFile)).fingerprint256;
  return { certFile, keyFile, fingerprint, created };
}
