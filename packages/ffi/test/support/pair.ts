/**
 * An in-memory QUIC client/server pair over the raw bindings: no sockets.
 * Packets leave one connection through `quiche_conn_send` and enter the other
 * through `quiche_conn_recv`, with fake 127.0.0.1 addresses in the
 * `quiche_recv_info`. Every loop here is bounded.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeSendInfo,
  encodeAlpn,
  encodeSockaddr,
  QUICHE_PROTOCOL_VERSION,
  type QuicheConfig,
  type QuicheConn,
  QuicheError,
  QuichePacketType,
  quiche_accept,
  quiche_config_enable_dgram,
  quiche_config_free,
  quiche_config_load_cert_chain_from_pem_file,
  quiche_config_load_priv_key_from_pem_file,
  quiche_config_load_verify_locations_from_file,
  quiche_config_new,
  quiche_config_set_application_protos,
  quiche_config_set_initial_max_data,
  quiche_config_set_initial_max_stream_data_bidi_local,
  quiche_config_set_initial_max_stream_data_bidi_remote,
  quiche_config_set_initial_max_stream_data_uni,
  quiche_config_set_initial_max_streams_bidi,
  quiche_config_set_initial_max_streams_uni,
  quiche_config_set_max_idle_timeout,
  quiche_config_verify_peer,
  quiche_conn_free,
  quiche_conn_is_closed,
  quiche_conn_on_timeout,
  quiche_conn_recv,
  quiche_conn_send,
  quiche_conn_stream_recv,
  quiche_conn_stream_send,
  quiche_conn_timeout_as_nanos,
  quiche_connect,
  quiche_header_info,
  RecvInfo,
  type SocketAddress,
  StructSize,
} from '../../src/index.js';
import type { TestCerts } from './certs.js';

/** The fake client address every pair uses. */
export const CLIENT_ADDR: SocketAddress = { family: 'IPv4', address: '127.0.0.1', port: 40001 };
/** The fake server address every pair uses. */
export const SERVER_ADDR: SocketAddress = { family: 'IPv4', address: '127.0.0.1', port: 4433 };
/** ALPN of the plain-QUIC tests. */
export const TEST_ALPN = 'quichex-test';

const { QUICHE_ERR_DONE } = QuicheError;

/** Encodes a fake address as a `struct sockaddr` (16 bytes for IPv4). */
export function sockaddr(addr: SocketAddress): { buf: Uint8Array; len: number } {
  return encodeSockaddr(addr.address, addr.port);
}

/** Options for {@link makeConfig}; unset flow-control values get roomy defaults. */
export interface ConfigOptions {
  /** QUIC version for `quiche_config_new` (default QUIC v1). */
  version?: number;
  /** ALPN protocols (default {@link TEST_ALPN}). */
  alpn?: readonly string[];
  /** Certificate chain and key (servers). */
  identity?: Pick<TestCerts, 'cert' | 'key'>;
  /** CA file: turns verify_peer on (clients). Without it verify_peer is off. */
  verifyCa?: string;
  /** max_idle_timeout in ms (default 5000). */
  idleTimeoutMs?: number;
  maxData?: number;
  maxStreamDataBidiLocal?: number;
  maxStreamDataBidiRemote?: number;
  maxStreamDataUni?: number;
  maxStreamsBidi?: number;
  maxStreamsUni?: number;
  /** Enables DATAGRAM frames (send and receive queues of 16). */
  dgram?: boolean;
  /** Last chance to call more `quiche_config_*` setters. */
  tweak?: (config: QuicheConfig) => void;
}

/** Creates a config from options. Throws if any setter that reports errors fails. */
export function makeConfig(opts: ConfigOptions = {}): QuicheConfig {
  const config = quiche_config_new(opts.version ?? QUICHE_PROTOCOL_VERSION);
  if (config === null) throw new Error('quiche_config_new returned NULL');
  try {
    const alpn = encodeAlpn(opts.alpn ?? [TEST_ALPN]);
    expectZero(quiche_config_set_application_protos(config, alpn, alpn.length), 'set_application_protos');
    if (opts.identity) {
      expectZero(quiche_config_load_cert_chain_from_pem_file(config, opts.identity.cert), 'load_cert_chain');
      expectZero(quiche_config_load_priv_key_from_pem_file(config, opts.identity.key), 'load_priv_key');
    }
    if (opts.verifyCa) {
      quiche_config_verify_peer(config, true);
      expectZero(
        quiche_config_load_verify_locations_from_file(config, opts.verifyCa),
        'load_verify_locations',
      );
    } else {
      quiche_config_verify_peer(config, false);
    }
    quiche_config_set_max_idle_timeout(config, opts.idleTimeoutMs ?? 5000);
    quiche_config_set_initial_max_data(config, opts.maxData ?? 10_000_000);
    quiche_config_set_initial_max_stream_data_bidi_local(config, opts.maxStreamDataBidiLocal ?? 1_000_000);
    quiche_config_set_initial_max_stream_data_bidi_remote(config, opts.maxStreamDataBidiRemote ?? 1_000_000);
    quiche_config_set_initial_max_stream_data_uni(config, opts.maxStreamDataUni ?? 1_000_000);
    quiche_config_set_initial_max_streams_bidi(config, opts.maxStreamsBidi ?? 100);
    quiche_config_set_initial_max_streams_uni(config, opts.maxStreamsUni ?? 100);
    if (opts.dgram) quiche_config_enable_dgram(config, true, 16, 16);
    opts.tweak?.(config);
    return config;
  } catch (err) {
    quiche_config_free(config);
    throw err;
  }
}

function expectZero(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`quiche_config ${what} failed with ${rc}`);
}

/** What `quiche_header_info` reported about a packet. */
export interface HeaderInfo {
  rc: number;
  version: number;
  type: number;
  scid: Uint8Array;
  dcid: Uint8Array;
  token: Uint8Array;
}

/** Runs `quiche_header_info` with generous capacities and copies the results. */
export function headerInfo(pkt: Uint8Array, dcil = 16): HeaderInfo {
  const version = new Uint32Array(1);
  const type = new Uint8Array(1);
  const scid = new Uint8Array(20);
  const scidLen = new BigUint64Array([BigInt(scid.length)]);
  const dcid = new Uint8Array(20);
  const dcidLen = new BigUint64Array([BigInt(dcid.length)]);
  const token = new Uint8Array(512);
  const tokenLen = new BigUint64Array([BigInt(token.length)]);
  const rc = quiche_header_info(
    pkt,
    pkt.length,
    dcil,
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
    scid: scid.slice(0, Number(scidLen[0])),
    dcid: dcid.slice(0, Number(dcidLen[0])),
    token: token.slice(0, Number(tokenLen[0])),
  };
}

/** Options for {@link Pair}. */
export interface PairOptions {
  client?: ConfigOptions;
  server?: ConfigOptions;
  /** SNI the client sends (default `localhost`; `null` for none). */
  serverName?: string | null;
  /** Length of the client's source connection ID (default 16). */
  clientScidLen?: number;
  /** A server config to share between pairs (not freed by the pair); `server` is ignored then. */
  sharedServerConfig?: QuicheConfig;
  /** Called on the client connection right after `quiche_connect`, before it sends anything. */
  beforeFirstSend?: (client: QuicheConn) => void;
}

type Side = 'client' | 'server';

/** A client connection and (once it has seen an Initial) the server connection. */
export class Pair {
  readonly clientConfig: QuicheConfig;
  readonly serverConfig: QuicheConfig;
  readonly clientScid: Uint8Array;
  readonly serverScid = new Uint8Array(randomBytes(16));
  readonly client: QuicheConn;
  server: QuicheConn | null = null;
  /** Sum of the datagram sizes each side's `quiche_conn_send` produced. */
  readonly bytesSent = { client: 0, server: 0 };
  /** Datagram counts each side's `quiche_conn_send` produced. */
  readonly packetsSent = { client: 0, server: 0 };
  /** Every negative `quiche_conn_recv` result, per receiving side. */
  readonly recvErrors: Record<Side, number[]> = { client: [], server: [] };
  /** The last `quiche_send_info` each side filled, decoded. */
  readonly lastSendInfo: Partial<Record<Side, ReturnType<typeof decodeSendInfo>>> = {};

  readonly #out = new Uint8Array(65_535);
  readonly #sendInfo = new Uint8Array(StructSize.quiche_send_info);
  readonly #recvInfo: Record<Side, RecvInfo> = { client: new RecvInfo(), server: new RecvInfo() };
  readonly #ownsServerConfig: boolean;
  #freed = false;

  constructor(opts: PairOptions = {}) {
    this.clientConfig = makeConfig(opts.client);
    this.#ownsServerConfig = opts.sharedServerConfig === undefined;
    this.serverConfig = opts.sharedServerConfig ?? makeConfig(opts.server);
    this.clientScid = new Uint8Array(randomBytes(opts.clientScidLen ?? 16));
    const local = sockaddr(CLIENT_ADDR);
    const peer = sockaddr(SERVER_ADDR);
    const conn = quiche_connect(
      opts.serverName === undefined ? 'localhost' : opts.serverName,
      this.clientScid,
      this.clientScid.length,
      local.buf,
      local.len,
      peer.buf,
      peer.len,
      this.clientConfig,
    );
    if (conn === null) throw new Error('quiche_connect returned NULL');
    this.client = conn;
    opts.beforeFirstSend?.(conn);
    // Packets for the client come from the server and vice versa.
    this.#recvInfo.client.setFrom(peer.buf, peer.len);
    this.#recvInfo.client.setTo(local.buf, local.len);
    this.#recvInfo.server.setFrom(local.buf, local.len);
    this.#recvInfo.server.setTo(peer.buf, peer.len);
  }

  /** The server connection; throws if no Initial was accepted yet. */
  get srv(): QuicheConn {
    if (this.server === null) throw new Error('server connection not accepted yet');
    return this.server;
  }

  conn(side: Side): QuicheConn {
    return side === 'client' ? this.client : this.srv;
  }

  /** Drains `quiche_conn_send` of one side into copied datagrams (at most `max`). */
  drain(side: Side, max = 1000): Uint8Array[] {
    const conn = side === 'client' ? this.client : this.server;
    if (conn === null) return [];
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < max; i++) {
      const n = quiche_conn_send(conn, this.#out, this.#out.length, this.#sendInfo);
      if (n === QUICHE_ERR_DONE) break;
      if (n < 0) throw new Error(`quiche_conn_send (${side}) failed with ${n}`);
      this.bytesSent[side] += n;
      this.packetsSent[side] += 1;
      this.lastSendInfo[side] = decodeSendInfo(this.#sendInfo);
      pkts.push(this.#out.slice(0, n));
    }
    return pkts;
  }

  /** Feeds one datagram to one side; returns `quiche_conn_recv`'s result. */
  deliver(side: Side, pkt: Uint8Array): number {
    const rc = quiche_conn_recv(this.conn(side), pkt, pkt.length, this.#recvInfo[side].ptr);
    if (rc < 0) this.recvErrors[side].push(rc);
    return rc;
  }

  /**
   * Creates the server connection from a client Initial, the way a server
   * without Retry does: `quiche_header_info` then `quiche_accept` with our
   * own source connection ID.
   */
  accept(pkt: Uint8Array, odcid: Uint8Array | null = null, scid: Uint8Array = this.serverScid): QuicheConn {
    const hdr = headerInfo(pkt);
    if (hdr.rc !== 0 || hdr.type !== QuichePacketType.INITIAL) {
      throw new Error(`expected a client Initial, header_info rc=${hdr.rc} type=${hdr.type}`);
    }
    const local = sockaddr(SERVER_ADDR);
    const peer = sockaddr(CLIENT_ADDR);
    const conn = quiche_accept(
      scid,
      scid.length,
      odcid,
      odcid?.length ?? 0,
      local.buf,
      local.len,
      peer.buf,
      peer.len,
      this.serverConfig,
    );
    if (conn === null) throw new Error('quiche_accept returned NULL');
    this.server = conn;
    return conn;
  }

  /**
   * Shuttles datagrams both ways until neither side has anything to send
   * (or `maxRounds` is reached). Accepts the server on the first client
   * datagram if it does not exist yet. Returns the number of rounds used.
   */
  pump(maxRounds = 100): number {
    for (let round = 0; round < maxRounds; round++) {
      const fromClient = this.drain('client');
      for (const pkt of fromClient) {
        if (this.server === null) this.accept(pkt);
        this.deliver('server', pkt);
      }
      const fromServer = this.drain('server');
      for (const pkt of fromServer) this.deliver('client', pkt);
      if (fromClient.length === 0 && fromServer.length === 0) return round;
    }
    throw new Error(`pair did not go quiet within ${maxRounds} rounds`);
  }

  /**
   * Lets real time pass and fires `quiche_conn_on_timeout` on both sides,
   * pumping in between, until `done()` holds. Gives up after `maxMs`.
   */
  async runTimersUntil(done: () => boolean, maxMs = 5000): Promise<boolean> {
    const deadline = Date.now() + maxMs;
    for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
      if (done()) return true;
      let waitNs = 50_000_000n; // poll at least every 50 ms
      for (const conn of [this.client, this.server]) {
        if (conn === null || quiche_conn_is_closed(conn)) continue;
        const t = BigInt(quiche_conn_timeout_as_nanos(conn));
        if (t < waitNs) waitNs = t;
      }
      await sleep(Math.max(1, Math.ceil(Number(waitNs) / 1e6)));
      for (const conn of [this.client, this.server]) {
        if (conn !== null) quiche_conn_on_timeout(conn);
      }
      this.pump();
    }
    return done();
  }

  /** Frees both connections, both configs and the recv_info blocks. Idempotent. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    quiche_conn_free(this.client);
    if (this.server !== null) quiche_conn_free(this.server);
    quiche_config_free(this.clientConfig);
    if (this.#ownsServerConfig) quiche_config_free(this.serverConfig);
    this.#recvInfo.client.free();
    this.#recvInfo.server.free();
  }
}

/** Result of {@link streamRecv}. */
export interface StreamRead {
  /** Return value of the last `quiche_conn_stream_recv` call. */
  rc: number;
  /** Every byte read. */
  data: Uint8Array;
  /** Whether a read reported `fin`. */
  fin: boolean;
  /** `out_error_code` after the last call. */
  errorCode: bigint;
}

/** Reads a stream until `QUICHE_ERR_DONE`, fin, or an error (bounded). */
export function streamRecv(conn: QuicheConn, streamId: number, chunk = 4096): StreamRead {
  const buf = new Uint8Array(chunk);
  const fin = new Uint8Array(1);
  const err = new BigUint64Array(1);
  const parts: Uint8Array[] = [];
  let rc = 0;
  let sawFin = false;
  for (let i = 0; i < 100_000; i++) {
    fin[0] = 0;
    rc = quiche_conn_stream_recv(conn, streamId, buf, buf.length, fin, err);
    if (rc < 0) break;
    parts.push(buf.slice(0, rc));
    if (fin[0] !== 0) {
      sawFin = true;
      break;
    }
  }
  return { rc, data: Buffer.concat(parts), fin: sawFin, errorCode: err[0]! };
}

/** `quiche_conn_stream_send` with an out-param for the error code. */
export function streamSend(
  conn: QuicheConn,
  streamId: number,
  data: Uint8Array,
  fin: boolean,
): { rc: number; errorCode: bigint } {
  const err = new BigUint64Array(1);
  const rc = quiche_conn_stream_send(conn, streamId, data, data.length, fin, err);
  return { rc, errorCode: err[0]! };
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** A string from UTF-8 bytes. */
export function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}
