import { Config, type Connection, connect, QuicError } from 'quichex';

/** Gives the handshake `ms` milliseconds; `signal` can cancel the attempt at any time. */
export async function connectWithin(
  port: number,
  ca: string,
  ms: number,
  signal?: AbortSignal,
): Promise<Connection | null> {
  const config = new Config({ alpn: ['echo'], ca });
  try {
    return await connect({ host: 'localhost', port, config, handshakeTimeout: ms, signal });
  } catch (err) {
    if (err instanceof QuicError && err.code === 'ERR_QUIC_HANDSHAKE_TIMEOUT') return null;
    throw err; // when aborted, this is signal.reason
  }
}
