/**
 * A header list packed in native memory for the `quiche_h3_send_*`
 * functions. koffi converts an array of `{ name, name_len, value,
 * value_len }` objects field by field at every call (≈5 µs for six
 * fields); writing the `quiche_h3_header[]` and its bytes into one reused
 * native block costs ≈0.8 µs. quiche encodes the list during the call and
 * keeps no pointer into it, so one block serves every call in turn.
 *
 * @module
 */
import koffi from 'koffi';
import type { H3HeaderArray } from './handles.js';

// Entries are written as 32-bit halves, low half first: little-endian, as on every platform libquiche is built for.

/** Bytes of one `quiche_h3_header`: two pointer + length pairs. */
const ENTRY = 32;

/**
 * A reusable native block holding one header list at a time.
 *
 * @example
 * ```ts
 * const block = new H3HeaderBlock();
 * const n = block.pack([[':status', '200'], ['content-type', 'text/plain']]);
 * if (n >= 0) quiche_h3_send_response(h3, conn, streamId, block.headers, n, false);
 * block.free();
 * ```
 */
export class H3HeaderBlock {
  /** The packed `quiche_h3_header[]`, valid until the next {@link H3HeaderBlock.pack}. */
  readonly headers: H3HeaderArray;
  /** Bytes the block holds: the entries (32 bytes each) and the names and values. */
  readonly capacity: number;
  readonly #bytes: Buffer;
  readonly #words: Uint32Array;
  // The block's address as two 32-bit halves: entries are written as
  // numbers, since BigInt arithmetic per field would cost what packing saves.
  readonly #lo: number;
  readonly #hi: number;
  #freed = false;

  /** Allocates a block of `capacity` bytes (default 16 KiB). */
  constructor(capacity = 16 * 1024) {
    if (!Number.isInteger(capacity) || capacity < ENTRY || capacity % 8 !== 0)
      throw new RangeError(`capacity must be a multiple of 8 of at least ${ENTRY}, got ${capacity}`);
    this.capacity = capacity;
    this.headers = koffi.alloc('uint8_t', capacity) as H3HeaderArray;
    const memory = koffi.view(this.headers, capacity);
    this.#bytes = Buffer.from(memory);
    this.#words = new Uint32Array(memory);
    this.#lo = Number(this.headers & 0xffffffffn);
    this.#hi = Number(this.headers >> 32n);
  }

  /**
   * Packs `fields` (names and values as latin1 strings: one byte per
   * character, as HTTP field bytes are) and returns how many there are, or
   * -1 when they do not fit (pass them as an array of objects then).
   */
  pack(fields: readonly (readonly [string, string])[]): number {
    if (this.#freed) throw new Error('the header block was freed');
    const count = fields.length;
    let at = count * ENTRY;
    let size = at;
    for (const [name, value] of fields) size += name.length + value.length;
    if (size > this.capacity) return -1;
    const words = this.#words;
    for (let i = 0, w = 0; i < count; i++, w += ENTRY / 4) {
      const [name, value] = fields[i]!;
      this.#pointer(w, at);
      words[w + 2] = this.#bytes.write(name, at, 'latin1');
      words[w + 3] = 0;
      at += name.length;
      this.#pointer(w + 4, at);
      words[w + 6] = this.#bytes.write(value, at, 'latin1');
      words[w + 7] = 0;
      at += value.length;
    }
    return count;
  }

  /** Writes the address of byte `offset` of the block as the 64-bit word at `word`. */
  #pointer(word: number, offset: number): void {
    const lo = this.#lo + offset;
    this.#words[word] = lo >>> 0;
    this.#words[word + 1] = this.#hi + (lo > 0xffffffff ? 1 : 0);
  }

  /** Frees the native block (also done when the process exits). Idempotent. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    koffi.free(this.headers);
  }
}
