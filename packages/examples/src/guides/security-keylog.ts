import { createWriteStream } from 'node:fs';
import { Config, connect, type Listener } from 'quichex';

/** Decrypt a server's traffic in Wireshark: append its TLS secrets to a key log file. */
export function logServerKeys(listener: Listener, file: string): void {
  const out = createWriteStream(file, { flags: 'a', mode: 0o600 });
  // Lines come in NSS key log format, newline included, as node:tls's 'keylog' event.
  listener.on('keylog', (line) => out.write(line));
  listener.once('close', () => out.end());
}

/** A client's secrets, from its first handshake packet on. */
export async function connectLoggingKeys(port: number, ca: string, lines: Buffer[]) {
  return connect({
    host: 'localhost',
    port,
    config: new Config({ alpn: ['echo'], ca }),
    onKeylog: (line) => lines.push(line),
  });
}
