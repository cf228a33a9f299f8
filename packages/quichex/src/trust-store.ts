/**
 * Trust stores: the one a client uses when its config names no `ca`
 * (Node's bundled roots, `tls.rootCertificates`, plus the file named by
 * `NODE_EXTRA_CA_CERTS`, as node:tls does), and those made from `ca`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import * as q from '@quichex/ffi';

const ERR_LEN = 256;
const registry = new FinalizationRegistry<q.QuichexTrust>((handle) => q.quichex_trust_free(handle));
let nodeDefault: Trust | null = null;

/**
 * A native trust store. Freed when garbage-collected: connections still in
 * their handshake hold it (through their authorizer) after their Config
 * was freed.
 */
export class Trust {
  readonly handle: q.QuichexTrust;

  /** Throws a TypeError naming `option` when `pem` holds no certificate or is malformed. */
  constructor(option: string, pem: Uint8Array) {
    const err = new Uint8Array(ERR_LEN);
    const handle = q.quichex_trust_new(pem, pem.length, err, err.length);
    if (handle === null) throw new TypeError(`${option}: ${q.readErrorBuffer(err).replace(/^ca /, '')}`);
    this.handle = handle;
    registry.register(this, handle);
  }
}

/**
 * Node's default trust: its bundled root certificates and, when the
 * environment names one, the `NODE_EXTRA_CA_CERTS` file (read once, at
 * first use; an unreadable file is reported as a process warning and
 * skipped, as Node does). Made once per process and never freed.
 */
export function nodeDefaultTrust(): Trust {
  if (nodeDefault !== null) return nodeDefault;
  let pem = rootCertificates.join('\n');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra) {
    try {
      pem += `\n${readFileSync(extra, 'utf8')}`;
    } catch (err) {
      process.emitWarning(
        `Ignoring extra certs from \`${extra}\`, load failed: ${(err as Error).message}`,
        'QuichexWarning',
      );
    }
  }
  nodeDefault = new Trust('NODE_EXTRA_CA_CERTS', Buffer.from(pem));
  return nodeDefault;
}
