/**
 * Random bytes for connection IDs and stateless-reset tokens, drawn from a
 * pooled block of CSPRNG output instead of one `randomBytes()` call each: a
 * handshake needs five such values (one SCID, two spare SCIDs and their
 * tokens), and a synchronous `randomBytes()` call costs microseconds of its
 * own on top of the bytes.
 *
 * Each value is a view into the current block, never handed out twice; a
 * new block replaces the old one when it runs out (the old one stays valid
 * for whoever still holds a view of it).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

const BLOCK = 4096;

let block = Buffer.alloc(0);
let used = 0;

/** `n` (at most 4096) fresh random bytes. */
export function randomSlice(n: number): Buffer {
  if (used + n > block.length) {
    block = randomBytes(BLOCK);
    used = 0;
  }
  const out = block.subarray(used, used + n);
  used += n;
  return out;
}
