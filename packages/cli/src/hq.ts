/**
 * hq-interop (HTTP/0.9 over QUIC), the application protocol of the QUIC
 * interop runner: the client sends `GET /path\r\n` on a bidi stream and
 * FIN; the server answers with the file's bytes and FIN.
 *
 * quichex adds one request of its own, `HEAD /path\r\n`, answered with a
 * JSON line `{"size":N,"sha256":"..."}` so `quichex get` can show an ETA and
 * verify the download. Other hq-interop peers never send it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Connection, Stream } from 'quichex';

/** The ALPN of hq-interop. */
export const HQ_ALPN = 'hq-interop';

/** A parsed request line. */
export interface HqRequest {
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
}

/** Reads the request line (up to 8 KiB) from a stream. */
export async function readRequest(stream: Stream): Promise<HqRequest | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size > 8192) return null;
  }
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  const m = /^(GET|HEAD) (\/\S*)$/.exec(line.trim());
  return m ? { method: m[1] as 'GET' | 'HEAD', path: decodeURIComponent(m[2] as string) } : null;
}

/** Resolves a request path inside `root`, refusing anything that escapes it. */
export function resolveInRoot(root: string, requestPath: string): string | null {
  const full = path.resolve(root, `.${path.posix.normalize(requestPath)}`);
  const base = path.resolve(root);
  return full === base || full.startsWith(base + path.sep) ? full : null;
}

const digests = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

async function describeFile(file: string): Promise<{ size: number; sha256: string }> {
  const st = await stat(file);
  const cached = digests.get(file);
  if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const entry = { mtimeMs: st.mtimeMs, size: st.size, sha256: hash.digest('hex') };
  digests.set(file, entry);
  return entry;
}

/** Serves one hq-interop request stream from `root`. Unknown files reset the stream with code 404. */
export async function serveFileStream(stream: Stream, root: string): Promise<void> {
  const req = await readRequest(stream);
  const file = req ? resolveInRoot(root, req.path) : null;
  if (!req || !file) {
    stream.reset(400);
    return;
  }
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    stream.reset(404);
    return;
  }
  if (req.method === 'HEAD') {
    await stream.end(`${JSON.stringify(await describeFile(file))}\n`);
    return;
  }
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }))
    await stream.write(chunk as Buffer);
  await stream.end();
}

/** Sends a request and returns the response stream (the caller reads it). */
export async function request(
  conn: Connection,
  method: 'GET' | 'HEAD',
  requestPath: string,
): Promise<Stream> {
  const stream = await conn.openStream();
  await stream.end(`${method} ${encodeURI(requestPath)}\r\n`);
  return stream;
}
