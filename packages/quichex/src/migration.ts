/**
 * Client migration: move a connection to a new local socket once the peer
 * has proven the new path reachable (probe first, then switch, as RFC 9000
 * §9 intends).
 *
 * @module
 */
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import type { PathEvent } from './core/path-events.js';
import * as s from './core/scratch.js';
import type { ConnectionDriver } from './driver/conn-driver.js';
import { openClientSocket, UdpSocket } from './driver/udp-socket.js';
import { QuicError, quicheError } from './errors.js';
import { checkSignal } from './validate.js';

const debug = debuglog('quichex');

/** What migration needs of the public connection: its path events and its end. */
interface PathSource {
  on(event: 'path', fn: (event: PathEvent) => void): unknown;
  off(event: 'path', fn: (event: PathEvent) => void): unknown;
  readonly closed: Promise<unknown>;
}

/** Migrates `driver`'s connection to a new socket; resolves with the path event that validated it. */
export async function migrate(
  conn: PathSource,
  driver: ConnectionDriver,
  options: { localAddress?: string; localPort?: number; signal?: AbortSignal },
): Promise<PathEvent> {
  const core = driver.core;
  if (core.isServer)
    throw new QuicError('QUICHE_ERR_INVALID_STATE', 'only a client can migrate its connection');
  const signal = checkSignal(options.signal);
  if (driver.finished) throw driver.closeError;
  const v6 = driver.socket.isV6;
  const udp = await openClientSocket(
    v6,
    options.localAddress ?? (v6 ? '::' : '0.0.0.0'),
    options.localPort ?? 0,
    driver.peer.address,
    driver.peer.port,
    driver.socket.bufferSize,
  );
  const socket = new UdpSocket(udp, driver.socket.packetSize, true);
  socket.bufferSize = driver.socket.bufferSize;
  const handle = core.handle;
  if (handle === null) {
    socket.close();
    throw driver.closeError;
  }
  udp.on('message', (msg, rinfo) => driver.receive(msg, rinfo.address, rinfo.port, socket));
  udp.on('error', (err) => debug('migrated socket error: %s', err.message));
  const peer = driver.peerSockaddr;
  const rc = q.quiche_conn_probe_path(
    handle,
    socket.localSockaddr.buf,
    socket.localSockaddr.len,
    peer.buf,
    peer.len,
    s.u64Out,
  );
  if (rc < 0) {
    socket.close();
    throw quicheError(rc, 'migrate');
  }
  driver.sockets.push(socket);
  const local = socket.local;
  const outcome = new Promise<PathEvent>((resolve, reject) => {
    const done = (): void => {
      conn.off('path', onPath);
      signal?.removeEventListener('abort', onAbort);
    };
    const onPath = (event: PathEvent): void => {
      if (event.local?.port !== local.port) return;
      if (event.type === 'validated') {
        done();
        const live = core.handle;
        const target = driver.peerSockaddr;
        const switched =
          live === null
            ? q.QuicheError.QUICHE_ERR_INVALID_STATE
            : q.quiche_conn_migrate(
                live,
                socket.localSockaddr.buf,
                socket.localSockaddr.len,
                target.buf,
                target.len,
                s.u64Out,
              );
        if (switched < 0) {
          reject(quicheError(switched, 'migrate'));
          return;
        }
        driver.socket = socket;
        driver.schedule();
        resolve(event);
      } else if (event.type === 'failed') {
        done();
        reject(new QuicError('ERR_QUIC_TRANSPORT_ERROR', `path validation from port ${local.port} failed`));
      }
    };
    const onAbort = (): void => {
      done();
      reject(signal?.reason);
    };
    conn.on('path', onPath);
    signal?.addEventListener('abort', onAbort, { once: true });
    void conn.closed.then(() => {
      done();
      reject(driver.closeError); // settled: `closed` resolves only then
    });
  });
  driver.process();
  return outcome;
}
