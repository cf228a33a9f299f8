/**
 * `connect()`: a client connection on its own UDP socket.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import { Config, kHandle } from './config.js';
import { Connection } from './connection.js';
import { Endpoint, openClientSocket, toSockaddr } from './endpoint.js';
import { abortReason, QuicError } from './errors.js';
import { attachLogs, type ConnectionLogOptions, checkLogOptions } from './logging.js';
import { checkInt, checkPort, checkSignal, checkString, describe } from './validate.js';

const debug = debuglog('quichex');

/** Options of {@link connect}. */
export interface ConnectOptions extends ConnectionLogOptions {
  /** Server host name or IP literal (IPv4 or IPv6). */
  host: string;
  /** Server UDP port. */
  port: number;
  /** Client configuration (ALPN required; CA for verification). */
  config: Config;
  /** TLS server name to send and verify (default: `host` when it is a name; none for IP literals). */
  serverName?: string;
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
}

/**
 * Opens a QUIC connection and resolves once the handshake completed.
 *
 * Rejects with a {@link QuicError}: `QUICHE_ERR_TLS_FAIL` (certificate or
 * name rejected), `ERR_QUIC_ALPN_MISMATCH`, `ERR_QUIC_CONNECTION_REFUSED`,
 * `ERR_QUIC_HANDSHAKE_TIMEOUT`, `ERR_QUIC_UNREACHABLE`, `ERR_QUIC_SOCKET`;
 * or with `signal.reason` when aborted.
 *
 * @example
 * ```ts
 * const config = new Config({ alpn: ['echo'], caFile: 'ca.pem' });
 * const conn = await connect({ host: 'localhost', port: 4433, config });
 * console.log(conn.info().alpn); // 'echo'
 * ```
 */
export async function connect(options: ConnectOptions): Promise<Connection> {
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
  const localPort = options.localPort === undefined ? 0 : checkPort('localPort', options.localPort);
  if (options.localAddress !== undefined && isIP(options.localAddress) === 0) {
    throw new TypeError(`localAddress must be an IP address, got ${describe(options.localAddress)}`);
  }
  const logs = checkLogOptions(options);
  const signal = checkSignal(options.signal);
  if (signal?.aborted) throw abortReason(signal);
  if (options.session !== undefined && !(options.session instanceof Uint8Array)) {
    throw new TypeError(`session must be a Uint8Array, got ${describe(options.session)}`);
  }
  if (options.gso !== undefined && typeof options.gso !== 'boolean') {
    throw new TypeError(`gso must be a boolean, got ${describe(options.gso)}`);
  }
  if (options.earlyData !== undefined && typeof options.earlyData !== 'boolean') {
    throw new TypeError(`earlyData must be a boolean, got ${describe(options.earlyData)}`);
  }

  let address: string;
  try {
    address = isIP(host) ? host : (await lookup(host, { verbatim: true })).address;
  } catch (err) {
    throw new QuicError(
      'ERR_QUIC_UNREACHABLE',
      `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code}`,
      { cause: err },
    );
  }
  if (signal?.aborted) throw abortReason(signal);
  const v6 = isIP(address) === 6;
  const socket = await openClientSocket(
    v6,
    options.localAddress ?? (v6 ? '::' : '0.0.0.0'),
    localPort,
    address,
    port,
  );
  const endpoint = new Endpoint(socket, config.maxSendUdpPayloadSize, true, options.gso ?? true);
  const peer = { family: v6 ? 'IPv6' : 'IPv4', address, port } as const;
  const peerSa = toSockaddr(address, port, v6);

  config.prepareFor('client', logs.keylogFile !== undefined);
  const scid = randomBytes(16);
  const handle = q.quiche_connect(
    serverName,
    scid,
    scid.length,
    endpoint.localSockaddr.buf,
    endpoint.localSockaddr.len,
    peerSa.buf,
    peerSa.len,
    config[kHandle],
  );
  if (handle === null) {
    endpoint.close();
    throw new QuicError('ERR_QUIC_TRANSPORT_ERROR', 'quiche could not create the client connection');
  }
  attachLogs(handle, logs, 'client');
  if (options.session && options.session.length > 0) {
    const rc = q.quiche_conn_set_session(handle, options.session, options.session.length);
    if (rc < 0) debug('session not usable (%d): full handshake', rc);
  }
  const conn = new Connection(
    handle,
    endpoint,
    peer,
    { onClosed: () => endpoint.close() },
    {
      isServer: false,
      dgramEnabled: config.dgram.enabled,
      dgramRecvQueueLen: config.dgram.recvQueueLen,
    },
  );
  socket.on('message', (msg, rinfo) => conn.receive(msg, rinfo.address, rinfo.port, endpoint));
  const onSocketError = (err: NodeJS.ErrnoException): void => {
    // On a connected socket, ICMP "port unreachable" arrives as ECONNREFUSED.
    if (
      !conn.established &&
      (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH')
    ) {
      conn.fail(
        new QuicError('ERR_QUIC_UNREACHABLE', `${host}:${port} is unreachable (${err.code})`, { cause: err }),
      );
    }
  };
  socket.on('error', onSocketError);
  // The error may instead come back from a send (the kernel reports it once, to whichever comes first).
  endpoint.onSendError = onSocketError;
  conn.flush();
  if (options.earlyData && q.quiche_conn_is_in_early_data(handle)) return conn;

  const timeout = AbortSignal.timeout(handshakeTimeout);
  const wait = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    await conn.waitEstablished(wait);
    return conn;
  } catch (err) {
    if (signal?.aborted) {
      conn.destroy();
      throw abortReason(signal);
    }
    if (timeout.aborted && !(err instanceof QuicError)) {
      conn.destroy();
      throw new QuicError(
        'ERR_QUIC_HANDSHAKE_TIMEOUT',
        `handshake with ${host}:${port} did not complete within ${handshakeTimeout} ms`,
      );
    }
    conn.destroy();
    throw err;
  }
}
