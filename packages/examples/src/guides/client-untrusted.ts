import { Config, connect, QuicError } from 'quichex';

/** Connects without naming a CA: the server's certificate is checked against the system bundle. */
export async function connectWithSystemCAs(port: number): Promise<string> {
  const config = new Config({ alpn: ['echo'] });
  try {
    const conn = await connect({ host: 'localhost', port, config });
    await conn.close();
    return 'trusted';
  } catch (err) {
    if (err instanceof QuicError && err.code === 'QUICHE_ERR_TLS_FAIL') return 'certificate rejected';
    throw err;
  }
}
