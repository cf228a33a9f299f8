import { type H3Server, serve } from '@quichex/h3';

/** A small HTTP/3 API: a fetch-style handler, as Deno, Bun and Hono apps are written. */
export function startApi(cert: string, key: string, port = 0): Promise<H3Server> {
  return serve({
    host: '127.0.0.1',
    port,
    cert,
    key,
    handler: async (request, info) => {
      const url = new URL(request.url);
      if (url.pathname === '/hello') return Response.json({ hello: info.remoteAddress });
      if (url.pathname === '/upload' && request.method === 'POST') {
        // The body streams in as the client sends it; flow control holds a fast client back.
        let bytes = 0;
        for await (const chunk of request.body ?? []) bytes += chunk.length;
        return Response.json({ bytes });
      }
      return new Response('not found\n', { status: 404 });
    },
  });
}
