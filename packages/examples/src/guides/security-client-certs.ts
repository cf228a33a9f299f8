import { Config, connect, type Listener, listen } from 'quichex';
import { echoStreams } from './server-echo.js';

/** Server side of mutual TLS: ask for client certificates and verify them against `clientCa`. */
export function startMutualTlsServer(cert: string, key: string, clientCa: string): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    config: new Config({ alpn: ['echo'], cert, key, ca: clientCa, verifyPeer: true }),
    onConnection: echoStreams,
  });
}

/** Client side: present a certificate (and still verify the server's). */
export async function connectWithCertificate(port: number, serverCa: string, cert: string, key: string) {
  const config = new Config({ alpn: ['echo'], ca: serverCa, cert, key });
  // In TLS 1.3 the client's handshake completes before the server has checked its
  // certificate: a rejection usually arrives after connect() resolved, as the
  // connection closing with QUICHE_ERR_TLS_FAIL.
  return connect({ host: 'localhost', port, config });
}
