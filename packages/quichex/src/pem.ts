/**
 * PEM options, given in memory or as files, checked and read into bytes.
 * Keys go from here straight to BoringSSL's memory loaders: nothing is
 * written to disk.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Pem } from './config-options.js';
import { checkString, describe, toBytes } from './validate.js';

/** `value` as bytes, after checking that it looks like PEM (TypeError naming `option` if not). */
export function pemBytes(option: string, value: Pem): Uint8Array {
  const bytes = toBytes(option, value);
  if (!Buffer.from(bytes.subarray(0, 4096)).toString('latin1').includes('-----BEGIN')) {
    throw new TypeError(`${option} must be PEM text (-----BEGIN ...)`);
  }
  return bytes;
}

/** One PEM, or a list of them (as node:tls's `ca`), as one PEM text. */
export function pemList(option: string, value: Pem | readonly Pem[]): Uint8Array {
  if (!Array.isArray(value)) return pemBytes(option, value as Pem);
  if (value.length === 0) throw new TypeError(`${option} must not be an empty array`);
  const parts: Uint8Array[] = [];
  for (const [i, one] of (value as readonly Pem[]).entries()) {
    parts.push(pemBytes(`${option}[${i}]`, one), Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** The contents of a PEM file (TypeError naming `option` when it cannot be read). */
export function readPemFile(option: string, file: string): Uint8Array {
  checkString(option, file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new TypeError(`${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return pemBytes(`${option} ${file}`, bytes);
}

/** Every PEM file of a directory (OpenSSL's hashed CA directories included), as one PEM text. */
export function readPemDirectory(option: string, dir: string): Uint8Array {
  checkString(option, dir);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new TypeError(`${option}: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const parts: Buffer[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      const text = readFileSync(file);
      if (text.includes('-----BEGIN CERTIFICATE')) parts.push(text, Buffer.from('\n'));
    } catch {
      // A dangling link or unreadable file: not a certificate we could use.
    }
  }
  if (parts.length === 0) throw new TypeError(`${option}: ${dir} holds no PEM certificate`);
  return Buffer.concat(parts);
}

/** Checks a passphrase option (string or bytes). */
export function passphraseBytes(option: string, value: unknown): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' && !(value instanceof Uint8Array))
    throw new TypeError(`${option} must be a string or a Uint8Array, got ${describe(value)}`);
  return toBytes(option, value);
}
