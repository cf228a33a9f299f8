/**
 * Layouts of quiche.h's structs, and helpers to encode and decode them.
 *
 * The hot path passes these as raw, preallocated memory (`Uint8Array`
 * declared `void *`), which costs a fraction of koffi's object marshalling;
 * the koffi struct types below describe the same layouts and back the
 * decoders and the layout test against a C compiler.
 *
 * @module
 */
import koffi, { type TypeObject } from 'koffi';
import type { Pointer, U64 } from './handles.js';

// `struct sockaddr_storage` is 128 bytes aligned to 8. A bare uint8_t array
// would have alignment 1 and shift every following member.
const sockaddrStorage = (): [number, TypeObject] => [8, koffi.array('uint8_t', 128)];

koffi.struct('quiche_timespec', { tv_sec: 'int64_t', tv_nsec: 'long' });

/** koffi type of `quiche_recv_info` (32 bytes). */
export const RecvInfoType = koffi.struct('quiche_recv_info', {
  from: 'void *',
  from_len: 'socklen_t',
  to: 'void *',
  to_len: 'socklen_t',
});

/** koffi type of `quiche_send_info` (288 bytes). */
export const SendInfoType = koffi.struct('quiche_send_info', {
  from: sockaddrStorage(),
  from_len: 'socklen_t',
  to: sockaddrStorage(),
  to_len: 'socklen_t',
  at: 'quiche_timespec',
});

/** koffi type of `quiche_stats`. */
export const StatsType = koffi.struct('quiche_stats', {
  recv: 'size_t',
  sent: 'size_t',
  lost: 'size_t',
  spurious_lost: 'size_t',
  retrans: 'size_t',
  sent_bytes: 'uint64_t',
  recv_bytes: 'uint64_t',
  acked_bytes: 'uint64_t',
  lost_bytes: 'uint64_t',
  stream_retrans_bytes: 'uint64_t',
  dgram_recv: 'size_t',
  dgram_sent: 'size_t',
  paths_count: 'size_t',
  reset_stream_count_local: 'uint64_t',
  stopped_stream_count_local: 'uint64_t',
  reset_stream_count_remote: 'uint64_t',
  stopped_stream_count_remote: 'uint64_t',
  data_blocked_sent_count: 'uint64_t',
  stream_data_blocked_sent_count: 'uint64_t',
  data_blocked_recv_count: 'uint64_t',
  stream_data_blocked_recv_count: 'uint64_t',
  streams_blocked_bidi_recv_count: 'uint64_t',
  streams_blocked_uni_recv_count: 'uint64_t',
  path_challenge_rx_count: 'uint64_t',
  bytes_in_flight_duration_msec: 'uint64_t',
  tx_buffered_inconsistent: 'bool',
});

/**
 * koffi type of `quiche_transport_params` as quiche.h declares it.
 *
 * quiche's Rust struct behind it is not `#[repr(C)]`, so only the first ten
 * `uint64_t` fields are where the header says; see {@link decodeTransportParams}.
 */
export const TransportParamsType = koffi.struct('quiche_transport_params', {
  peer_max_idle_timeout: 'uint64_t',
  peer_max_udp_payload_size: 'uint64_t',
  peer_initial_max_data: 'uint64_t',
  peer_initial_max_stream_data_bidi_local: 'uint64_t',
  peer_initial_max_stream_data_bidi_remote: 'uint64_t',
  peer_initial_max_stream_data_uni: 'uint64_t',
  peer_initial_max_streams_bidi: 'uint64_t',
  peer_initial_max_streams_uni: 'uint64_t',
  peer_ack_delay_exponent: 'uint64_t',
  peer_max_ack_delay: 'uint64_t',
  peer_disable_active_migration: 'bool',
  peer_active_conn_id_limit: 'uint64_t',
  peer_max_datagram_frame_size: 'ssize_t',
});

/** koffi type of `quiche_path_stats`. */
export const PathStatsType = koffi.struct('quiche_path_stats', {
  local_addr: sockaddrStorage(),
  local_addr_len: 'socklen_t',
  peer_addr: sockaddrStorage(),
  peer_addr_len: 'socklen_t',
  validation_state: 'ssize_t',
  active: 'bool',
  recv: 'size_t',
  sent: 'size_t',
  lost: 'size_t',
  retrans: 'size_t',
  total_pto_count: 'size_t',
  dgram_recv: 'size_t',
  dgram_sent: 'size_t',
  rtt: 'uint64_t',
  min_rtt: 'uint64_t',
  max_rtt: 'uint64_t',
  rttvar: 'uint64_t',
  cwnd: 'size_t',
  sent_bytes: 'uint64_t',
  recv_bytes: 'uint64_t',
  lost_bytes: 'uint64_t',
  stream_retrans_bytes: 'uint64_t',
  pmtu: 'size_t',
  delivery_rate: 'uint64_t',
  max_bandwidth: 'uint64_t',
  startup_exit_cwnd: 'uint64_t',
});

/** koffi type of `quiche_h3_stats`. */
export const H3StatsType = koffi.struct('quiche_h3_stats', {
  qpack_encoder_stream_recv_bytes: 'uint64_t',
  qpack_decoder_stream_recv_bytes: 'uint64_t',
});

/** Byte sizes of the structs, for allocating the raw buffers the bindings take. */
export const StructSize = {
  /** `quiche_recv_info` (32; normally held by {@link RecvInfo} instead). */
  quiche_recv_info: koffi.sizeof(RecvInfoType),
  /** `quiche_send_info` (288), the `out_info` of `quiche_conn_send`; decode with {@link decodeSendInfo}. */
  quiche_send_info: koffi.sizeof(SendInfoType),
  /** `quiche_stats`, filled by `quiche_conn_stats`; decode with {@link decodeStats}. */
  quiche_stats: koffi.sizeof(StatsType),
  /** `quiche_transport_params`, filled by `quiche_conn_peer_transport_params`; decode with {@link decodeTransportParams}. */
  quiche_transport_params: koffi.sizeof(TransportParamsType),
  /** `quiche_path_stats`, filled by `quiche_conn_path_stats`; decode with {@link decodePathStats}. */
  quiche_path_stats: koffi.sizeof(PathStatsType),
  /** `quiche_h3_stats`, filled by `quiche_h3_conn_stats`; decode with {@link decodeH3Stats}. */
  quiche_h3_stats: koffi.sizeof(H3StatsType),
  /** `struct sockaddr_storage`, big enough for any socket address (IPv4 or IPv6). */
  sockaddr_storage: 128,
} as const;

// ---------------------------------------------------------------------------
// struct sockaddr (Linux layout: family in host order at 0, port big-endian
// at 2; IPv4 address at 4, IPv6 flowinfo at 4, address at 8, scope id at 24).

/** `AF_INET` on Linux. */
export const AF_INET = 2;
/** `AF_INET6` on Linux. */
export const AF_INET6 = 10;
/** `sizeof(struct sockaddr_in)`. */
export const SOCKADDR_IN_LEN = 16;
/** `sizeof(struct sockaddr_in6)`. */
export const SOCKADDR_IN6_LEN = 28;

/** A decoded socket address. */
export interface SocketAddress {
  /** `'IPv4'` or `'IPv6'`, as Node's `net` uses them. */
  readonly family: 'IPv4' | 'IPv6';
  /** Textual address, e.g. `127.0.0.1` or `::1`. */
  readonly address: string;
  /** UDP port. */
  readonly port: number;
  /** IPv6 scope id (0 when none). */
  readonly scopeId?: number;
}

/**
 * Dotted-quad IPv4 (four decimal parts of 1..3 digits, each ≤ 255), read
 * character by character: it runs for every new peer, and splitting and
 * matching each part allocated more than the encoding itself.
 */
function parseIPv4(address: string): number[] | null {
  const bytes = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return null;
      bytes[part++] = value;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30);
      if (value > 255) return null;
      digits++;
    } else {
      return null;
    }
  }
  if (digits === 0 || part !== 3) return null;
  bytes[3] = value;
  return bytes;
}

function parseIPv6(address: string): number[] | null {
  let text = address;
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    if (!v4) return null;
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = Number.parseInt(g, 16);
    bytes.push(v >> 8, v & 0xff);
  }
  return bytes;
}

/**
 * Writes `address:port` as a Linux `struct sockaddr_in` / `sockaddr_in6`
 * into `out` (at least 28 bytes; a new buffer when omitted) and returns the
 * buffer and the `socklen_t` to pass with it.
 *
 * @throws {TypeError} when `address` is not an IPv4 or IPv6 literal.
 * @throws {RangeError} when `port` is not an integer in 0..65535.
 *
 * @example
 * ```ts
 * const local = encodeSockaddr('0.0.0.0', 0);
 * const peer = encodeSockaddr('127.0.0.1', 4433); // peer.len === 16
 * const conn = quiche_connect('localhost', scid, scid.length, local.buf, local.len, peer.buf, peer.len, config);
 * ```
 */
export function encodeSockaddr(
  address: string,
  port: number,
  out: Uint8Array = new Uint8Array(SOCKADDR_IN6_LEN),
  scopeId = 0,
): {
  /** `out`, now holding the encoded address. */
  buf: Uint8Array;
  /** Length of the encoded address: {@link SOCKADDR_IN_LEN} or {@link SOCKADDR_IN6_LEN}. */
  len: number;
} {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
  }
  // Family little-endian (host order on the platforms quichex supports), port big-endian.
  const v4 = parseIPv4(address);
  if (v4) {
    out.fill(0, 0, SOCKADDR_IN_LEN);
    out[0] = AF_INET & 0xff;
    out[1] = AF_INET >> 8;
    out[2] = port >> 8;
    out[3] = port & 0xff;
    out.set(v4, 4);
    return { buf: out, len: SOCKADDR_IN_LEN };
  }
  const v6 = parseIPv6(address);
  if (!v6) throw new TypeError(`not an IPv4 or IPv6 address: ${JSON.stringify(address)}`);
  out.fill(0, 0, SOCKADDR_IN6_LEN);
  out[0] = AF_INET6 & 0xff;
  out[1] = AF_INET6 >> 8;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(v6, 8);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(24, scopeId, true);
  return { buf: out, len: SOCKADDR_IN6_LEN };
}

function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // IPv4-mapped addresses print the way Node prints them.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * Reads a Linux `struct sockaddr_in` / `sockaddr_in6` at `offset` of `buf`.
 * Returns `null` for a length of 0 (quiche's "no address").
 *
 * @throws {RangeError} for a family other than AF_INET/AF_INET6.
 *
 * @example
 * ```ts
 * const { buf, len } = encodeSockaddr('::1', 443);
 * decodeSockaddr(buf, 0, len); // { family: 'IPv6', address: '::1', port: 443, scopeId: 0 }
 * ```
 */
export function decodeSockaddr(buf: Uint8Array, offset = 0, len = SOCKADDR_IN6_LEN): SocketAddress | null {
  if (len === 0) return null;
  const view = new DataView(buf.buffer, buf.byteOffset + offset);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) {
    const a = buf.subarray(offset + 4, offset + 8);
    return { family: 'IPv4', address: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port };
  }
  if (family === AF_INET6) {
    return {
      family: 'IPv6',
      address: formatIPv6(buf.subarray(offset + 8, offset + 24)),
      port,
      scopeId: view.getUint32(24, true),
    };
  }
  throw new RangeError(`unsupported socket address family ${family}`);
}

// ---------------------------------------------------------------------------
// quiche_recv_info: two pointers to sockaddrs. The pointers must stay valid
// for the call, so the block and both sockaddrs live in one koffi.alloc'd
// region with a stable address, written once and rewritten per packet.

/**
 * A reusable `quiche_recv_info` in native memory, with room for both
 * addresses. Pass {@link RecvInfo.ptr} to `quiche_conn_recv`; call
 * {@link RecvInfo.free} when done with it.
 *
 * @example
 * ```ts
 * const info = new RecvInfo();
 * info.setTo(local.buf, local.len);
 * socket.on('message', (msg, rinfo) => {
 *   const from = encodeSockaddr(rinfo.address, rinfo.port);
 *   info.setFrom(from.buf, from.len);
 *   quiche_conn_recv(conn, msg, msg.length, info.ptr);
 * });
 * // later, once the connection is gone:
 * info.free();
 * ```
 */
export class RecvInfo {
  /** Address of the native `quiche_recv_info`. */
  readonly ptr: Pointer;
  readonly #view: Uint8Array;
  readonly #data: DataView;
  readonly #slab: RecvInfoSlab;
  readonly #slot: number;
  #freed = false;

  constructor() {
    const slab = RecvInfoSlab.withRoom();
    const slot = slab.take();
    const offset = slot * RECV_INFO_BYTES;
    this.#slab = slab;
    this.#slot = slot;
    this.ptr = (slab.ptr + BigInt(offset)) as Pointer;
    this.#view = slab.bytes.subarray(offset, offset + RECV_INFO_BYTES);
    this.#view.fill(0);
    this.#data = new DataView(this.#view.buffer, this.#view.byteOffset, this.#view.byteLength);
    this.#data.setBigUint64(0, this.ptr + 32n, true);
    this.#data.setBigUint64(16, this.ptr + 160n, true);
  }

  /** Sets `from` from an encoded sockaddr (`len` 16 or 28). */
  setFrom(sockaddr: Uint8Array, len: number): void {
    this.#view.set(sockaddr.subarray(0, len), 32);
    this.#data.setUint32(8, len, true);
  }

  /** Sets `to` from an encoded sockaddr (`len` 16 or 28). */
  setTo(sockaddr: Uint8Array, len: number): void {
    this.#view.set(sockaddr.subarray(0, len), 160);
    this.#data.setUint32(24, len, true);
  }

  /** Releases the native memory. Idempotent. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#slab.give(this.#slot);
  }
}

/** One `quiche_recv_info` and its two `sockaddr_storage`s. */
const RECV_INFO_BYTES = 32 + 2 * 128;
const SLAB_SLOTS = 64;

/**
 * Native memory for {@link RecvInfo}s, 64 at a time: a client opens a socket,
 * hence a RecvInfo, per connection, and one `koffi.alloc` plus one
 * `koffi.view` (an external ArrayBuffer) each cost more than the rest of
 * setting the socket up. A slab whose slots are all free again is released,
 * unless it is the last one.
 */
class RecvInfoSlab {
  static #slabs: RecvInfoSlab[] = [];
  readonly ptr: Pointer;
  readonly bytes: Uint8Array;
  readonly #free: number[] = [];

  private constructor() {
    this.ptr = koffi.alloc('uint8_t', RECV_INFO_BYTES * SLAB_SLOTS) as Pointer;
    this.bytes = new Uint8Array(koffi.view(this.ptr, RECV_INFO_BYTES * SLAB_SLOTS));
    for (let i = SLAB_SLOTS - 1; i >= 0; i--) this.#free.push(i);
  }

  /** A slab with a free slot (a new one when every slab is full). */
  static withRoom(): RecvInfoSlab {
    const slabs = RecvInfoSlab.#slabs;
    for (let i = slabs.length - 1; i >= 0; i--) if (slabs[i]!.#free.length > 0) return slabs[i]!;
    const slab = new RecvInfoSlab();
    slabs.push(slab);
    return slab;
  }

  take(): number {
    return this.#free.pop() as number;
  }

  give(slot: number): void {
    this.#free.push(slot);
    const slabs = RecvInfoSlab.#slabs;
    if (this.#free.length === SLAB_SLOTS && slabs.length > 1) {
      slabs.splice(slabs.indexOf(this), 1);
      koffi.free(this.ptr);
    }
  }
}

/**
 * Field offsets of `quiche_send_info`, read from its koffi definition, for
 * hot paths that compare the raw `to`/`from` sockaddr bytes of every packet
 * instead of decoding them into objects.
 *
 * @example
 * ```ts
 * const toLen = sendInfo[SendInfoLayout.to_len]! | (sendInfo[SendInfoLayout.to_len + 1]! << 8);
 * const to = sendInfo.subarray(SendInfoLayout.to, SendInfoLayout.to + toLen);
 * ```
 */
export const SendInfoLayout = {
  /** Offset of `from` (a `sockaddr_storage`). */
  from: koffi.offsetof(SendInfoType, 'from'),
  /** Offset of `from_len` (`socklen_t`, little-endian). */
  from_len: koffi.offsetof(SendInfoType, 'from_len'),
  /** Offset of `to` (a `sockaddr_storage`). */
  to: koffi.offsetof(SendInfoType, 'to'),
  /** Offset of `to_len` (`socklen_t`, little-endian). */
  to_len: koffi.offsetof(SendInfoType, 'to_len'),
  /** Offset of `at` (a `timespec`: seconds then nanoseconds, both 64-bit). */
  at: koffi.offsetof(SendInfoType, 'at'),
} as const;

/** What `quiche_conn_send` wrote into a `quiche_send_info`. */
export interface SendInfo {
  /** Local address the packet should leave from. */
  readonly from: SocketAddress | null;
  /** Address the packet must be sent to. */
  readonly to: SocketAddress | null;
  /** Pacing hint: when to send, CLOCK_MONOTONIC nanoseconds (0 when unsupported). */
  readonly at: bigint;
}

/**
 * Decodes a `quiche_send_info` from the raw buffer given to `quiche_conn_send`.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(1350);
 * const sendInfo = new Uint8Array(StructSize.quiche_send_info);
 * const written = quiche_conn_send(conn, out, out.length, sendInfo);
 * if (written > 0) {
 *   const { to } = decodeSendInfo(sendInfo);
 *   if (to) socket.send(out.subarray(0, written), to.port, to.address);
 * }
 * ```
 */
export function decodeSendInfo(buf: Uint8Array): SendInfo {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const L = SendInfoLayout;
  const fromLen = view.getUint32(L.from_len, true);
  const toLen = view.getUint32(L.to_len, true);
  const at = view.getBigInt64(L.at, true) * 1_000_000_000n + view.getBigInt64(L.at + 8, true);
  return { from: decodeSockaddr(buf, L.from, fromLen), to: decodeSockaddr(buf, L.to, toLen), at };
}

function decodeStruct<T>(buf: Uint8Array, type: TypeObject): T {
  return koffi.decode(buf, type) as T;
}

/** `quiche_stats` as a plain object (counts as `number`, byte counters as {@link U64}). */
export interface Stats {
  /** QUIC packets received on the connection (all paths). */
  recv: number;
  /** QUIC packets sent on the connection (all paths). */
  sent: number;
  /** Sent packets declared lost. */
  lost: number;
  /** Packets declared lost that the peer acknowledged afterwards. */
  spurious_lost: number;
  /** Sent packets that carried retransmitted data. */
  retrans: number;
  /** Bytes of QUIC packets sent. */
  sent_bytes: U64;
  /** Bytes of QUIC packets received. */
  recv_bytes: U64;
  /** Bytes of sent packets that the peer acknowledged. */
  acked_bytes: U64;
  /** Bytes of sent packets declared lost. */
  lost_bytes: U64;
  /** Stream data bytes sent again after a loss. */
  stream_retrans_bytes: U64;
  /** DATAGRAM frames received. */
  dgram_recv: number;
  /** DATAGRAM frames sent. */
  dgram_sent: number;
  /** Paths the connection knows; valid `idx` values for `quiche_conn_path_stats` are 0 to `paths_count - 1`. */
  paths_count: number;
  /** Streams this endpoint reset (RESET_STREAM sent). */
  reset_stream_count_local: U64;
  /** Streams this endpoint stopped reading (STOP_SENDING sent). */
  stopped_stream_count_local: U64;
  /** Streams the peer reset. */
  reset_stream_count_remote: U64;
  /** Streams the peer asked this endpoint to stop sending on. */
  stopped_stream_count_remote: U64;
  /** DATA_BLOCKED frames sent: this endpoint was held back by the connection-level flow control limit. */
  data_blocked_sent_count: U64;
  /** STREAM_DATA_BLOCKED frames sent: a stream was held back by its flow control limit. */
  stream_data_blocked_sent_count: U64;
  /** DATA_BLOCKED frames received: the peer was held back by this endpoint's connection-level limit. */
  data_blocked_recv_count: U64;
  /** STREAM_DATA_BLOCKED frames received: a peer stream was held back by this endpoint's stream limit. */
  stream_data_blocked_recv_count: U64;
  /** STREAMS_BLOCKED frames for bidirectional streams received: the peer wanted to open more than allowed. */
  streams_blocked_bidi_recv_count: U64;
  /** STREAMS_BLOCKED frames for unidirectional streams received: the peer wanted to open more than allowed. */
  streams_blocked_uni_recv_count: U64;
  /** PATH_CHALLENGE frames received. */
  path_challenge_rx_count: U64;
  /** Total time, in milliseconds, that this endpoint had data in flight (being sent or awaiting acknowledgement). */
  bytes_in_flight_duration_msec: U64;
  /** Diagnostic: true when quiche's running total of buffered outgoing stream bytes disagrees with the streams' actual buffers, which can stall the connection or over-buffer. */
  tx_buffered_inconsistent: boolean;
}

/**
 * Decodes the buffer filled by `quiche_conn_stats`.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(StructSize.quiche_stats);
 * quiche_conn_stats(conn, buf);
 * const { sent, lost, paths_count } = decodeStats(buf);
 * ```
 */
export function decodeStats(buf: Uint8Array): Stats {
  return decodeStruct<Stats>(buf, StatsType);
}

/** `quiche_path_stats` as a plain object, with the addresses decoded. */
export interface PathStats {
  /** Local address of the path, or `null` when quiche reported none. */
  local_addr: SocketAddress | null;
  /** Peer address of the path, or `null` when quiche reported none. */
  peer_addr: SocketAddress | null;
  /** -1 failed, 0 unknown, 1 validating, 2 validating MTU, 3 validated. */
  validation_state: number;
  /** Whether this is the active path, the one non-probing packets go out on. */
  active: boolean;
  /** QUIC packets received on this path. */
  recv: number;
  /** QUIC packets sent on this path. */
  sent: number;
  /** Packets sent on this path and declared lost. */
  lost: number;
  /** Packets sent on this path that carried retransmitted data. */
  retrans: number;
  /** How many times the probe timeout (PTO) fired: a count of loss episodes, less dependent on how much was in flight than `lost`. */
  total_pto_count: number;
  /** DATAGRAM frames received on this path. */
  dgram_recv: number;
  /** DATAGRAM frames sent on this path. */
  dgram_sent: number;
  /** Smoothed RTT in nanoseconds. */
  rtt: U64;
  /** Lowest RTT sample seen, in nanoseconds (0 before the first sample). */
  min_rtt: U64;
  /** Always 0: quiche's C API never writes this field (the buffer must be zeroed first). */
  max_rtt: U64;
  /** RTT variation estimate, in nanoseconds. */
  rttvar: U64;
  /** Congestion window, in bytes. */
  cwnd: number;
  /** Bytes of QUIC packets sent on this path. */
  sent_bytes: U64;
  /** Bytes of QUIC packets received on this path. */
  recv_bytes: U64;
  /** Bytes of packets sent on this path and declared lost. */
  lost_bytes: U64;
  /** Stream data bytes sent again on this path after a loss. */
  stream_retrans_bytes: U64;
  /** Current path MTU, in bytes: the largest UDP payload quiche sends on this path. */
  pmtu: number;
  /** Latest delivery rate estimate, in bytes per second. */
  delivery_rate: U64;
  /** Bandwidth estimate of the congestion controller, in bytes per second; 0 when it has none (only BBR provides one). */
  max_bandwidth: U64;
  /** Congestion window, in bytes, when slow start (or BBR startup) ended; 0 while still in it. */
  startup_exit_cwnd: U64;
}

/**
 * Decodes the buffer filled by `quiche_conn_path_stats` (zero it before the call).
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(StructSize.quiche_path_stats); // fresh, so zeroed
 * if (quiche_conn_path_stats(conn, 0, buf) === 0) {
 *   const { rtt, cwnd } = decodePathStats(buf); // rtt in ns, cwnd in bytes
 * }
 * ```
 */
export function decodePathStats(buf: Uint8Array): PathStats {
  const raw = decodeStruct<Record<string, unknown>>(buf, PathStatsType);
  const localLen = raw.local_addr_len as number;
  const peerLen = raw.peer_addr_len as number;
  const { local_addr_len: _l, peer_addr_len: _p, ...rest } = raw;
  return {
    ...(rest as unknown as PathStats),
    local_addr: decodeSockaddr(buf, koffi.offsetof(PathStatsType, 'local_addr'), localLen),
    peer_addr: decodeSockaddr(buf, koffi.offsetof(PathStatsType, 'peer_addr'), peerLen),
  };
}

/** The peer's transport parameters that can be read reliably from `quiche_transport_params`. */
export interface TransportParams {
  /** Idle timeout the peer asked for, in milliseconds; 0 means it set none. */
  peer_max_idle_timeout: U64;
  /** Largest UDP payload, in bytes, the peer is willing to receive. */
  peer_max_udp_payload_size: U64;
  /** Initial connection-level flow control limit: bytes this endpoint may send across all streams. */
  peer_initial_max_data: U64;
  /** Initial flow control limit, in bytes, for what this endpoint may send on bidirectional streams the peer opens. */
  peer_initial_max_stream_data_bidi_local: U64;
  /** Initial flow control limit, in bytes, for what this endpoint may send on bidirectional streams it opens itself. */
  peer_initial_max_stream_data_bidi_remote: U64;
  /** Initial flow control limit, in bytes, for what this endpoint may send on unidirectional streams it opens. */
  peer_initial_max_stream_data_uni: U64;
  /** How many bidirectional streams this endpoint may open initially. */
  peer_initial_max_streams_bidi: U64;
  /** How many unidirectional streams this endpoint may open initially. */
  peer_initial_max_streams_uni: U64;
  /** Exponent the peer applies to the ACK Delay field of its ACK frames (delay in microseconds = field × 2^exponent). */
  peer_ack_delay_exponent: U64;
  /** Longest time, in milliseconds, the peer will wait before sending an acknowledgement. */
  peer_max_ack_delay: U64;
  /** True when the peer does not support this endpoint moving the connection to another address. */
  peer_disable_active_migration: boolean;
  /** How many connection IDs from this endpoint the peer is willing to keep at once. */
  peer_active_conn_id_limit: U64;
  /** Largest DATAGRAM frame, in bytes, the peer accepts; `null` when it did not advertise DATAGRAM support. */
  peer_max_datagram_frame_size: number | null;
}

/**
 * Where quiche really writes the last three fields of
 * `quiche_transport_params`. The Rust struct has no `#[repr(C)]`, and rustc
 * moves the `bool` after the two 8-byte fields; the header's offsets (80, 88,
 * 96) are wrong for it. Checked by the transport-params behaviour test.
 */
export const TransportParamsActualOffset = {
  /** Byte offset of `peer_active_conn_id_limit` (`uint64_t`). */
  peer_active_conn_id_limit: 80,
  /** Byte offset of `peer_max_datagram_frame_size` (`ssize_t`, negative when absent). */
  peer_max_datagram_frame_size: 88,
  /** Byte offset of `peer_disable_active_migration` (`bool`, one byte). */
  peer_disable_active_migration: 96,
} as const;

/**
 * Decodes the buffer filled by `quiche_conn_peer_transport_params`, with the layout defect handled.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(StructSize.quiche_transport_params);
 * if (quiche_conn_peer_transport_params(conn, buf)) {
 *   const { peer_max_idle_timeout, peer_max_datagram_frame_size } = decodeTransportParams(buf);
 * }
 * ```
 */
export function decodeTransportParams(buf: Uint8Array): TransportParams {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u64 = (off: number): U64 => {
    const v = view.getBigUint64(off, true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const dgram = view.getBigInt64(TransportParamsActualOffset.peer_max_datagram_frame_size, true);
  return {
    peer_max_idle_timeout: u64(0),
    peer_max_udp_payload_size: u64(8),
    peer_initial_max_data: u64(16),
    peer_initial_max_stream_data_bidi_local: u64(24),
    peer_initial_max_stream_data_bidi_remote: u64(32),
    peer_initial_max_stream_data_uni: u64(40),
    peer_initial_max_streams_bidi: u64(48),
    peer_initial_max_streams_uni: u64(56),
    peer_ack_delay_exponent: u64(64),
    peer_max_ack_delay: u64(72),
    peer_active_conn_id_limit: u64(TransportParamsActualOffset.peer_active_conn_id_limit),
    peer_max_datagram_frame_size: dgram < 0n ? null : Number(dgram),
    peer_disable_active_migration:
      view.getUint8(TransportParamsActualOffset.peer_disable_active_migration) !== 0,
  };
}

/** `quiche_h3_stats` as a plain object. */
export interface H3Stats {
  /** Bytes received on the peer's QPACK encoder stream. */
  qpack_encoder_stream_recv_bytes: U64;
  /** Bytes received on the peer's QPACK decoder stream. */
  qpack_decoder_stream_recv_bytes: U64;
}

/**
 * Decodes the buffer filled by `quiche_h3_conn_stats`.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(StructSize.quiche_h3_stats);
 * quiche_h3_conn_stats(h3, buf);
 * const { qpack_encoder_stream_recv_bytes } = decodeH3Stats(buf);
 * ```
 */
export function decodeH3Stats(buf: Uint8Array): H3Stats {
  return decodeStruct<H3Stats>(buf, H3StatsType);
}
