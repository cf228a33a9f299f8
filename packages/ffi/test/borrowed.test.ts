/**
 * Copying bytes out of native memory (what quiche lends): exact bytes, an
 * independent copy, latin1 decoding of every byte value, and fields longer
 * than the decoder's scratch buffer.
 */
import koffi from 'koffi';
import { afterAll, describe, expect, it } from 'vitest';
import { copyBorrowed, copyInto, readLatin1 } from '../src/index.js';

const SIZE = 40 * 1024;
const block = koffi.alloc('uint8_t', SIZE) as bigint;
afterAll(() => koffi.free(block));
/** Writes `bytes` at the start of the native block and returns its address. */
function lend(bytes: Uint8Array): bigint {
  Buffer.from(koffi.view(block, SIZE)).set(bytes);
  return block;
}

describe('copying borrowed bytes', () => {
  it('copyBorrowed returns the bytes, detached from the native memory', () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const ptr = lend(bytes);
    const copy = copyBorrowed(ptr, 300n);
    expect(copy).toEqual(bytes);
    lend(new Uint8Array(300)); // quiche reuses its buffer
    expect(copy).toEqual(bytes);
    expect(copyBorrowed(0n, 5)).toEqual(new Uint8Array(0));
    expect(copyBorrowed(ptr, 0)).toEqual(new Uint8Array(0));
  });

  it('copyInto writes at the start of the destination and nowhere else', () => {
    const ptr = lend(Uint8Array.of(1, 2, 3, 4));
    const dst = new Uint8Array(8).fill(9);
    copyInto(dst, ptr, 3);
    expect([...dst]).toEqual([1, 2, 3, 9, 9, 9, 9, 9]);
  });

  it('readLatin1 maps each byte to one character, 0 to 255', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = readLatin1(lend(all), 256);
    expect(text.length).toBe(256);
    expect([...text].map((c) => c.charCodeAt(0))).toEqual([...all]);
    expect(readLatin1(lend(Buffer.from('caf\u00e9', 'latin1')), 4n)).toBe('caf\u00e9');
    expect(readLatin1(block, 0)).toBe('');
  });

  it('readLatin1 reads a field longer than its scratch buffer whole', () => {
    const long = Buffer.alloc(SIZE, 'x');
    long[SIZE - 1] = 0xff;
    const text = readLatin1(lend(long), SIZE);
    expect(text.length).toBe(SIZE);
    expect(text.startsWith('xxx')).toBe(true);
    expect(text.charCodeAt(SIZE - 1)).toBe(0xff);
  });
});
