/**
 * Raw peers built straight on @quichex/ffi (as the h3 interop peer is):
 * genuine client Initials made in bulk, and a quiche client connection on
 * real UDP sockets with an event loop of its own, whose inbound packets can
 * be filtered and whose paths and connection IDs the test steers by hand.
 * Everything talks to 127.0.0.1 only; every loop is bounded.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import * as q from '@quichex/ffi';

/** Where every raw peer and server lives. */
export const HOST = '127.0.0.1';
const NO_TIMEOUT = 2n ** 64n - 1n;

/** Binds a UDP socket on `address` (default 127.0.0.1), port 0. */
export function bindUdp(address = HOST): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

/** Closes a socket, ignoring one that is already closed. */
export function closeUdp(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/** Options of a raw quiche client config. */
export interface RawConfigOptions {
  alpn?: string;
  version?: number;
  maxData?: number;
  maxStreamData?: number;
  maxStreams?: number;
  /** The CIDs we accept from the server (quiche default 2). */
  activeConnectionIdLimit?: number;
  dgram?: boolean;
  idleTimeoutMs?: number;
}

/** A quiche client config that does not verify the server (these peers are attackers, not clients). */
export function rawClientConfig(o: RawConfigOptions = {}): q.QuicheConfig {
  const config = q.quiche_config_new(o.version ?? q.QUICHE_PROTOCOL_VERSION);
  if (config === null) throw new Error('quiche_config_new failed');
  const alpn = q.encodeAlpn([o.alpn ?? 'test']);
  q.quiche_config_set_application_protos(config, alpn, alpn.length);
  q.quiche_config_verify_peer(config, false);
  q.quiche_config_set_max_idle_timeout(config, o.idleTimeoutMs ?? 10_000);
  q.quiche_config_set_initial_max_data(config, o.maxData ?? 1_000_000);
  q.quiche_config_set_initial_max_stream_data_bidi_local(config, o.maxStreamData ?? 100_000);
  q.quiche_config_set_initial_max_stream_data_bidi_remote(config, o.maxStreamData ?? 100_000);
  q.quiche_config_set_initial_max_stream_data_uni(config, o.maxStreamData ?? 100_000);
  q.quiche_config_set_initial_max_streams_bidi(config, o.maxStreams ?? 100);
  q.quiche_config_set_initial_max_streams_uni(config, o.maxStreams ?? 100);
  if (o.activeConnectionIdLimit !== undefined)
    q.quiche_config_set_active_connection_id_limit(config, o.activeConnectionIdLimit);
  if (o.dgram) q.quiche_config_enable_dgram(config, true, 100, 100);
  return config;
}

/**
 * `n` genuine client Initial packets, each the first datagram of a fresh
 * quiche client (`quiche_connect` then one `quiche_conn_send`) that is freed
 * right after: one shared config, a random 16-byte SCID each. The packets
 * are 1200 bytes (quiche pads client Initials).
 */
export function makeInitials(n: number, serverPort: number, localPort = 40_000): Buffer[] {
  const config = rawClientConfig();
  const local = q.encodeSockaddr(HOST, localPort);
  const peer = q.encodeSockaddr(HOST, serverPort);
  const out = new Uint8Array(1500);
  const info = new Uint8Array(q.StructSize.quiche_send_info);
  const packets: Buffer[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const scid = randomBytes(16);
      const conn = q.quiche_connect('localhost', scid, 16, local.buf, local.len, peer.buf, peer.len, config);
      if (conn === null) throw new Error('quiche_connect failed');
      const len = q.quiche_conn_send(conn, out, out.length, info);
      q.quiche_conn_free(conn);
      if (len <= 0) throw new Error(`quiche_conn_send gave ${len}`);
      packets.push(Buffer.from(out.subarray(0, len)));
    }
  } finally {
    q.quiche_config_free(config);
  }
  return packets;
}

/** Long-header packet types (RFC 9000 §17.2), from the first byte. */
export const LongType = { Initial: 0, ZeroRtt: 1, Handshake: 2, Retry: 3 } as const;

/** The long-header type of a datagram's first packet, or `null` for a short header. */
export function longType(packet: Uint8Array): number | null {
  if (packet.length === 0 || (packet[0]! & 0x80) === 0) return null;
  return (packet[0]! & 0x30) >> 4;
}

/** Reads a QUIC varint at `off`: `[value, length]`, or `null` past the end. */
export function readVarint(b: Uint8Array, off: number): [number, number] | null {
  if (off >= b.length) return null;
  const len = 1 << (b[off]! >> 6);
  if (off + len > b.length) return null;
  let v = b[off]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
  return [v, len];
}

/** Where the fields of a long-header packet are (for mutation at field boundaries). */
export interface LongLayout {
  /** Offset of the DCID length byte. */
  dcidLen: number;
  /** Offset of the SCID length byte. */
  scidLen: number;
  /** Offset of the token length varint (Initial only), else -1. */
  tokenLen: number;
  /** Offset of the Length varint (not Retry/VN), else -1. */
  length: number;
  /** Offset of the packet number (what follows Length), else -1. */
  pn: number;
  /** Bytes of this first packet within the datagram. */
  end: number;
}

/** Encodes `v` as a QUIC varint (RFC 9000 §16). */
export function varint(v: number): Buffer {
  if (v < 64) return Buffer.from([v]);
  if (v < 16_384) return Buffer.from([0x40 | (v >> 8), v & 0xff]);
  if (v < 2 ** 30) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    b[0] = b[0]! | 0x80;
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  b[0] = b[0]! | 0xc0;
  return b;
}

/** The Retry token an Initial carries (empty when none), or `null` when it is not an Initial. */
export function initialToken(packet: Uint8Array): Buffer | null {
  const layout = longLayout(packet);
  if (!layout || layout.tokenLen < 0) return null;
  const t = readVarint(packet, layout.tokenLen)!;
  return Buffer.from(packet.subarray(layout.tokenLen + t[1], layout.tokenLen + t[1] + t[0]));
}

/** The Initial `packet` with its token replaced by `token` (the rest, encrypted, unchanged). */
export function withToken(packet: Uint8Array, token: Uint8Array): Buffer {
  const layout = longLayout(packet);
  if (!layout || layout.tokenLen < 0) throw new Error('not an Initial packet');
  const t = readVarint(packet, layout.tokenLen)!;
  const out = Buffer.concat([
    packet.subarray(0, layout.tokenLen),
    varint(token.length),
    token,
    packet.subarray(layout.tokenLen + t[1] + t[0]),
  ]);
  // A shorter token must not make the datagram too small to be an Initial (under 1200 bytes it
  // is dropped for its size, before its token is looked at): pad it back to the original size.
  return out.length >= packet.length ? out : Buffer.concat([out, Buffer.alloc(packet.length - out.length)]);
}

/** Parses the invariant and type-specific fields of a datagram's first long-header packet. */
export function longLayout(b: Uint8Array): LongLayout | null {
  if (b.length < 7 || (b[0]! & 0x80) === 0) return null;
  const dcidLen = 5;
  const scidLen = 6 + b[5]!;
  if (scidLen >= b.length) return null;
  let off = scidLen + 1 + b[scidLen]!;
  if (off > b.length) return null;
  const version = ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0;
  const type = (b[0]! & 0x30) >> 4;
  if (version === 0 || type === LongType.Retry)
    return { dcidLen, scidLen, tokenLen: -1, length: -1, pn: -1, end: b.length };
  let tokenLen = -1;
  if (type === LongType.Initial) {
    tokenLen = off;
    const t = readVarint(b, off);
    if (!t) return null;
    off += t[1] + t[0];
  }
  const length = off;
  const l = readVarint(b, off);
  if (!l) return null;
  const pn = off + l[1];
  return { dcidLen, scidLen, tokenLen, length, pn, end: Math.min(b.length, pn + l[0]) };
}

/** Options of {@link RawPeer.open}. */
export interface RawPeerOptions extends RawConfigOptions {
  /**
   * Looks at every datagram from the server before quiche does: return the
   * bytes to feed (possibly cut), or `null` to drop it.
   */
  inbound?: (packet: Buffer) => Buffer | null;
  /** Run quiche's timers (default true); `false` makes a peer that never retransmits. */
  timers?: boolean;
  /** Looks at every datagram before it is sent: `false` keeps it from the wire (it is still logged). */
  outbound?: (packet: Buffer) => boolean;
}

/**
 * A quiche client connection on real UDP sockets (one to start with; more
 * for path probes), with its own loop: datagrams in → `quiche_conn_recv`,
 * then `quiche_conn_send` until DONE, each out of the socket its send info
 * names; one timer from `quiche_conn_timeout_as_nanos`.
 */
export class RawPeer {
  readonly conn: q.QuicheConn;
  readonly serverPort: number;
  /** Datagrams sent and received. */
  readonly counts = { sent: 0, received: 0, dropped: 0 };
  /** The first datagram this peer sent (its first Initial). */
  firstPacket: Buffer | null = null;
  /** Every datagram quiche produced, sent or held back by `outbound` (the last 256). */
  readonly produced: Buffer[] = [];
  readonly #config: q.QuicheConfig;
  readonly #sockets = new Map<number, dgram.Socket>();
  readonly #primary: dgram.Socket;
  readonly #recvInfo = new q.RecvInfo();
  readonly #sendInfo = new Uint8Array(q.StructSize.quiche_send_info);
  readonly #out = new Uint8Array(65_535);
  readonly #options: RawPeerOptions;
  #timer: NodeJS.Timeout | null = null;
  #sending = true;
  #freed = false;

  private constructor(socket: dgram.Socket, serverPort: number, options: RawPeerOptions) {
    this.#primary = socket;
    this.serverPort = serverPort;
    this.#options = options;
    this.#config = rawClientConfig(options);
    const local = q.encodeSockaddr(HOST, socket.address().port);
    const peer = q.encodeSockaddr(HOST, serverPort);
    const scid = randomBytes(16);
    const conn = q.quiche_connect(
      'localhost',
      scid,
      16,
      local.buf,
      local.len,
      peer.buf,
      peer.len,
      this.#config,
    );
    if (conn === null) {
      q.quiche_config_free(this.#config);
      throw new Error('quiche_connect failed');
    }
    this.conn = conn;
    this.#adopt(socket);
  }

  /** Starts a client towards 127.0.0.1:`serverPort` and sends its first flight. */
  static async open(serverPort: number, options: RawPeerOptions = {}): Promise<RawPeer> {
    const peer = new RawPeer(await bindUdp(), serverPort, options);
    peer.flush();
    return peer;
  }

  /** The primary socket's port. */
  get localPort(): number {
    return this.#primary.address().port;
  }

  get established(): boolean {
    return !this.#freed && q.quiche_conn_is_established(this.conn);
  }

  get closed(): boolean {
    return this.#freed || q.quiche_conn_is_closed(this.conn);
  }

  /** Stops every send (and the timer): the peer goes silent but keeps its state. */
  silence(): void {
    this.#sending = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #adopt(socket: dgram.Socket, asPrimary = false): void {
    const port = socket.address().port;
    this.#sockets.set(port, socket);
    // A socket that stands in for the primary one (a NAT rebinding, seen from the server) hands
    // quiche what it receives as if the primary socket had: the client knows one path only.
    const to = q.encodeSockaddr(HOST, asPrimary ? this.#primary.address().port : port);
    socket.on('message', (msg, rinfo) => {
      if (this.#freed) return;
      const fed = this.#options.inbound ? this.#options.inbound(msg) : msg;
      if (fed === null) {
        this.counts.dropped++;
        return;
      }
      this.counts.received++;
      const from = q.encodeSockaddr(rinfo.address, rinfo.port);
      this.#recvInfo.setFrom(from.buf, from.len);
      this.#recvInfo.setTo(to.buf, to.len);
      q.quiche_conn_recv(this.conn, fed, fed.length, this.#recvInfo.ptr);
      this.flush();
    });
    socket.on('error', () => undefined);
  }

  /**
   * Binds one more local socket and returns its port: for path probes, or
   * with `asPrimary` for sends through {@link RawPeer.flush}`(port)` that
   * look like NAT rebindings to the server (quiche still sees one path).
   */
  async addSocket(options: { asPrimary?: boolean } = {}): Promise<number> {
    const socket = await bindUdp();
    this.#adopt(socket, options.asPrimary);
    return socket.address().port;
  }

  /**
   * Sends everything quiche has to send now (at most 1000 datagrams), out
   * of the socket its send info names (or of the socket bound to `via`),
   * then re-arms the timer.
   */
  flush(via?: number): void {
    if (this.#freed || !this.#sending) return;
    for (let i = 0; i < 1000; i++) {
      const n = q.quiche_conn_send(this.conn, this.#out, this.#out.length, this.#sendInfo);
      if (n < 0) break;
      const { from, to } = q.decodeSendInfo(this.#sendInfo);
      const socket =
        (via !== undefined && this.#sockets.get(via)) ||
        (from && this.#sockets.get(from.port)) ||
        this.#primary;
      const bytes = Buffer.from(this.#out.subarray(0, n));
      if (this.firstPacket === null) this.firstPacket = bytes;
      this.produced.push(bytes);
      if (this.produced.length > 256) this.produced.shift();
      if (this.#options.outbound && !this.#options.outbound(bytes)) continue;
      socket.send(bytes, to?.port ?? this.serverPort, to?.address ?? HOST);
      this.counts.sent++;
    }
    this.#arm();
  }

  /** Sends `packet` as is from the primary socket (a replay). */
  replay(packet: Uint8Array): void {
    if (this.#freed) return;
    this.#primary.send(packet, this.serverPort, HOST);
    this.counts.sent++;
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#freed || this.#options.timers === false || q.quiche_conn_is_closed(this.conn)) return;
    const ns = BigInt(q.quiche_conn_timeout_as_nanos(this.conn));
    if (ns === NO_TIMEOUT) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        if (this.#freed) return;
        q.quiche_conn_on_timeout(this.conn);
        this.flush();
      },
      Math.max(1, Math.ceil(Number(ns) / 1e6)),
    );
  }

  /** How the connection closed, if it did: who closed it, the error code and the reason. */
  closeReason(): string | null {
    if (this.#freed || !q.quiche_conn_is_closed(this.conn)) return null;
    const parts: string[] = [];
    for (const [side, fn] of [
      ['local', q.quiche_conn_local_error],
      ['peer', q.quiche_conn_peer_error],
    ] as const) {
      const isApp = new Uint8Array(1);
      const code = new BigUint64Array(1);
      const reason = new BigUint64Array(1);
      const reasonLen = new BigUint64Array(1);
      if (fn(this.conn, isApp, code, reason, reasonLen))
        parts.push(
          `${side} ${isApp[0] ? 'app' : 'transport'} error 0x${code[0]!.toString(16)} ${JSON.stringify(
            Buffer.from(q.readBorrowed(reason, reasonLen)).toString(),
          )}`,
        );
    }
    if (q.quiche_conn_is_timed_out(this.conn)) parts.push('idle timeout');
    return parts.join('; ') || 'closed';
  }

  /** Writes `data` (and FIN) on stream `id`, sends, and returns the echo once it is complete (at most `ms`). */
  async echo(id: number, data: Uint8Array, ms = 5000): Promise<Buffer> {
    const err = new BigUint64Array(1);
    const n = q.quiche_conn_stream_send(this.conn, id, data, data.length, true, err);
    if (n !== data.length) throw new Error(`quiche_conn_stream_send took ${n} of ${data.length} bytes`);
    this.flush();
    const parts: Buffer[] = [];
    const buf = new Uint8Array(65_536);
    const fin = new Uint8Array(1);
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.closed)
        throw new Error(`the raw peer closed while waiting for an echo: ${this.closeReason()}`);
      for (let i = 0; i < 1000; i++) {
        const r = q.quiche_conn_stream_recv(this.conn, id, buf, buf.length, fin, err);
        if (r < 0) break;
        parts.push(Buffer.from(buf.subarray(0, r)));
        if (fin[0]) {
          this.flush();
          return Buffer.concat(parts);
        }
      }
      if (Date.now() > deadline) throw new Error(`no complete echo on stream ${id} within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Waits (at most `ms`) for the handshake to complete. */
  async waitEstablished(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.established) {
      if (this.closed) throw new Error('the raw peer closed before its handshake completed');
      if (Date.now() > deadline) throw new Error(`the raw peer's handshake did not complete within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Closes with CONNECTION_CLOSE, lets the socket send it, then frees everything. */
  async close(): Promise<void> {
    if (this.#freed) return;
    if (this.#sending && !q.quiche_conn_is_closed(this.conn)) {
      const reason = Buffer.from('bye');
      q.quiche_conn_close(this.conn, true, 0, reason, reason.length);
      this.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.free();
  }

  /** Frees the connection, config and sockets without a word. Idempotent. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (this.#timer) clearTimeout(this.#timer);
    q.quiche_conn_free(this.conn);
    q.quiche_config_free(this.#config);
    this.#recvInfo.free();
    for (const socket of this.#sockets.values()) closeUdp(socket);
  }
}
