/**
 * `node:https` (HTTP/1.1 over TLS): `https.createServer()` and an
 * `https.Agent` with keep-alive. HTTP/1.1 has one request at a time on a
 * connection, so the agent may open as many as there are requests in flight
 * (`maxSockets` = the concurrency: 32 for `h3-get-32`); the result's
 * `connections` is how many it used.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
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

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const n = requestedBytes(req.url ?? '');
  if (n === null || req.method !== 'GET') {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-length': n });
  if (n <= BODY_CHUNK) res.end(smallBody(n));
  else void writeBody(res, n).catch(() => res.destroy());
}

async function server(opts: PeerOptions): Promise<ServerHandle> {
  const sockets = new Set<Socket>();
  const srv = https.createServer(
    {
      ...serverKeys(opts),
      minVersion: 'TLSv1.3',
      noDelay: true,
      keepAlive: true,
      // Kept open for the whole run: the benchmark's requests come without pause.
      keepAliveTimeout: 60_000,
    },
    onRequest,
  );
  srv.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  srv.on('tlsClientError', () => undefined);
  srv.listen({ port: opts.port, host: HOST, backlog: 1024 });
  return tcpServerHandle(srv, opts.port, sockets);
}

function client(opts: PeerOptions): HttpClient {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: Math.max(1, opts.concurrency),
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  const used = new WeakSet<Socket>();
  let connections = 0;
  return {
    get(path) {
      return new Promise<number>((resolve, reject) => {
        const req = https.request({ agent, host: HOST, port: opts.port, path, method: 'GET' }, (res) => {
          let n = 0;
          res.on('data', (chunk: Buffer) => {
            n += chunk.length;
          });
          res.on('end', () =>
            res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode}`)),
          );
          res.on('error', reject);
        });
        req.on('socket', (socket: Socket) => {
          if (used.has(socket)) return;
          used.add(socket);
          connections++;
          socket.setNoDelay(true);
        });
        req.on('error', reject);
        req.end();
      });
    },
    connections: () => connections,
    close: async () => {
      agent.destroy();
    },
  };
}

export const httpsPeer: Peer = httpPeer('https', server, client);
