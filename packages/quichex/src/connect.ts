/**
 * `connect()`: a client connection on a UDP socket of its own, connected to
 * the server so that ICMP errors are reported and only the server's packets
 * arrive. The socket closes with the connection.
 *
 * @module
 */
import { isIP } from 'node:net';
import type { Connection } from './connection.js';
import { type CheckedDial, checkDialOptions, type DialOptions, dialAddress, resolveAll } from './dial.js';
import { CidRouter } from './driver/cid-router.js';
import type { ConnectionDriver } from './driver/conn-driver.js';
import { checkSocketBufferSize, openClientSocket, UdpSocket } from './driver/udp-socket.js';
import { abortReason, QuicError } from './errors.js';
import { checkInt, checkPort, describe } from './validate.js';

/** One answer of a {@link ConnectOptions.lookup} function (the shape `dns.lookup` gives). */
export interface LookupAddress {
  /** An IPv4 or IPv6 address. */
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends DialOptions {
  /** Local address to bind (default: any, of the server address's family). */
  localAddress?: string;
  /** Local port to bind (default: ephemeral). */
  localPort?: number;
  /**
   * When `host` has several addresses: how long (ms) one attempt runs alone
   * before the next address is tried alongside it (default 250, as Node's
   * `autoSelectFamilyAttemptTimeout`). Addresses alternate between IPv6 and
   * IPv4, starting with the resolver's first; the first handshake to
   * complete wins and the others are abandoned.
   */
  attemptDelay?: number;
  /** Resolves `host` to its addresses (default: `dns.lookup` with `all: true`). */
  lookup?: (hostname: string) => Promise<readonly LookupAddress[]>;
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
  checkSocketBufferSize(options.socketBufferSize);
  const attemptDelay = checkInt('attemptDelay', options.attemptDelay ?? 250, 10, 60_000) as number;
  if (options.lookup !== undefined && typeof options.lookup !== 'function')
    throw new TypeError(`lookup must be a function, got ${describe(options.lookup)}`);
  const { signal, host } = checked;
  if (signal?.aborted) throw abortReason(signal);
  let addresses = await resolveAll(host, options.lookup);
  if (options.localAddress !== undefined) {
    const family = isIP(options.localAddress);
    addresses = addresses.filter((a) => isIP(a) === family);
    if (addresses.length === 0)
      throw new QuicError(
        'ERR_QUIC_UNREACHABLE',
        `${host} has no IPv${family} address to reach from ${options.localAddress}`,
      );
  }
  if (signal?.aborted) throw abortReason(signal);
  if (addresses.length === 1) return connectTo(addresses[0]!, checked, options, localPort);
  try {
    return await firstToConnect(addresses, attemptDelay, (address, abort) =>
      connectTo(
        address,
        { ...checked, signal: signal ? AbortSignal.any([signal, abort]) : abort },
        options,
        localPort,
      ),
    );
  } catch (errors) {
    if (signal?.aborted) throw abortReason(signal);
    // The most telling failure: a refusal or TLS error over "unreachable".
    const all = errors as unknown[];
    throw all.find((e) => !(e instanceof QuicError && e.code === 'ERR_QUIC_UNREACHABLE')) ?? all[0];
  }
}

/** One attempt: a socket of its own to `address`, then the handshake. */
async function connectTo(
  address: string,
  checked: CheckedDial,
  options: ConnectOptions,
  localPort: number,
): Promise<Connection> {
  const { host, port } = checked;
  const v6 = isIP(address) === 6;
  const bufferSize = checkSocketBufferSize(options.socketBufferSize);
  const udp = await openClientSocket(
    v6,
    options.localAddress ?? (v6 ? '::' : '0.0.0.0'),
    localPort,
    address,
    port,
    bufferSize,
  );
  if (checked.signal?.aborted) {
    udp.close();
    throw abortReason(checked.signal);
  }
  const socket = new UdpSocket(udp, checked.config.maxSendUdpPayloadSize, true, options.gso ?? true);
  socket.bufferSize = bufferSize;
  const wire = (conn: Connection, driver: ConnectionDriver): void => {
    driver.onReleased(() => socket.close());
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

/**
 * Runs `attempt` on each address, the next one starting when the previous
 * failed or after `delay` ms; resolves with the first connection, abandons
 * the rest. Rejects with every attempt's error when none connected.
 */
function firstToConnect(
  addresses: readonly string[],
  delay: number,
  attempt: (address: string, abort: AbortSignal) => Promise<Connection>,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const aborts: AbortController[] = [];
    const errors: unknown[] = [];
    let next = 0;
    let running = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const start = (): void => {
      clearTimeout(timer);
      if (settled || next >= addresses.length) return;
      const abort = new AbortController();
      aborts.push(abort);
      const address = addresses[next++]!;
      running++;
      attempt(address, abort.signal).then(
        (conn) => {
          running--;
          if (settled) {
            conn.destroy();
            return;
          }
          settled = true;
          clearTimeout(timer);
          for (const other of aborts) if (other !== abort) other.abort();
          resolve(conn);
        },
        (err: unknown) => {
          running--;
          if (settled) return;
          errors.push(err);
          if (next < addresses.length) start();
          else if (running === 0) {
            settled = true;
            reject(errors);
          }
        },
      );
      if (next < addresses.length) timer = setTimeout(start, delay);
    };
    start();
  });
}
