import { type Connection, type ConnectOptions, connect, QuicError } from 'quichex';

/** Connects, or explains in one line why not. */
export async function connectOrExplain(options: ConnectOptions): Promise<Connection | string> {
  try {
    return await connect(options);
  } catch (err) {
    if (!(err instanceof QuicError)) throw err; // TypeError/RangeError: a bad option
    switch (err.code) {
      case 'QUICHE_ERR_TLS_FAIL':
        return 'the certificate was rejected (wrong CA or name), or the server rejected ours';
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
