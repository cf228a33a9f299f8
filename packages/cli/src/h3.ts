/**
 * HTTP/3 for the CLI: a static file server (`serve --h3 --dir DIR`) and a
 * download with a progress bar (`get --h3`), on @quichex/h3.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Agent, fetch, type H3Server, serve } from '@quichex/h3';
import type { Pem } from 'quichex';
import { UsageError } from './errors.js';
import type { CommandContext } from './options.js';
import { Progress } from './progress.js';

/** Content types by file extension (what browsers need to render the common ones). */
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.woff2': 'font/woff2',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
};

/** The content type of `file`, by extension. */
export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Answers GET and HEAD for files under `root` (404 outside it or when missing, 405 for other methods). */
export function staticFiles(root: string): (request: Request) => Promise<Response> {
  const base = path.resolve(root);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', { status: 405, headers: { allow: 'GET, HEAD' } });
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url).pathname);
    } catch {
      return new Response('bad path\n', { status: 400 });
    }
    let file = path.join(base, pathname);
    if (file !== base && !file.startsWith(base + path.sep))
      return new Response('not found\n', { status: 404 });
    let info = await stat(file).catch(() => null);
    if (info?.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file).catch(() => null);
    }
    if (!info?.isFile()) return new Response('not found\n', { status: 404 });
    const headers = { 'content-type': contentType(file), 'content-length': String(info.size) };
    if (request.method === 'HEAD') return new Response(null, { headers });
    const body = Readable.toWeb(
      createReadStream(file, { highWaterMark: 64 * 1024 }),
    ) as ReadableStream<Uint8Array>;
    return new Response(body, { headers });
  };
}

/** Runs `serve --h3` until `stopped` resolves. */
export async function serveH3(
  options: { host?: string; port: number; cert: Pem; key: Pem; root: string; qlogDir?: string },
  ctx: CommandContext,
  stopped: Promise<void>,
): Promise<void> {
  const server: H3Server = await serve({
    host: options.host,
    port: options.port,
    cert: options.cert,
    key: options.key,
    handler: staticFiles(options.root),
    listen: { qlogDir: options.qlogDir },
  });
  const a = server.address();
  ctx.out.write(
    `listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port} (HTTP/3, files under ${options.root})\n`,
  );
  await stopped;
  ctx.err.write('closing: GOAWAY, then waiting for requests in flight\n');
  await server.close();
}

/** Runs `get --h3`: downloads `url` to `out` ("-": stdout) with a progress bar; prints the SHA-256. */
export async function getH3(
  url: string,
  options: { out: string; ca?: Pem; insecure: boolean },
  ctx: CommandContext,
): Promise<number> {
  const agent = new Agent({
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    rejectUnauthorized: !options.insecure,
  });
  try {
    const res = await fetch(url, { agent });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new UsageError(`${url}: HTTP status ${res.status}`);
    }
    const length = res.headers.get('content-length');
    const progress = new Progress(ctx.err, length === null ? null : Number(length));
    const out = options.out === '-' ? ctx.out : createWriteStream(options.out);
    const hash = createHash('sha256');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      progress.add(chunk.length);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    progress.done();
    if (options.out !== '-')
      await new Promise<void>((resolve, reject) =>
        (out as ReturnType<typeof createWriteStream>).end((e?: Error) => (e ? reject(e) : resolve())),
      );
    if (length !== null && Number(length) !== progress.bytes) {
      ctx.err.write(`LENGTH MISMATCH: got ${progress.bytes} bytes, content-length was ${length}\n`);
      return 1;
    }
    ctx.err.write(`SHA-256 ${hash.digest('hex')} (${progress.bytes} bytes over HTTP/3)\n`);
    return 0;
  } finally {
    await agent.close({ timeoutMs: 1000 });
  }
}
