import { type Connection, type ConnectOptions, connect, QuicError } from 'quichex';

/** Connects, or explains in one line why not. */
export async function connectOrExplain(options: ConnectOptions): Promise<Connection | string> {
  try {
    return await connect(options);
  } catch (err) {
    if (!(err instanceof QuicError)) throw err; // TypeError/RangeError: a bad option
    switch (err.code) {
      case 'QUICHE_ERR_TLS_FAIL':
        // authorizationError: node:tls's reason when we rejected the server's certificate.
        return err.authorizationError
          ? `the server's certificate was rejected: ${err.authorizationError}`
          : 'the TLS handshake failed (the server rejected our certificate, or sent an alert)';
      case 'ERR_QUIC_ALPN_MISMATCH':
        return 'the server speaks none of our ALPN protocols';
      case 'ERR_QUIC_CONNECTION_REFUSED':
        return 'the server is full (maxConnections)';
      case 'ERR_QUIC_UNREACHABLE':
        return 'nothing listens there (ICMP unreachable) or the name does not resolve';
      case 'ERR_QUIC_HANDSHAKE_TIMEOUT':
        return 'no answer within handshakeTimeout (UDP blocked?)';
      default:
        return `${err.code}: ${err.message}`;
    }
  }
}
