import { Config, type Listener, listen } from 'quichex';
import { echoStreams } from './server-echo.js';

/** PEM certificate chain and key. */
export interface Identity {
  cert: string;
  key: string;
}

/** One listener, a certificate per name: the client's SNI picks it, others get the default. */
export function startVirtualHosts(fallback: Identity, hosts: Record<string, Identity>): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    // Keys are read from memory; names may be exact ('api.example.com') or
    // wildcards for one label ('*.example.com'); exact names win.
    config: new Config({ alpn: ['echo'], cert: fallback.cert, key: fallback.key, sni: hosts }),
    onConnection: echoStreams,
  });
}
