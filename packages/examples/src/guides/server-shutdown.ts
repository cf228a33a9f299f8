import { Config, type Listener, listen } from 'quichex';
import { echoStreams } from './server-echo.js';

/** A server that shuts down gracefully when `signal` aborts. */
export function serveUntil(signal: AbortSignal, cert: string, key: string): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    config: new Config({ alpn: ['echo'], cert, key }),
    onConnection: echoStreams,
    // On abort the listener stops accepting, closes every connection (application
    // code 0, reason 'server closing'), waits up to 5 s for them, then closes its socket.
    signal,
  });
}
