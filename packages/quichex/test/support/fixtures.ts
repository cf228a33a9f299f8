/**
 * Shared set-up for quichex tests: certificates generated once per test
 * file, matching client/server configs, and an echo listener on loopback.
 */
import { testCerts } from '../../../../test/support/certs.js';
import { Config, type ConfigOptions, type Connection, type Listener, listen } from '../../src/index.js';

export { testCerts };

/** A server config with the test certificate. */
export function serverConfig(options: ConfigOptions = {}): Config {
  const c = testCerts();
  return new Config({ alpn: ['test'], certChainFile: c.cert, privKeyFile: c.key, ...options });
}

/** A client config trusting the test CA. */
export function clientConfig(options: ConfigOptions = {}): Config {
  return new Config({ alpn: ['test'], caFile: testCerts().caCert, ...options });
}

/** Echoes every stream of every connection: bidi streams back on themselves. */
export async function echoStreams(conn: Connection): Promise<void> {
  for await (const stream of conn.streams()) {
    void (async () => {
      try {
        if (stream.direction === 'bidi') {
          for await (const chunk of stream) await stream.write(chunk);
          await stream.end();
        } else {
          const out = await conn.openUniStream();
          for await (const chunk of stream) await out.write(chunk);
          await out.end();
        }
      } catch {
        // a reset stream or closing connection ends this echo
      }
    })();
  }
}

/** An echo server on 127.0.0.1 (or `host`), port 0. */
export async function echoServer(
  options: { host?: string; config?: Config; retry?: boolean } = {},
): Promise<Listener> {
  return listen({
    host: options.host ?? '127.0.0.1',
    port: 0,
    config: options.config ?? serverConfig(),
    retry: options.retry ?? false,
    onConnection: (conn) => echoStreams(conn),
  });
}
