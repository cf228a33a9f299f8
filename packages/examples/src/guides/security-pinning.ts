import { Config, connect } from 'quichex';

/**
 * Trust exactly one server certificate, named by its SHA-256 fingerprint
 * (`X509Certificate.fingerprint256`), on top of the usual chain check.
 */
export async function connectPinned(port: number, ca: string, fingerprint256: string) {
  const config = new Config({
    alpn: ['echo'],
    ca,
    // Called after the chain verified; an Error rejects the certificate and
    // becomes the cause of the QuicError that connect() rejects with.
    checkServerIdentity: (host, cert) =>
      cert.fingerprint256 === fingerprint256
        ? undefined
        : new Error(`${host} presented an unpinned certificate`),
  });
  return connect({ host: 'localhost', port, config });
}
