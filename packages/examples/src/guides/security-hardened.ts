import { Config, type Listener, listen } from 'quichex';
import { echoStreams } from './server-echo.js';

/** A public-facing listener: address validation, a connection cap, short idle time, few streams. */
export function startHardenedServer(cert: string, key: string, maxConnections = 10_000): Promise<Listener> {
  const config = new Config({
    alpn: ['echo'],
    cert,
    key,
    maxIdleTimeout: 15_000, // drop silent peers after 15 s
    initialMaxStreamsBidi: 16, // concurrent streams a client may open
    initialMaxStreamsUni: 0,
    initialMaxData: 4 * 1024 * 1024, // memory a client can make us buffer
    maxAmplificationFactor: 3, // bytes sent ≤ 3 × bytes received until the address is validated
  });
  return listen({
    host: '127.0.0.1',
    port: 0,
    config,
    retry: true, // a Retry round-trip proves the client's address before any state is kept
    maxConnections, // beyond it: CONNECTION_REFUSED
    onConnection: echoStreams,
  });
}
