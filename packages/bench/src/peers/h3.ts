/**
 * `@quichex/h3`: `serve()` with a fetch-style handler on the server, `fetch()`
 * through an `Agent` held to one connection on the client. Flow-control
 * windows as the quichex transport peer's (16 MiB a stream, 64 MiB a
 * connection), the other options left at the package's defaults.
 *
 * @module
 */
import { Agent, fetch, serve } from '@quichex/h3';
import type { Peer, ServerHandle } from '../lifecycle.js';
import { HOST, type PeerOptions, requestedBytes } from '../protocol.js';
import {
  BODY_CHUNK,
  bodyChunk,
  chunkLengths,
  type HttpClient,
  httpPeer,
  serverKeys,
  smallBody,
} from './http-common.js';

const MiB = 1024 * 1024;

/** Windows equal to the transport peers' (quiche's defaults would throttle a 256 MiB download). */
const FLOW = {
  initialMaxData: 64 * MiB,
  initialMaxStreamDataBidiLocal: 16 * MiB,
  initialMaxStreamDataBidiRemote: 16 * MiB,
  initialMaxStreamDataUni: 16 * MiB,
};

function respond(request: Request): Response {
  const n = requestedBytes(new URL(request.url).pathname);
  if (n === null || request.method !== 'GET') return new Response('not found', { status: 404 });
  const headers = { 'content-length': String(n) };
  if (n <= BODY_CHUNK) return new Response(smallBody(n), { headers });
  const lengths = chunkLengths(n);
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = lengths.next();
        if (next.done) controller.close();
        else controller.enqueue(bodyChunk.subarray(0, next.value));
      },
    }),
    { headers },
  );
}

async function server(opts: PeerOptions): Promise<ServerHandle> {
  const srv = await serve({
    host: HOST,
    port: opts.port,
    ...serverKeys(opts),
    config: FLOW,
    gracePeriod: 1000,
    handler: respond,
  });
  return {
    port: srv.address().port,
    connections: () => srv.listener.connections.size,
    close: () => srv.close(),
  };
}

function client(opts: PeerOptions): HttpClient {
  const agent = new Agent({
    rejectUnauthorized: false,
    maxConnectionsPerOrigin: 1,
    maxConcurrentStreams: Math.max(100, opts.concurrency),
    config: FLOW,
  });
  const base = `https://${HOST}:${opts.port}`;
  return {
    async get(path) {
      const res = await fetch(`${base}${path}`, { agent });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      let n = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
      return n;
    },
    connections: () => [...agent.connections().values()].reduce((a, b) => a + b, 0),
    close: () => agent.close(),
  };
}

export const h3Peer: Peer = httpPeer('h3', server, client);
