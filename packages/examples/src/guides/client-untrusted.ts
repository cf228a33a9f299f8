import { Config, connect, QuicError } from 'quichex';

/**
 * Connects without naming a CA: the server's certificate is checked against
 * Node's root certificates (plus `NODE_EXTRA_CA_CERTS`), as node:tls does.
 */
export async function connectWithDefaultTrust(port: number): Promise<string> {
  const config = new Config({ alpn: ['echo'] });
  try {
    const conn = await connect({ host: 'localhost', port, config });
    await conn.close();
    return 'trusted';
  } catch (err) {
    // node:tls's code for what was wrong: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', …
    if (err instanceof QuicError && err.authorizationError) return err.authorizationError;
    throw err;
  } finally {
    config.free();
  }
}
