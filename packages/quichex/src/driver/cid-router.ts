/**
 * Connection-ID routing and issuance, shared by clients and listeners: which
 * connection a datagram belongs to, and which CIDs each connection owns.
 *
 * Every CID we issue is {@link CID_LEN} bytes, so a short-header packet (the
 * bulk of traffic) is routed by the bytes right after its first byte,
 * without parsing its header through quiche or building a string key while
 * it goes to the same connection as the packet before it.
 *
 * @module
 */
import * as q from '@quichex/ffi';
import type { ConnCore } from '../core/conn-core.js';
import { randomSlice } from './random-pool.js';

/** Length of every connection ID quichex issues. */
export const CID_LEN = 16;
/** Spare source CIDs let the peer migrate or rebind without linking its paths. */
const SPARE_SCIDS = 2;
/** Capacities passed to `quiche_header_info` (in/out lengths). */
const CID_CAPACITY = BigInt(q.QUICHE_MAX_CONN_ID_LEN);
const TOKEN_CAPACITY = 512n;

/**
 * `quiche_header_info` out-params (capacities in, lengths out), shared by
 * every router: parsing is synchronous, and a {@link LongHeader} (whose
 * fields view these bytes) is used only until its datagram is handled. A
 * client opens a router per connection, which then allocates none of them.
 */
const header = {
  version: new Uint32Array(1),
  type: new Uint8Array(1),
  scid: new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN),
  scidLen: new BigUint64Array(1),
  /** A Buffer, so that the DCID's map key is read from it without a copy. */
  dcid: Buffer.alloc(q.QUICHE_MAX_CONN_ID_LEN),
  dcidLen: new BigUint64Array(1),
  token: new Uint8Array(Number(TOKEN_CAPACITY)),
  tokenLen: new BigUint64Array(1),
};

/** What the router knows of a connection. */
export interface Routed {
  readonly core: ConnCore;
  receive(packet: Buffer, address: string, port: number): void;
}

/** A long-header packet's fields, read by {@link CidRouter.parse} (valid until the next parse). */
export interface LongHeader {
  readonly version: number;
  readonly type: number;
  readonly scid: Uint8Array;
  readonly dcid: Uint8Array;
  readonly token: Uint8Array;
  /** The DCID as a map key. */
  readonly dcidKey: string;
}

/**
 * The invariant long header (RFC 8999 §5.1) of a packet whose version quiche
 * does not support, as a {@link LongHeader} with no token; `null` for
 * anything else (short headers, version 0, supported versions).
 */
export function unknownVersionHeader(packet: Uint8Array): LongHeader | null {
  if (packet.length < 7 || (packet[0]! & 0x80) === 0) return null;
  const version = ((packet[1]! << 24) | (packet[2]! << 16) | (packet[3]! << 8) | packet[4]!) >>> 0;
  if (version === 0 || q.quiche_version_is_supported(version)) return null;
  const dcidLen = packet[5]!;
  const scidAt = 6 + dcidLen;
  if (scidAt >= packet.length) return null;
  const scidLen = packet[scidAt]!;
  if (scidAt + 1 + scidLen > packet.length) return null;
  const dcid = packet.subarray(6, scidAt);
  return {
    version,
    type: q.QuichePacketType.INITIAL,
    scid: packet.subarray(scidAt + 1, scidAt + 1 + scidLen),
    dcid,
    token: new Uint8Array(0),
    dcidKey: Buffer.from(dcid).toString('latin1'),
  };
}

/** The CID map of one socket. */
export class CidRouter<C extends Routed = Routed> {
  readonly #byCid = new Map<string, C>();
  readonly #cidsOf = new Map<C, Set<string>>();
  #last: C | null = null;
  readonly #lastCid = Buffer.alloc(CID_LEN);

  /** Connections with at least one routed CID. */
  get size(): number {
    return this.#cidsOf.size;
  }

  /**
   * Hands `packet` to its connection and returns `true`; returns `false`
   * when no connection owns its DCID (the caller then looks at it with
   * {@link CidRouter.parse}). Short headers carry a DCID of ours
   * ({@link CID_LEN} bytes); long headers name theirs.
   */
  route(packet: Buffer, address: string, port: number): boolean {
    if ((packet[0]! & 0x80) !== 0) return this.#routeLong(packet, address, port);
    if (packet.length <= CID_LEN) return false;
    const last = this.#last;
    if (last && !last.core.isClosed && packet.compare(this.#lastCid, 0, CID_LEN, 1, 1 + CID_LEN) === 0) {
      last.receive(packet, address, port);
      return true;
    }
    const conn = this.#byCid.get(packet.toString('latin1', 1, 1 + CID_LEN));
    if (conn === undefined) return false;
    this.#last = conn;
    packet.copy(this.#lastCid, 0, 1, 1 + CID_LEN);
    conn.receive(packet, address, port);
    return true;
  }

  /**
   * A long-header packet for a connection we know (the rest of its
   * handshake) goes to it by the DCID read from the invariant header
   * (RFC 8999 §5.1), without asking quiche to parse the header: only an
   * Initial from a new client needs {@link CidRouter.parse}. quiche checks
   * the packet itself when the connection receives it.
   */
  #routeLong(packet: Buffer, address: string, port: number): boolean {
    if (packet.length < 7) return false;
    const dcidLen = packet[5]!;
    if (dcidLen > q.QUICHE_MAX_CONN_ID_LEN || 6 + dcidLen >= packet.length) return false;
    const conn = this.#byCid.get(packet.toString('latin1', 6, 6 + dcidLen));
    if (conn === undefined) return false;
    conn.receive(packet, address, port);
    return true;
  }

  /** Parses a long-header packet; `null` when quiche cannot (garbage, or a short header we do not know). */
  parse(packet: Buffer): LongHeader | null {
    const h = header;
    h.scidLen[0] = CID_CAPACITY;
    h.dcidLen[0] = CID_CAPACITY;
    h.tokenLen[0] = TOKEN_CAPACITY;
    const rc = q.quiche_header_info(
      packet,
      packet.length,
      CID_LEN,
      h.version,
      h.type,
      h.scid,
      h.scidLen,
      h.dcid,
      h.dcidLen,
      h.token,
      h.tokenLen,
    );
    if (rc < 0) return null;
    const dcidLen = Number(h.dcidLen[0]);
    return {
      version: h.version[0]!,
      type: h.type[0]!,
      scid: h.scid.subarray(0, Number(h.scidLen[0])),
      dcid: h.dcid.subarray(0, dcidLen),
      token: h.token.subarray(0, Number(h.tokenLen[0])),
      dcidKey: h.dcid.toString('latin1', 0, dcidLen),
    };
  }

  /** The connection that owns `key`, if any. */
  get(key: string): C | undefined {
    return this.#byCid.get(key);
  }

  /** Routes `key` to `conn`. */
  add(conn: C, key: string): void {
    this.#byCid.set(key, conn);
    let set = this.#cidsOf.get(conn);
    if (!set) {
      set = new Set();
      this.#cidsOf.set(conn, set);
    }
    set.add(key);
  }

  /** Stops routing `key` (to `conn` only). */
  delete(conn: C, key: string): void {
    if (this.#byCid.get(key) === conn) this.#byCid.delete(key);
    this.#cidsOf.get(conn)?.delete(key);
  }

  /** Forgets every CID of `conn`. */
  remove(conn: C): void {
    for (const key of this.#cidsOf.get(conn) ?? []) {
      if (this.#byCid.get(key) === conn) this.#byCid.delete(key);
    }
    this.#cidsOf.delete(conn);
    if (this.#last === conn) this.#last = null;
  }

  /** Keeps `conn`'s CIDs in step with quiche: retired ones removed, spares issued and routed. */
  upkeep(conn: C): void {
    const core = conn.core;
    for (const key of core.retiredScids()) this.delete(conn, key);
    for (let i = core.scidsWanted(SPARE_SCIDS); i > 0; i--) {
      const cid = randomSlice(CID_LEN);
      if (!core.issueScid(cid, randomSlice(16))) break;
      this.add(conn, cid.toString('latin1'));
    }
  }
}
