/**
 * What every example needs: a server and a client config. A self-signed
 * certificate for localhost is generated in memory, and the client trusts
 * exactly that certificate, so the examples run anywhere with no files.
 */
import { generateLocalCertificate } from '@quichex/cli';
import { Config, type ConfigOptions } from 'quichex';

/** A matching pair of configs for one ALPN. */
export interface ConfigPair {
  readonly server: Config;
  readonly client: Config;
  /** Frees both configs. */
  free(): void;
}

/** Generates a certificate and returns server and client configs that trust each other. */
export async function localConfigs(alpn: string, options: ConfigOptions = {}): Promise<ConfigPair> {
  const { cert, key } = await generateLocalCertificate();
  const server = new Config({ alpn: [alpn], cert, key, ...options });
  const client = new Config({ alpn: [alpn], ca: cert, ...options });
  return {
    server,
    client,
    free: () => {
      server.free();
      client.free();
    },
  };
}

/** Whether this module is the program being run (`node dist/<example>.js`). */
export function isMain(url: string): boolean {
  return url === `file://${process.argv[1]}`;
}
