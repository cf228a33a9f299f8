#!/usr/bin/env node
/**
 * quichex's HTTP/3 interop driver on @quichex/h3 (serve() and fetch()),
 * following the HTTP/3 driver contract of test/interop/README.md.
 *
 *   node test/interop/peers/quichex/h3-fetch.mjs server --h3 --host H --port 0 \
 *     --cert CERT --key KEY --root DIR [--timeout SEC]
 *   node test/interop/peers/quichex/h3-fetch.mjs client --h3 --host H --port P --ca CA \
 *     --server-name NAME --out DIR [--timeout SEC] [--post FILE] [--cancel] PATH...
 *
 * stdout carries only READY / GOAWAY sent / CANCELLED / ERROR lines.
 */
import { createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Agent, fetch, serve } from '@quichex/h3';

const [mode, ...rest] = process.argv.slice(2);
const { values, positionals } = parseArgs({
  args: rest,
  allowPositionals: true,
  options: {
    h3: { type: 'boolean' },
    host: { type: 'string' },
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    root: { type: 'string' },
    ca: { type: 'string' },
    'server-name': { type: 'string' },
    out: { type: 'string' },
    timeout: { type: 'string' },
    post: { type: 'string' },
    cancel: { type: 'boolean' },
  },
});
const timeoutS = Number(values.timeout ?? 120);
const fail = (why) => {
  console.log(`ERROR ${why}`);
  process.exit(1);
};
setTimeout(() => (mode === 'server' ? process.exit(0) : fail('timeout')), timeoutS * 1000).unref();

if (mode === 'server') await runServer();
else if (mode === 'client') await runClient().catch((err) => fail(err?.message ?? String(err)));
else fail(`unknown mode ${mode}`);

async function runServer() {
  const root = path.resolve(values.root ?? '.');
  const server = await serve({
    host: values.host,
    port: Number(values.port ?? 0),
    cert: readFileSync(values.cert),
    key: readFileSync(values.key),
    config: { initialMaxStreamsBidi: 1000, maxIdleTimeout: 30_000 },
    gracePeriod: 15_000,
    handler: (request) => {
      const url = new URL(request.url);
      if (request.method === 'POST' && url.pathname === '/echo') return new Response(request.body);
      const file = path.join(root, decodeURIComponent(url.pathname));
      if (!file.startsWith(root + path.sep)) return new Response(null, { status: 404 });
      let size;
      try {
        const info = statSync(file);
        if (!info.isFile()) return new Response(null, { status: 404 });
        size = info.size;
      } catch {
        return new Response(null, { status: 404 });
      }
      const body = Readable.toWeb(createReadStream(file, { highWaterMark: 64 * 1024 }));
      return new Response(body, { headers: { 'content-length': String(size) } });
    },
  });
  console.log(`READY ${server.address().port}`);
  process.once('SIGTERM', async () => {
    const closing = server.close();
    console.log('GOAWAY sent');
    await closing;
    process.exit(0);
  });
}

async function runClient() {
  const host = values.host;
  const name = values['server-name'] ?? host;
  const origin = `https://${isIP(name) === 6 ? `[${name}]` : name}:${values.port}`;
  const agent = new Agent({
    ca: readFileSync(values.ca),
    maxConnectionsPerOrigin: 1,
    lookup: async () => [{ address: host, family: isIP(host) || 4 }],
  });
  const out = path.resolve(values.out);
  mkdirSync(out, { recursive: true });
  const get = async (p) => {
    const res = await fetch(new URL(p, origin), { agent });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`${p}: status ${res.status}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const length = res.headers.get('content-length');
    if (length !== null && Number(length) !== bytes.length)
      throw new Error(`${p}: ${bytes.length} bytes, content-length ${length}`);
    await writeFile(path.join(out, path.basename(p)), bytes);
  };
  let paths = positionals;
  if (values.cancel) {
    const [first, ...others] = paths;
    const res = await fetch(new URL(first, origin), { agent });
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel(); // STOP_SENDING and RESET_STREAM with H3_REQUEST_CANCELLED
    console.log('CANCELLED true');
    paths = others;
  }
  const jobs = paths.map(get);
  if (values.post) {
    const data = readFileSync(values.post);
    jobs.push(
      (async () => {
        const res = await fetch(new URL('/echo', origin), {
          agent,
          method: 'POST',
          body: data,
          headers: { 'content-length': String(data.length) },
        });
        if (res.status !== 200) throw new Error(`/echo: status ${res.status}`);
        await writeFile(path.join(out, 'echo'), new Uint8Array(await res.arrayBuffer()));
      })(),
    );
  }
  await Promise.all(jobs);
  await agent.close();
  process.exit(0);
}
