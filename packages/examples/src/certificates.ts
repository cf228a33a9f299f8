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
