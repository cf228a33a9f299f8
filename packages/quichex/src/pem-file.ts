/**
 * PEM given in memory, loaded through quiche's file-only loaders.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pem } from './config-options.js';
import { toBytes } from './validate.js';

/** quiche loads PEM only from files: write it to a private temp dir, load, remove. */
export function withPemFile<T>(option: string, pem: Pem, load: (file: string) => T): T {
  const bytes = toBytes(option, pem);
  if (!Buffer.from(bytes.subarray(0, 4096)).toString('latin1').includes('-----BEGIN')) {
    throw new TypeError(`${option} must be PEM text (-----BEGIN ...)`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'quichex-pem-')); // created 0700
  const file = path.join(dir, `${option}.pem`);
  try {
    writeFileSync(file, bytes, { mode: 0o600 });
    return load(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
