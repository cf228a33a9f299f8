/**
 * `connect()`: a client connection on a UDP socket of its own, connected to
 * the server so that ICMP errors are reported and only the server's packets
 * arrive. The socket closes with the connection.
 *
 * @module
 */
import { isIP } from 'node:net';
import type { Connection } from './connection.js';
import { checkDialOptions, type DialOptions, dialAddress, resolveHost } from './dial.js';
import { CidRouter } from './driver/cid-router.js';
import type { ConnectionDriver } from './driver/conn-driver.js';
import { openClientSocket, UdpSocket } from './driver/udp-socket.js';
import { abortReason, QuicError } from './errors.js';
import { checkPort, describe } from './validate.js';

/** Options of {@link connect}. */
export interface ConnectOptions extends DialOptions {
  /** Local address to bind (default: any, of the server address's family). */
  localAddress?: string;
  /** Local port to bind (default: ephemeral). */
  localPort?: number;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

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
  const checked = checkDialOptions(options);
  const localPort = options.localPort === undefined ? 0 : checkPort('localPort', options.localPort);
  if (options.localAddress !== undefined && isIP(options.localAddress) === 0) {
    throw new TypeError(`localAddress must be an IP address, got ${describe(options.localAddress)}`);
  }
  if (options.gso !== undefined && typeof options.gso !== 'boolean') {
    throw new TypeError(`gso must be a boolean, got ${describe(options.gso)}`);
  }
  const { signal, host, port } = checked;
  if (signal?.aborted) throw abortReason(signal);
  const address = await resolveHost(host);
  if (signal?.aborted) throw abortReason(signal);
  const v6 = isIP(address) === 6;
  const udp = await openClientSocket(
    v6,
    options.localAddress ?? (v6 ? '::' : '0.0.0.0'),
    localPort,
    address,
    port,
  );
  const socket = new UdpSocket(udp, checked.config.maxSendUdpPayloadSize, true, options.gso ?? true);
  const wire = (conn: Connection, driver: ConnectionDriver): void => {
    driver.onFinished(() => socket.close());
    udp.on('message', (msg, rinfo) => driver.receive(msg, rinfo.address, rinfo.port, socket));
    const onSocketError = (err: NodeJS.ErrnoException): void => {
      // On a connected socket, ICMP "port unreachable" arrives as ECONNREFUSED.
      if (!conn.established && err.code !== undefined && UNREACHABLE.has(err.code)) {
        driver.fail(
          new QuicError('ERR_QUIC_UNREACHABLE', `${host}:${port} is unreachable (${err.code})`, {
            cause: err,
          }),
        );
      }
    };
    udp.on('error', onSocketError);
    // The error may instead come back from a send (the kernel reports it once, to whichever comes first).
    socket.onSendError = onSocketError;
  };
  try {
    return await dialAddress(socket, new CidRouter(), options, checked, address, wire);
  } catch (err) {
    socket.close(); // idempotent: a connection that existed closed it already
    throw err;
  }
}
