import { type Connection, QuicError } from 'quichex';

/** Sends a datagram if it can go, and says why not otherwise. */
export function trySend(conn: Connection, payload: Uint8Array): string {
  try {
    conn.sendDatagram(payload);
    return 'queued';
  } catch (err) {
    if (!(err instanceof QuicError)) throw err;
    switch (err.code) {
      case 'ERR_QUIC_DATAGRAM_DISABLED': // one side did not set `dgram`
      case 'ERR_QUIC_DATAGRAM_TOO_LARGE': // above conn.maxDatagramSize
      case 'ERR_QUIC_DATAGRAM_QUEUE_FULL': // sendQueueLen datagrams already waiting
        return err.code;
      default:
        throw err; // e.g. the connection is closed
    }
  }
}
