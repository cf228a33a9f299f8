import { Config, type Connection, connect, type Listener, listen } from 'quichex';
import { echoStreams } from './server-echo.js';

/** Server side of mutual TLS: every client must present a certificate that `clientCa` signed. */
export function startMutualTlsServer(
  cert: string,
  key: string,
  clientCa: string,
  onClient: (name: string | null) => void = () => {},
): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    // A client that sends no certificate, or one clientCa did not sign, fails
    // its handshake (rejectUnauthorized defaults to true) and never gets here.
    config: new Config({ alpn: ['echo'], cert, key, ca: clientCa, requestCert: true }),
    onConnection: (conn) => {
      onClient(clientName(conn));
      return echoStreams(conn);
    },
  });
}

/** The common name of a connection's verified client certificate. */
export function clientName(conn: Connection): string | null {
  const subject = conn.peerCertificate()?.subject ?? '';
  return /^CN=(.*)$/m.exec(subject)?.[1] ?? null;
}

/** Client side: present a certificate (and still verify the server's). */
export async function connectWithCertificate(port: number, serverCa: string, cert: string, key: string) {
  const config = new Config({ alpn: ['echo'], ca: serverCa, cert, key });
  // In TLS 1.3 the client's handshake completes before the server has checked its
  // certificate: a rejection arrives after connect() resolved, as the connection
  // closing with QUICHE_ERR_TLS_FAIL (TLS alert 116 when it sent none).
  return connect({ host: 'localhost', port, config });
}
