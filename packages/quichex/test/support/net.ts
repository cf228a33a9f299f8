/**
 * Helpers for tests that look at the wire: bounded waits, a plain UDP
 * socket that records what it receives, and a raw quiche client (straight
 * from @quichex/ffi) that produces real Initial packets without quichex.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import * as q from '@quichex/ffi';
import { within } from '../../../../test/support/within.js';
import type { Connection } from '../../src/index.js';

export { within };

/** Polls `check` every 10 ms until it returns true; fails after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited >= ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Opens a bidi stream, sends `text` with FIN and returns what came back. */
export async function echo(conn: Connection, text: string): Promise<string> {
  const stream = await conn.openStream();
  await stream.end(text);
  return (await within(stream.readAll(), 5000, `the echo of ${JSON.stringify(text)}`)).toString();
}

/** A plain UDP socket on 127.0.0.1 that queues every datagram it receives. */
export class UdpPeer {
  readonly socket: dgram.Socket;
  readonly #inbox: Buffer[] = [];
  #wake: (() => void) | null = null;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on('message', (msg) => {
      this.#inbox.push(msg);
      this.#wake?.();
    });
  }

  /** Binds a new socket on 127.0.0.1, port 0. */
  static async open(): Promise<UdpPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    return new UdpPeer(socket);
  }

  /** The bound port. */
  get port(): number {
    return this.socket.address().port;
  }

  /** Sends one datagram to 127.0.0.1:`port` and waits for the kernel to take it. */
  send(data: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The next received datagram; rejects after `ms`. */
  async next(ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const msg = this.#inbox.shift();
      if (msg) return msg;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no datagram arrived within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Drops everything received so far. */
  clear(): void {
    this.#inbox.length = 0;
  }

  close(): void {
    this.socket.close();
  }
}

/** What `quiche_header_info` reports about a datagram. */
export interface Header {
  rc: number;
  version: number;
  type: number;
  scid: Buffer;
  dcid: Buffer;
  token: Buffer;
}

/** Parses a datagram's header with quiche (short headers assume a 16-byte DCID). */
export function header(packet: Uint8Array): Header {
  const version = new Uint32Array(1);
  const type = new Uint8Array(1);
  const scid = new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN);
  const scidLen = new BigUint64Array([BigInt(scid.length)]);
  const dcid = new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN);
  const dcidLen = new BigUint64Array([BigInt(dcid.length)]);
  const token = new Uint8Array(1024);
  const tokenLen = new BigUint64Array([BigInt(token.length)]);
  const rc = q.quiche_header_info(
    packet,
    packet.length,
    16,
    version,
    type,
    scid,
    scidLen,
    dcid,
    dcidLen,
    token,
    tokenLen,
  );
  return {
    rc,
    version: version[0]!,
    type: type[0]!,
    scid: Buffer.from(scid.subarray(0, Number(scidLen[0]))),
    dcid: Buffer.from(dcid.subarray(0, Number(dcidLen[0]))),
    token: Buffer.from(token.subarray(0, Number(tokenLen[0]))),
  };
}

/**
 * A client connection made directly with quiche_connect (no verification),
 * bound to a {@link UdpPeer}'s address: it yields real client packets, and
 * takes the server's answers back through {@link RawClient.receive}.
 */
export class RawClient {
  readonly #config: q.QuicheConfig;
  readonly #conn: q.QuicheConn;
  readonly #recvInfo = new q.RecvInfo();
  readonly #sendInfo = new Uint8Array(q.StructSize.quiche_send_info);

  constructor(localPort: number, serverPort: number, options: { version?: number; alpn?: string } = {}) {
    const config = q.quiche_config_new(options.version ?? q.QUICHE_PROTOCOL_VERSION);
    if (config === null) throw new Error('quiche_config_new failed');
    this.#config = config;
    const alpn = q.encodeAlpn([options.alpn ?? 'test']);
    q.quiche_config_set_application_protos(config, alpn, alpn.length);
    q.quiche_config_verify_peer(config, false);
    q.quiche_config_set_initial_max_data(config, 1_000_000);
    q.quiche_config_set_initial_max_stream_data_bidi_local(config, 100_000);
    const local = q.encodeSockaddr('127.0.0.1', localPort);
    const peer = q.encodeSockaddr('127.0.0.1', serverPort);
    const scid = randomBytes(16);
    const conn = q.quiche_connect(
      'localhost',
      scid,
      scid.length,
      local.buf,
      local.len,
      peer.buf,
      peer.len,
      config,
    );
    if (conn === null) {
      q.quiche_config_free(config);
      throw new Error('quiche_connect failed');
    }
    this.#conn = conn;
    this.#recvInfo.setFrom(peer.buf, peer.len);
    this.#recvInfo.setTo(local.buf, local.len);
  }

  /** Every packet the client wants to send now (bounded). */
  drain(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      const buf = Buffer.alloc(1500);
      const n = q.quiche_conn_send(this.#conn, buf, buf.length, this.#sendInfo);
      if (n < 0) break;
      out.push(buf.subarray(0, n));
    }
    return out;
  }

  /** Feeds one datagram from the server; returns quiche's result. */
  receive(packet: Buffer): number {
    return q.quiche_conn_recv(this.#conn, packet, packet.length, this.#recvInfo.ptr);
  }

  free(): void {
    q.quiche_conn_free(this.#conn);
    q.quiche_config_free(this.#config);
    this.#recvInfo.free();
  }
}
