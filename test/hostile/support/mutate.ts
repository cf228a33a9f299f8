/**
 * Structure-aware packet mutation for the fuzzer, with fast-check
 * arbitraries: a mutation is a corpus packet (a real captured datagram)
 * and a short list of operations — bit flips, byte overwrites,
 * truncation, insertion, deletion, splicing in bytes of another packet,
 * coalescing another packet behind it, overwriting a header field at its
 * parsed offset (first byte, version, CID lengths and bytes, token length
 * and bytes, Length, packet number), and corrupting a length field with
 * edge values. fast-check only generates the operations; applying them is
 * deterministic, so a seed replays a run.
 */
import fc from 'fast-check';
import { longLayout, longType, readVarint, varint } from './raw.js';

/** One captured datagram. */
export interface CorpusEntry {
  /** Who sent it in the capture: client to server, or server to client. */
  dir: 'c2s' | 's2c';
  /** What its first packet is. */
  kind: 'initial' | 'zero-rtt' | 'handshake' | 'retry' | 'vn' | 'short';
  bytes: Buffer;
}

/** The kind of a datagram's first packet. */
export function kindOf(b: Uint8Array): CorpusEntry['kind'] {
  const t = longType(b);
  if (t === null) return 'short';
  if (b.length >= 5 && b[1] === 0 && b[2] === 0 && b[3] === 0 && b[4] === 0) return 'vn';
  return (['initial', 'zero-rtt', 'handshake', 'retry'] as const)[t]!;
}

/**
 * The corpus entries of recorded datagrams: each datagram, and each packet
 * of a coalesced one on its own (so Handshake packets, which travel behind
 * an Initial, are mutated at their own offsets too).
 */
export function withCoalescedSplit(recorded: readonly CorpusEntry[]): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const e of recorded) {
    out.push(e);
    let rest = e.bytes;
    // Bounded: a datagram holds at most a few packets; stop at anything unparsable.
    for (let i = 0; i < 8; i++) {
      const l = longType(rest) === null ? null : longLayout(rest);
      if (!l || l.end >= rest.length || l.end <= 0) break;
      const first = rest.subarray(0, l.end);
      rest = rest.subarray(l.end);
      if (i === 0) out.push({ dir: e.dir, kind: kindOf(first), bytes: Buffer.from(first) });
      out.push({ dir: e.dir, kind: kindOf(rest), bytes: Buffer.from(rest) });
    }
  }
  return out;
}

type Field = 'first' | 'version' | 'dcid' | 'scid' | 'token' | 'pn';
type LengthField = 'dcidLen' | 'scidLen' | 'tokenLen' | 'length';

/** One mutation operation. Positions are taken modulo the packet's length. */
export type Op =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; keep: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'splice'; other: number; from: number; len: number; at: number }
  | { op: 'coalesce'; other: number }
  | { op: 'field'; field: Field; bytes: Uint8Array }
  | { op: 'length'; field: LengthField; value: number };

/** A corpus packet (index, taken modulo the corpus size), the operations on it, and where it goes. */
export interface Mutation {
  base: number;
  ops: Op[];
  /** For packets to the server: straight from the fuzz socket, or through the relay (the live client's address). */
  via: 'direct' | 'relay';
}

/** Edge values for length fields: zero, one, the CID limits, varint boundaries, huge. */
const edgeLengths = fc.constantFrom(
  0,
  1,
  7,
  8,
  20,
  21,
  63,
  64,
  255,
  1199,
  1200,
  16_383,
  16_384,
  65_535,
  2 ** 30 - 1,
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('flip' as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: fc.nat({ max: 1500 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('delete' as const),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('splice' as const),
      other: fc.nat(),
      from: fc.nat(),
      len: fc.integer({ min: 1, max: 256 }),
      at: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('coalesce' as const), other: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('field' as const),
      field: fc.constantFrom<Field>('first', 'version', 'dcid', 'scid', 'token', 'pn'),
      bytes: fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 24 }),
        // versions worth trying: negotiation, v1, v2, a draft, a reserved one
        fc
          .constantFrom(0, 1, 0x6b3343cf, 0xff00001d, 0x0a0a0a0a)
          .map((v) => {
            const b = new Uint8Array(4);
            new DataView(b.buffer).setUint32(0, v);
            return b;
          }),
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('length' as const),
      field: fc.constantFrom<LengthField>('dcidLen', 'scidLen', 'tokenLen', 'length'),
      value: fc.oneof(edgeLengths, fc.nat({ max: 2048 })),
    }),
  },
);

/** 1 to 3 mutation operations. */
export const opsArb: fc.Arbitrary<Op[]> = fc.array(opArb, { minLength: 1, maxLength: 3 });

/** Mutations of corpus packets: 1 to 3 operations each. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  base: fc.nat(),
  ops: opsArb,
  via: fc.constantFrom<'direct' | 'relay'>('direct', 'relay'),
});

/** Largest datagram a mutation may produce (a UDP payload on loopback may be larger; no need). */
const MAX_LEN = 4096;

/** Where a field of a datagram's first packet is: `[start, end)`, or `null` when it has no such field. */
function fieldRange(b: Uint8Array, field: Field | LengthField): [number, number] | null {
  if (b.length === 0) return null;
  if (field === 'first') return [0, 1];
  if (longType(b) === null) {
    // Short header: DCID of 16 bytes (ours), then a 1-4 byte packet number.
    if (field === 'dcid') return b.length >= 17 ? [1, 17] : null;
    if (field === 'pn') return b.length >= 18 ? [17, Math.min(b.length, 17 + 1 + (b[0]! & 0x03))] : null;
    return null;
  }
  const l = longLayout(b);
  if (field === 'version') return b.length >= 5 ? [1, 5] : null;
  if (field === 'dcidLen') return b.length >= 6 ? [5, 6] : null;
  if (!l) return null;
  switch (field) {
    case 'dcid':
      return [6, l.scidLen];
    case 'scidLen':
      return [l.scidLen, l.scidLen + 1];
    case 'scid':
      return [l.scidLen + 1, l.scidLen + 1 + b[l.scidLen]!];
    case 'tokenLen':
    case 'token': {
      if (l.tokenLen < 0) return null;
      const t = readVarint(b, l.tokenLen);
      if (!t) return null;
      return field === 'tokenLen'
        ? [l.tokenLen, l.tokenLen + t[1]]
        : [l.tokenLen + t[1], l.tokenLen + t[1] + t[0]];
    }
    case 'length': {
      if (l.length < 0) return null;
      const v = readVarint(b, l.length);
      return v ? [l.length, l.length + v[1]] : null;
    }
    case 'pn':
      return l.pn >= 0 && l.pn < b.length ? [l.pn, Math.min(b.length, l.pn + 1 + (b[0]! & 0x03))] : null;
  }
}

function replace(b: Buffer, [start, end]: [number, number], bytes: Uint8Array): Buffer {
  return Buffer.concat([b.subarray(0, start), bytes, b.subarray(end)]);
}

/** Applies `m` to its corpus packet (a new buffer; the corpus is left alone). */
export function applyMutation(
  m: Mutation,
  corpus: readonly CorpusEntry[],
): { entry: CorpusEntry; bytes: Buffer } {
  const entry = corpus[m.base % corpus.length]!;
  return { entry, bytes: applyOps(entry.bytes, m.ops, corpus) };
}

/** Applies `ops` to a copy of `packet`; `splice` and `coalesce` take their bytes from `corpus`. */
export function applyOps(packet: Uint8Array, ops: readonly Op[], corpus: readonly CorpusEntry[]): Buffer {
  let b: Buffer = Buffer.from(packet);
  for (const o of ops) {
    const len = b.length;
    switch (o.op) {
      case 'flip':
        if (len > 0) b[o.at % len] = b[o.at % len]! ^ (1 << o.bit);
        break;
      case 'set':
        if (len > 0) b[o.at % len] = o.value;
        break;
      case 'truncate':
        b = b.subarray(0, Math.min(len, o.keep));
        break;
      case 'insert':
        b = replace(b, [o.at % (len + 1), o.at % (len + 1)], o.bytes);
        break;
      case 'delete':
        if (len > 0) b = replace(b, [o.at % len, Math.min(len, (o.at % len) + o.len)], new Uint8Array(0));
        break;
      case 'splice': {
        const other = corpus[o.other % corpus.length]!.bytes;
        const from = o.from % other.length;
        const piece = other.subarray(from, Math.min(other.length, from + o.len));
        const at = o.at % (len + 1);
        b = replace(b, [at, Math.min(len, at + piece.length)], piece);
        break;
      }
      case 'coalesce':
        b = Buffer.concat([b, corpus[o.other % corpus.length]!.bytes]);
        break;
      case 'field': {
        const r = fieldRange(b, o.field);
        if (r) b = replace(b, r, o.field === 'first' ? o.bytes.subarray(0, 1) : o.bytes);
        break;
      }
      case 'length': {
        const r = fieldRange(b, o.field);
        if (!r) break;
        const isByte = o.field === 'dcidLen' || o.field === 'scidLen';
        b = replace(b, r, isByte ? Buffer.from([o.value & 0xff]) : varint(o.value));
        break;
      }
    }
    if (b.length > MAX_LEN) b = b.subarray(0, MAX_LEN);
  }
  return b;
}
