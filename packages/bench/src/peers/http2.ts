/**
 * `node:http2` over TLS: `http2.createSecureServer()` on the server, one
 * client session whose requests are its streams. The client's windows are
 * raised as the QUIC peers' are (16 MiB a stream, 64 MiB the session):
 * HTTP/2's default of 64 KiB would throttle a download.
 *
 * @module
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { Peer, ServerHandle } from '../lifecycle.js';
import { HOST, type PeerOptions, requestedBytes, type Scenario } from '../protocol.js';
import {
  BODY_CHUNK,
  bodyChunk,
  chunkLengths,
  type HttpClient,
  httpClientRun,
  smallBody,
} from './http-common.js';

const MiB = 1024 * 1024;

async function writeBody(stream: http2.ServerHttp2Stream, n: number): Promise<void> {
  for (const len of chunkLengths(n)) {
    if (stream.destroyed) return;
    if (!stream.write(bodyChunk.subarray(0, len))) {
      await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
    }
  }
  stream.end();
}

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

async function server(scenario: Scenario, opts: PeerOptions): Promise<ServerHandle> {
  if (scenario !== 'http') throw new Error(`http2: ${scenario} is not supported`);
  if (!opts.cert || !opts.key) throw new Error('the server needs --cert and --key');
  const sessions = new Set<http2.ServerHttp2Session>();
  const srv = http2.createSecureServer({
    cert: readFileSync(opts.cert),
    key: readFileSync(opts.key),
    minVersion: 'TLSv1.3',
  });
  srv.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
  });
  srv.on('stream', onStream);
  srv.on('tlsClientError', () => undefined);
  srv.listen({ port: opts.port, host: HOST });
  await once(srv, 'listening');
  const addr = srv.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : opts.port,
    connections: () => sessions.size,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
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

export const http2Peer: Peer = {
  server,
  async client(scenario, opts) {
    if (scenario !== 'http') throw new Error(`http2: ${scenario} is not supported`);
    return httpClientRun(await client(opts), opts);
  },
};
