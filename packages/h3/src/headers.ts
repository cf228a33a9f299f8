/**
 * Header lists on the wire: encoding for quiche's `quiche_h3_header[]`,
 * decoding from `quiche_h3_event_for_each_header`, and the rules RFC 9114
 * §4.2–4.3 set for fields and pseudo-header fields.
 *
 * @module
 */
import * as q from '@quichex/ffi';

/** A header list as received: lower-case names and their values, in order. */
export type FieldList = [name: string, value: string][];

/** Fields that are meaningful only to a single HTTP/1.1 connection (RFC 9114 §4.2). */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

let collecting: FieldList = [];
// One native callback for the process; each walk points `collecting` at its list.
let headerCallback: bigint | null = null;

/** The header list of a HEADERS event. */
export function readFields(ev: q.QuicheH3Event): FieldList {
  headerCallback ??= q.registerH3HeaderCallback((name, value) => {
    collecting.push([name, value]);
    return 0;
  });
  const out: FieldList = [];
  collecting = out;
  try {
    q.quiche_h3_event_for_each_header(ev, headerCallback as never, null);
  } finally {
    collecting = [];
  }
  return out;
}

/**
 * The largest header section sent, by RFC 9114's measure (names and values
 * plus 32 bytes per field). quiche sends a header section only when all of
 * it fits in the stream's capacity, which the congestion window bounds
 * (10 packets of 1350 bytes on a new connection), so a larger one could
 * wait forever on an otherwise idle connection. Node's HTTP/1 default
 * limit is 16 KiB, nginx's 8 KiB per line.
 */
export const MAX_SENT_FIELD_SECTION = 12 * 1024;

/** A header section's size as RFC 9114 §4.2.2 measures it. */
export function fieldSectionSize(fields: FieldList): number {
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + 32;
  return size;
}

// One native block for the process: quiche copies a list during the call
// that takes it, so each send packs into the same memory. Any section
// within MAX_SENT_FIELD_SECTION fits (an entry takes 32 bytes, as many as
// the measure counts per field).
let block: q.H3HeaderBlock | null = null;

/**
 * Packs a header list (names already lower case, at most
 * MAX_SENT_FIELD_SECTION) for a `quiche_h3_send_*` call, and returns its
 * field count. The list stays valid until the next call.
 */
export function packFields(fields: FieldList): { headers: q.H3HeaderArray; count: number } {
  block ??= new q.H3HeaderBlock(MAX_SENT_FIELD_SECTION);
  const count = block.pack(fields);
  if (count < 0) throw new RangeError(`a header section of ${fieldSectionSize(fields)} bytes is too large`);
  return { headers: block.headers, count };
}

/** What is wrong with a received field list, or `null` when it follows RFC 9114's rules. */
export function fieldProblem(fields: FieldList, role: 'request' | 'response'): string | null {
  let regular = false;
  const seen = new Set<string>();
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      if (seen.has(name)) return `pseudo-header ${name} repeated`;
      seen.add(name);
      const allowed =
        role === 'request' ? [':method', ':scheme', ':authority', ':path', ':protocol'] : [':status'];
      if (!allowed.includes(name)) return `pseudo-header ${name} is not allowed in a ${role}`;
      continue;
    }
    regular = true;
    if (!TOKEN.test(name)) return `field name ${JSON.stringify(name)} is not a lower-case token`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value.toLowerCase() !== 'trailers') return 'te other than "trailers"';
    if (/[\0\r\n]/.test(value)) return `field ${name} has a forbidden character`;
  }
  if (role === 'response') return seen.has(':status') ? null : 'missing :status';
  if (!seen.has(':method')) return 'missing :method';
  const method = fields.find(([n]) => n === ':method')![1];
  if (method === 'CONNECT' && !seen.has(':protocol')) {
    return seen.has(':scheme') || seen.has(':path') ? 'CONNECT with :scheme or :path' : null;
  }
  if (!seen.has(':scheme')) return 'missing :scheme';
  if (!seen.has(':path')) return 'missing :path';
  if (fields.find(([n]) => n === ':path')![1] === '') return 'empty :path';
  return null;
}

/** The value of the first field `name`, or `undefined`. */
export function field(fields: FieldList, name: string): string | undefined {
  for (const [n, v] of fields) if (n === name) return v;
  return undefined;
}

/** Regular fields of a WHATWG `Headers`, lower-cased, without those HTTP/3 forbids. */
export function regularFields(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => {
    if (CONNECTION_SPECIFIC.has(name) || name === 'host') return;
    if (name === 'te' && value.toLowerCase() !== 'trailers') return;
    out.push([name, value]);
  });
  return out;
}
