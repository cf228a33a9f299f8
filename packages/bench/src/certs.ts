/**
 * A throwaway self-signed certificate (ECDSA P-256) made with the openssl CLI
 * in a private temp dir, for every TLS and QUIC peer of a run.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Certs } from './commands.js';

export function makeCerts(): Certs & { dispose(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'quichex-bench-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `openssl could not make a certificate: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return { cert, key, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
