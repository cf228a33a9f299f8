/**
 * `node:http2` over TLS: `http2.createSecureServer()` on the server, one
 * client session whose requests are its streams. The client's windows are
 * raised as the QUIC peers' are (16 MiB a stream, 64 MiB the session):
 * HTTP/2's default of 64 KiB would throttle a download.
 *
 * @module
 */
import { once } from 'node:events';
import http2 from 'node:http2';
import type { Peer, ServerHandle } from '../lifecycle.js';
import { HOST, type PeerOptions, requestedBytes } from '../protocol.js';
import {
  BODY_CHUNK,
  type HttpClient,
  httpPeer,
  serverKeys,
  smallBody,
  tcpServerHandle,
  writeBody,
} from './http-common.js';

const MiB = 1024 * 1024;

function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  stream.on('error', () => stream.destroy());
  const n = requestedBytes(String(headers[':path'] ?? ''));
  if (n === null || headers[':method'] !== 'GET') {
    stream.respond({ ':status': 404 });
    stream.end('not found');
    return;
  }
  stream.respond({ ':status': 200, 'content-length': n });
  if (n <= BODY_CHUNK) stream.end(smallBody(n));
  else void writeBody(stream, n).catch(() => stream.destroy());
}

async function server(opts: PeerOptions): Promise<ServerHandle> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const srv = http2.createSecureServer({ ...serverKeys(opts), minVersion: 'TLSv1.3' });
  srv.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
  });
  srv.on('stream', onStream);
  srv.on('tlsClientError', () => undefined);
  srv.listen({ port: opts.port, host: HOST });
  return tcpServerHandle(srv, opts.port, sessions);
}

async function client(opts: PeerOptions): Promise<HttpClient> {
  const session = http2.connect(`https://${HOST}:${opts.port}`, {
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    settings: { initialWindowSize: 16 * MiB },
  });
  session.on('error', () => undefined);
  await Promise.race([
    once(session, 'connect'),
    once(session, 'error').then(([err]) => {
      throw err;
    }),
  ]);
  session.setLocalWindowSize(64 * MiB);
  return {
    get(path) {
      return new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'GET', ':path': path });
        let n = 0;
        let status = 0;
        req.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        req.on('data', (chunk: Buffer) => {
          n += chunk.length;
        });
        req.on('end', () => (status === 200 ? resolve(n) : reject(new Error(`status ${status}`))));
        req.on('error', reject);
      });
    },
    connections: () => (session.destroyed ? 0 : 1),
    close: () =>
      new Promise<void>((resolve) => {
        session.close(() => resolve());
      }),
  };
}

export const http2Peer: Peer = httpPeer('http2', server, client);
