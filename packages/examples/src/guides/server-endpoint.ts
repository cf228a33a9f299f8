import { Config, createEndpoint, type Endpoint } from 'quichex';
import { echoStreams } from './server-echo.js';

/** A peer that accepts and dials on one UDP port, as peer-to-peer applications need. */
export async function startPeer(cert: string, key: string): Promise<Endpoint> {
  const endpoint = await createEndpoint({ host: '127.0.0.1', port: 0 });
  endpoint.listen({ config: new Config({ alpn: ['echo'], cert, key }), onConnection: echoStreams });
  return endpoint;
}

/** Dials `port` from `peer`'s own socket and echoes `text` there. */
export async function greet(peer: Endpoint, port: number, ca: string, text: string) {
  const conn = await peer.connect({
    host: '127.0.0.1',
    port,
    serverName: 'localhost',
    config: new Config({ alpn: ['echo'], ca }),
  });
  const stream = await conn.openStream();
  await stream.end(text);
  const reply = (await stream.readAll()).toString();
  await conn.close();
  // The connection left from the port the peer listens on.
  return { reply, fromPort: conn.localAddress.port };
}
