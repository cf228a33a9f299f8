/**
 * Helpers for the out-parameter convention of the bindings.
 *
 * Out-params are preallocated typed arrays passed by address: `bool *` is a
 * `Uint8Array`, `uint32_t *`/`socklen_t *` a `Uint32Array`, `size_t *` and
 * `uint64_t *` a `BigUint64Array`, and a borrowed `const uint8_t **` a
 * `BigUint64Array` that receives the pointer. Borrowed bytes belong to quiche
 * and are only valid until its next call on the same object, so they are
 * copied out with {@link copyBorrowed}.
 *
 * @module
 */
import koffi from 'koffi';
import type { Pointer } from './handles.js';

type Memcpy = (dst: Uint8Array, src: bigint, n: number) => unknown;
let memcpy: Memcpy | null | undefined;

/**
 * libc's `memcpy`, where there is a glibc to load it from. Copying native
 * bytes through `koffi.view` makes an external ArrayBuffer each time, which
 * costs about ten times the copy (≈2 µs against ≈0.2 µs for a header field)
 * and burdens the garbage collector.
 */
function nativeMemcpy(): Memcpy | null {
  if (memcpy === undefined) {
    try {
      memcpy = koffi.load('libc.so.6').func('void *memcpy(void *dst, uint64_t src, size_t n)') as Memcpy;
    } catch {
      memcpy = null;
    }
  }
  return memcpy;
}

/** Copies `n` native bytes at `ptr` into the start of `dst` (which must have room for them). */
export function copyInto(dst: Uint8Array, ptr: bigint, n: number): void {
  const copy = nativeMemcpy();
  if (copy !== null) copy(dst, ptr, n);
  else dst.set(new Uint8Array(koffi.view(ptr, n)));
}

/**
 * Copies `len` bytes that quiche lent through a `const uint8_t **` out-param.
 * Returns an empty array for a length of 0 (the pointer may be unset then).
 */
export function copyBorrowed(ptr: Pointer | number, len: number | bigint): Uint8Array {
  const n = Number(len);
  if (n === 0 || ptr === 0n || ptr === 0) return new Uint8Array(0);
  const out = new Uint8Array(n);
  copyInto(out, BigInt(ptr), n);
  return out;
}

const scratch = Buffer.allocUnsafe(16 * 1024);

/** Reads `len` native bytes at `ptr` as a latin1 string (one character per byte, as HTTP field bytes are). */
export function readLatin1(ptr: bigint, len: number | bigint): string {
  const n = Number(len);
  if (n === 0) return '';
  if (n > scratch.length) return Buffer.from(copyBorrowed(ptr, n)).toString('latin1');
  copyInto(scratch, ptr, n);
  return scratch.toString('latin1', 0, n);
}

/** Reads the bytes named by a `(const uint8_t **out, size_t *out_len)` out-param pair. */
export function readBorrowed(out: BigUint64Array, outLen: BigUint64Array): Uint8Array {
  return copyBorrowed(out[0]!, outLen[0]!);
}

/** Reads a NUL-free string of `len` bytes from native memory (for the h3 header/priority callbacks). */
export function readString(ptr: Pointer, len: number | bigint): string {
  return Buffer.from(copyBorrowed(ptr, len)).toString('utf8');
}

/**
 * Encodes a list of protocol names into ALPN wire format (each name prefixed
 * with its length), as `quiche_config_set_application_protos` expects.
 *
 * @throws {RangeError} for an empty list, an empty name or a name over 255 bytes.
 */
export function encodeAlpn(protocols: readonly string[]): Uint8Array {
  if (protocols.length === 0) throw new RangeError('ALPN list must name at least one protocol');
  const parts = protocols.map((p) => Buffer.from(p, 'utf8'));
  for (const [i, p] of parts.entries()) {
    if (p.length === 0 || p.length > 255) {
      throw new RangeError(`ALPN protocol ${JSON.stringify(protocols[i])} must be 1..255 bytes`);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out[off++] = p.length;
    out.set(p, off);
    off += p.length;
  }
  return out;
}
