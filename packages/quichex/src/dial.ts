/**
 * Dialling: a client connection on a given socket, shared by `connect()`
 * (a socket of its own) and `Endpoint.connect()` (the endpoint's socket).
 *
 * @module
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import type { ApplicationFactory } from './application.js';
import { Config, kHandle } from './config.js';
import { Connection, internals } from './connection.js';
import { ConnCore } from './core/conn-core.js';
import type { CidRouter } from './driver/cid-router.js';
import { CID_LEN } from './driver/cid-router.js';
import { ConnectionDriver } from './driver/conn-driver.js';
import { randomSlice } from './driver/random-pool.js';
import { toSockaddr, type UdpSocket } from './driver/udp-socket.js';
import { abortReason, QuicError } from './errors.js';
import { attachLogs, type ConnectionLogOptions, checkLogOptions } from './logging.js';
import { checkInt, checkPort, checkSignal, checkString, describe, keepAliveInterval } from './validate.js';

const debug = debuglog('quichex');

/** Options of `connect()` and `Endpoint.connect()`. */
export interface DialOptions extends ConnectionLogOptions {
  /** Server host name or IP literal (IPv4 or IPv6). */
  host: string;
  /** Server UDP port. */
  port: number;
  /** Client configuration (ALPN required; CA for verification). */
  config: Config;
  /**
   * TLS server name to send (SNI) and check the certificate against
   * (default: `host` when it is a name; for an IP literal none is sent, and
   * the certificate is checked against the address, as node:tls does).
   */
  serverName?: string;
  /**
   * Receives this connection's TLS key log lines (NSS format, each with its
   * newline), from the first handshake packet on, as node:tls's `'keylog'`
   * event does: for Wireshark; keep them secret.
   */
  onKeylog?: (line: Buffer) => void;
  /** Local address to bind (default: any, of the server address's family). */
  localAddress?: string;
  /** Local port to bind (default: ephemeral). */
  localPort?: number;
  /** Give up if the handshake has not completed after this many ms (default 10 000). */
  handshakeTimeout?: number;
  /** Aborts the attempt; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * A session from an earlier connection to the same server
   * (`conn.session()` or the `'session'` event), to resume it: a shorter
   * handshake, and 0-RTT with `earlyData`. An unusable session falls back to
   * a full handshake.
   */
  session?: Uint8Array;
  /**
   * With a `session` and a config that enabled early data: resolve as soon as
   * 0-RTT is possible, so streams and datagrams written before the handshake
   * completes travel as early data. Check `info().earlyData` afterwards:
   * `'rejected'` means quiche resent that data after the handshake.
   */
  earlyData?: boolean;
  /**
   * Send runs of datagrams with one `sendmsg` through UDP generic
   * segmentation offload where the platform has it (Linux), falling back to
   * one `dgram` send per datagram otherwise (default `true`).
   */
  gso?: boolean;
  /**
   * Receive and send buffer size asked of the kernel for the UDP socket, in
   * bytes (default 4 MiB; Linux caps it at `net.core.rmem_max`/`wmem_max`).
   * Smaller buffers drop bursts; larger ones queue more behind a busy
   * process: see the performance guide's "Socket buffers".
   */
  socketBufferSize?: number;
  /**
   * Keep a quiet connection open: after this many ms without hearing from
   * the peer, send an ack-eliciting packet (a PING), which the peer answers.
   * `true` picks half the idle timeout. Default off: an idle connection
   * closes after `maxIdleTimeout`.
   */
  keepAlive?: boolean | number;
  /**
   * An application protocol that drives this connection's streams instead
   * of the raw stream API (see {@link ApplicationFactory}).
   */
  application?: ApplicationFactory;
}

/** Options checked once, before any socket is opened. */
export interface CheckedDial {
  readonly host: string;
  readonly port: number;
  readonly config: Config;
  readonly serverName: string | null;
  readonly handshakeTimeout: number;
  readonly logs: { qlogDir?: string; keylogFile?: string };
  readonly signal: AbortSignal | undefined;
  readonly keepAliveMs: number | null;
}

/** Validates the options common to every dial; throws TypeError/RangeError naming the option. */
export function checkDialOptions(options: DialOptions): CheckedDial {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const host = checkString('host', options.host);
  const port = checkPort('port', options.port);
  if (port === 0) throw new RangeError('port must be an integer in 1..65535, got 0');
  const config = options.config;
  if (!(config instanceof Config)) throw new TypeError(`config must be a Config, got ${describe(config)}`);
  if (config.freed) throw new QuicError('ERR_QUIC_DESTROYED', 'config has been freed');
  if (config.alpn.length === 0)
    throw new TypeError('config must set alpn (application protocols) to connect');
  const serverName =
    options.serverName === undefined
      ? isIP(host)
        ? null
        : host
      : checkString('serverName', options.serverName);
  if (serverName !== null && Buffer.byteLength(serverName) > 255)
    throw new RangeError('serverName must be at most 255 bytes');
  const handshakeTimeout = checkInt(
    'handshakeTimeout',
    options.handshakeTimeout ?? 10_000,
    1,
    3_600_000,
  ) as number;
  const logs = checkLogOptions(options, 'client');
  if (options.onKeylog !== undefined && typeof options.onKeylog !== 'function')
    throw new TypeError(`onKeylog must be a function, got ${describe(options.onKeylog)}`);
  const signal = checkSignal(options.signal);
  if (options.session !== undefined && !(options.session instanceof Uint8Array)) {
    throw new TypeError(`session must be a Uint8Array, got ${describe(options.session)}`);
  }
  if (options.earlyData !== undefined && typeof options.earlyData !== 'boolean') {
    throw new TypeError(`earlyData must be a boolean, got ${describe(options.earlyData)}`);
  }
  if (options.application !== undefined && typeof options.application !== 'function') {
    throw new TypeError(`application must be a function, got ${describe(options.application)}`);
  }
  const keepAliveMs = keepAliveInterval(options.keepAlive, config.maxIdleTimeout);
  return { host, port, config, serverName, handshakeTimeout, logs, signal, keepAliveMs };
}

/**
 * Every address of `host`, IPv6 and IPv4 alternating from the resolver's
 * first answer (IP literals as they are).
 */
export async function resolveAll(
  host: string,
  lookupAll?: (hostname: string) => Promise<readonly { address: string; family: number }[]>,
): Promise<string[]> {
  if (isIP(host)) return [host];
  let answers: readonly { address: string; family: number }[];
  try {
    answers = lookupAll ? await lookupAll(host) : await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new QuicError(
      'ERR_QUIC_UNREACHABLE',
      `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code}`,
      {
        cause: err,
      },
    );
  }
  const addresses = [...new Set(answers.map((a) => a.address))].filter((a) => isIP(a) !== 0);
  if (addresses.length === 0) throw new QuicError('ERR_QUIC_UNREACHABLE', `${host} has no address`);
  const first = isIP(addresses[0]!);
  const same = addresses.filter((a) => isIP(a) === first);
  const other = addresses.filter((a) => isIP(a) !== first);
  const out: string[] = [];
  for (let i = 0; i < Math.max(same.length, other.length); i++) {
    if (i < same.length) out.push(same[i]!);
    if (i < other.length) out.push(other[i]!);
  }
  return out;
}

/**
 * Starts a client connection to `address` on `socket` and resolves once the
 * handshake completed (or 0-RTT is possible, with `earlyData`). `setup` runs
 * right after the connection exists, before its first packet.
 */
export async function dialAddress(
  socket: UdpSocket,
  router: CidRouter<ConnectionDriver>,
  options: DialOptions,
  checked: CheckedDial,
  address: string,
  setup: (conn: Connection, driver: ConnectionDriver) => void,
): Promise<Connection> {
  const { host, port, config, serverName, handshakeTimeout, logs, signal } = checked;
  if (signal?.aborted) throw abortReason(signal);
  // A dual-stack socket sees IPv4 peers as mapped addresses: name them so from the start.
  if (socket.isV6 && isIP(address) === 4) address = `::ffff:${address}`;
  const peer = { family: isIP(address) === 6 ? 'IPv6' : 'IPv4', address, port } as const;
  const peerSa = toSockaddr(address, port, socket.isV6);
  socket.growPacketSize(config.maxSendUdpPayloadSize);
  config.prepareFor('client', logs.keylogFile !== undefined || options.onKeylog !== undefined);
  const scid = randomSlice(CID_LEN);
  const handle = q.quiche_connect(
    serverName,
    scid,
    scid.length,
    socket.localSockaddr.buf,
    socket.localSockaddr.len,
    peerSa.buf,
    peerSa.len,
    config[kHandle],
  );
  if (handle === null)
    throw new QuicError('ERR_QUIC_TRANSPORT_ERROR', 'quiche could not create the client connection');
  const detachKeylog = attachLogs(handle, logs, 'client', options.onKeylog);
  if (options.session && options.session.length > 0) {
    const rc = q.quiche_conn_set_session(handle, options.session, options.session.length);
    if (rc < 0) debug('session not usable (%d): full handshake', rc);
  }
  const core = new ConnCore(handle, {
    isServer: false,
    dgramEnabled: config.dgram.enabled,
    earlyData: config.earlyData,
    authorize: config.authorizerFor('client', serverName ?? host),
  });
  const driver = new ConnectionDriver(core, socket, peer, {
    router,
    keepAliveMs: checked.keepAliveMs,
    peerSockaddr: peerSa,
  });
  router.add(driver, scid.toString('latin1'));
  if (detachKeylog) driver.onReleased(detachKeylog);
  const conn = new Connection(driver, {
    dgramRecvQueueLen: config.dgram.recvQueueLen,
    paced: config.pacedFor('client'),
    application: options.application,
  });
  setup(conn, driver);
  driver.flush();
  if (options.earlyData && q.quiche_conn_is_in_early_data(handle)) return conn;

  // A plain timer that fails the wait, rather than an AbortSignal.timeout()
  // (and AbortSignal.any() with the caller's signal): those cost a timer that
  // cannot be cancelled, and more, for every connection.
  const timer = setTimeout(() => {
    internals.failWaitEstablished(
      conn,
      new QuicError(
        'ERR_QUIC_HANDSHAKE_TIMEOUT',
        `handshake with ${host}:${port} did not complete within ${handshakeTimeout} ms`,
      ),
    );
  }, handshakeTimeout).unref();
  try {
    await internals.waitEstablished(conn, signal);
    return conn;
  } catch (err) {
    conn.destroy();
    if (signal?.aborted) throw abortReason(signal);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** `Endpoint.connect()`: dials from a shared socket. */
export async function dial(
  socket: UdpSocket,
  router: CidRouter<ConnectionDriver>,
  options: DialOptions,
  setup: (conn: Connection) => void,
): Promise<Connection> {
  const checked = checkDialOptions(options);
  if (checked.signal?.aborted) throw abortReason(checked.signal);
  const addresses = await resolveAll(checked.host);
  // A dual-stack socket reaches either family; an IPv4 one only IPv4.
  const address = addresses.find((a) => socket.isV6 || isIP(a) === 4);
  if (address === undefined)
    throw new QuicError('ERR_QUIC_UNREACHABLE', `${addresses[0]} is IPv6 but the endpoint's socket is IPv4`);
  return dialAddress(socket, router, options, checked, address, (conn) => setup(conn));
}
