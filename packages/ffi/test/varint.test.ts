/**
 * QUIC variable-length integers through quiche_put_varint/quiche_get_varint:
 * the four encodings of RFC 9000 §16 and their buffer errors.
 */
import { describe, expect, it } from 'vitest';
import { QuicheError, quiche_get_varint, quiche_put_varint } from '../src/index.js';

const { QUICHE_ERR_BUFFER_TOO_SHORT } = QuicheError;

/** RFC 9000 Appendix A.1's sample encodings, plus each length's boundaries. */
const CASES: Array<{ value: bigint; bytes: string }> = [
  { value: 0n, bytes: '00' },
  { value: 37n, bytes: '25' },
  { value: 63n, bytes: '3f' },
  { value: 64n, bytes: '4040' },
  { value: 15_293n, bytes: '7bbd' },
  { value: 16_383n, bytes: '7fff' },
  { value: 16_384n, bytes: '80004000' },
  { value: 494_878_333n, bytes: '9d7f3e7d' },
  { value: 1_073_741_823n, bytes: 'bfffffff' },
  { value: 1_073_741_824n, bytes: 'c000000040000000' },
  { value: 151_288_809_941_952_652n, bytes: 'c2197c5eff14e88c' },
  { value: (1n << 62n) - 1n, bytes: 'ffffffffffffffff' },
];

describe('varints', () => {
  for (const { value, bytes } of CASES) {
    it(`round-trips ${value} as ${bytes.length / 2} byte(s)`, () => {
      const buf = new Uint8Array(8).fill(0xee);
      expect(quiche_put_varint(buf, buf.length, value)).toBe(0);
      const len = bytes.length / 2;
      expect(Buffer.from(buf.subarray(0, len)).toString('hex')).toBe(bytes);
      expect(buf[len] ?? 0xee).toBe(0xee); // nothing written past the encoding

      const out = new BigUint64Array(1);
      expect(quiche_get_varint(buf, buf.length, out)).toBe(len);
      expect(out[0]).toBe(value);
    });
  }

  it('accepts number and bigint inputs alike', () => {
    const a = new Uint8Array(8);
    const b = new Uint8Array(8);
    quiche_put_varint(a, a.length, 494_878_333);
    quiche_put_varint(b, b.length, 494_878_333n);
    expect(a).toEqual(b);
  });

  it('fails to put a value into a buffer shorter than its encoding', () => {
    for (const [value, need] of [
      [63n, 1],
      [16_383n, 2],
      [1_073_741_823n, 4],
      [(1n << 62n) - 1n, 8],
    ] as const) {
      const exact = new Uint8Array(need);
      expect(quiche_put_varint(exact, exact.length, value)).toBe(0);
      if (need > 1) {
        const short = new Uint8Array(need - 1);
        expect(quiche_put_varint(short, short.length, value), `${value}`).toBe(QUICHE_ERR_BUFFER_TOO_SHORT);
      }
    }
  });

  it('fails to get a value from a truncated encoding and leaves the output alone', () => {
    const buf = Uint8Array.from(Buffer.from('c2197c5eff14e88c', 'hex'));
    const out = new BigUint64Array([42n]);
    expect(quiche_get_varint(buf, 7, out)).toBe(QUICHE_ERR_BUFFER_TOO_SHORT);
    expect(quiche_get_varint(buf, 1, out)).toBe(QUICHE_ERR_BUFFER_TOO_SHORT);
    expect(out[0]).toBe(42n);
    // Reading a 2-byte prefix of the same buffer as its own buffer works.
    const two = Uint8Array.from([0x7b, 0xbd, 0xff]);
    expect(quiche_get_varint(two, 2, out)).toBe(2);
    expect(out[0]).toBe(15_293n);
  });
});
