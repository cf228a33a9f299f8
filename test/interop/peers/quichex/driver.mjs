#!/usr/bin/env node
/**
 * quichex's interop peer driver: hq-interop (ALPN `hq-interop`) on quichex's
 * high-level API, in both roles, following the contract of
 * test/interop/README.md.
 *
 *   node test/interop/peers/quichex/driver.mjs server --host 127.0.0.1 --port 0 \
 *     --cert CERT --key KEY --root DIR [--retry] [--timeout SEC]
 *   node test/interop/peers/quichex/driver.mjs client --host H --port P --ca CA \
 *     --server-name localhost --out DIR [--timeout SEC] [--resume] [--zero-rtt] \
 *     [--migrate] [--key-update] [--max-streams-wait] PATH...
 *
 * Plain ESM so that it runs with `node` as is; it imports the workspace
 * package `quichex` (packages/quichex/dist, built by `npm run build`).
 * Diagnostics go to stderr; stdout carries only the contract's lines.
 * `QLOGDIR` (as in the QUIC interop runner) turns on one qlog per connection.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Config, connect, listen } from 'quichex';

const ALPN = 'hq-interop';
const MiB = 1024 * 1024;
/** Largest hq-interop request line we read ("GET /path\r\n"). */
const MAX_REQUEST = 8 * 1024;
/** Stream error code for "no such file" (hq-interop has no status line). */
const NOT_FOUND = 404;
/** How long a graceful close may take before we leave anyway. */
const CLOSE_GRACE_MS = 2_000;
/** How long the first connection of --resume/--zero-rtt waits for a session ticket. */
const TICKET_WAIT_MS = 3_000;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    root: { type: 'string' },
    retry: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    ca: { type: 'string' },
    'server-name': { type: 'string', default: 'localhost' },
    out: { type: 'string' },
    resume: { type: 'boolean', default: false },
    'zero-rtt': { type: 'boolean', default: false },
    migrate: { type: 'boolean', default: false },
    'key-update': { type: 'boolean', default: false },
    // quichex's openStream() always waits for MAX_STREAMS; accepted for the contract's sake.
    'max-streams-wait': { type: 'boolean', default: false },
  },
});

const [mode, ...paths] = positionals;
const qlogDir = process.env.QLOGDIR || undefined;

function log(message) {
  process.stderr.write(`quichex-driver: ${message}\n`);
}

/** Prints `ERROR <reason>` and exits 1. */
function fail(reason) {
  process.stdout.write(`ERROR ${String(reason).replace(/\s+/g, ' ')}\n`);
  process.exit(1);
}

function required(name) {
  const v = opts[name];
  if (v === undefined || v === '') fail(`missing --${name}`);
  return v;
}

function seconds(name, fallback) {
  const raw = opts[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got ${raw}`);
  return n;
}

function errorText(err) {
  if (err instanceof Error) return err.code ? `${err.code}: ${err.message}` : err.message;
  return String(err);
}

/** Resolves to `value` or to `fallback` after `ms`, whichever comes first. */
function within(promise, ms, fallback) {
  let timer;
  return Promise.race([
    promise,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// -- server -------------------------------------------------------------------

/** Maps a request path onto a regular file under `root`, or `null`. */
async function resolveFile(root, requestPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(requestPath.split('?')[0]);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/')) return null;
  const file = path.resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  try {
    return (await stat(file)).isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Serves one hq-interop request stream: `GET /path\r\n`, then the file's bytes and FIN. */
async function serveStream(stream, root) {
  if (stream.direction !== 'bidi') return; // hq-interop requests are bidi only
  const chunks = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_REQUEST) {
      stream.stopSending(NOT_FOUND);
      stream.reset(NOT_FOUND);
      return;
    }
  }
  const line = Buffer.concat(chunks).toString('latin1').split(/\r?\n/)[0].trim();
  const match = /^GET\s+(\S+)/.exec(line);
  const file = match ? await resolveFile(root, match[1]) : null;
  if (file === null) {
    log(`no file for request ${JSON.stringify(line)}: resetting stream ${stream.id} with ${NOT_FOUND}`);
    stream.reset(NOT_FOUND);
    return;
  }
  // The last chunk travels with FIN, never as a separate zero-length FIN:
  // quiche 0.30 can drop a lone FIN written after the data was acknowledged
  // (cloudflare/quiche#2525: the stream is collected before the FIN is sent),
  // and the client then waits for the end of a complete file forever.
  let pending = null;
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    if (pending) await stream.write(pending);
    pending = chunk;
  }
  await stream.end(pending ?? undefined);
}

async function handleConnection(conn, root) {
  const streams = [];
  try {
    for await (const stream of conn.streams()) {
      streams.push(serveStream(stream, root).catch((err) => log(`stream ${stream.id}: ${errorText(err)}`)));
    }
  } catch (err) {
    // The connection ended abnormally; its streams have failed with it.
    log(`connection from ${conn.remoteAddress.address}:${conn.remoteAddress.port}: ${errorText(err)}`);
  }
  await Promise.all(streams);
}

async function runServer() {
  const host = opts.host;
  const root = path.resolve(required('root'));
  const timeoutSec = seconds('timeout', 120);
  const config = new Config({
    alpn: [ALPN],
    certChainFile: required('cert'),
    privKeyFile: required('key'),
    earlyData: true,
    // The multiplexing case relies on clients honouring MAX_STREAMS: at most 1000 at a time.
    initialMaxStreamsBidi: 1000,
    initialMaxStreamsUni: 0,
    initialMaxData: 64 * MiB,
    initialMaxStreamDataBidiRemote: 1 * MiB,
    initialMaxStreamDataBidiLocal: 16 * MiB,
    maxIdleTimeout: 30_000,
  });
  const listener = await listen({
    host,
    port: Number(required('port')),
    config,
    retry: opts.retry,
    qlogDir,
    onConnection: (conn) => handleConnection(conn, root),
  });
  listener.on('error', (err) => log(`socket error: ${err.message}`));
  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    await within(listener.close({ timeoutMs: CLOSE_GRACE_MS }), CLOSE_GRACE_MS + 1000, undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  setTimeout(() => void stop(`--timeout ${timeoutSec}s`), timeoutSec * 1000).unref();
  process.stdout.write(`READY ${listener.address().port}\n`);
  // Keep the process alive even when the socket is idle (the timer above is unref'd).
  setInterval(() => undefined, 60_000);
}

// -- client -------------------------------------------------------------------

/**
 * Downloads one path on its own stream into `out/<basename>`. `onFirstByte`
 * is called when the response starts. Rejects unless the response ended with FIN.
 */
async function download(conn, requestPath, out, onFirstByte) {
  const stream = await conn.openStream();
  await stream.end(`GET ${requestPath}\r\n`);
  const file = path.join(out, path.posix.basename(requestPath) || 'index.html');
  const fh = await open(file, 'w');
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      if (bytes === 0) onFirstByte?.();
      bytes += chunk.length;
      await fh.write(chunk);
    }
  } catch (err) {
    await fh.close();
    await rm(file, { force: true }); // leave no partial file behind
    throw new Error(`${requestPath}: ${errorText(err)} after ${bytes} bytes`);
  }
  await fh.close();
  return bytes;
}

async function downloadAll(conn, list, out, onFirstByte) {
  const results = await Promise.allSettled(list.map((p) => download(conn, p, out, onFirstByte)));
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length > 0) {
    const first = failed[0].reason;
    throw new Error(
      `${failed.length} of ${list.length} downloads failed; first: ${first instanceof Error ? first.message : first}`,
    );
  }
}

async function closeGracefully(conn) {
  if (conn.isClosed) return;
  await within(
    conn.close().catch(() => undefined),
    CLOSE_GRACE_MS,
    undefined,
  );
  conn.destroy();
}

/** Waits (bounded) for the first connection's session ticket. */
async function takeSession(conn, latest) {
  if (latest.session) return latest.session;
  const now = conn.isClosed ? null : conn.session();
  if (now) return now;
  await within(new Promise((resolve) => conn.once('session', resolve)), TICKET_WAIT_MS, undefined);
  return latest.session ?? (conn.isClosed ? null : conn.session());
}

async function runClient() {
  const host = opts.host;
  const port = Number(required('port'));
  const out = path.resolve(required('out'));
  const serverName = opts['server-name'];
  const timeoutSec = seconds('timeout', 60);
  if (paths.length === 0) fail('no PATH to download');
  const zeroRtt = opts['zero-rtt'];
  const resume = opts.resume || zeroRtt;
  setTimeout(() => fail(`timed out after ${timeoutSec}s`), timeoutSec * 1000).unref();
  await mkdir(out, { recursive: true });

  const config = new Config({
    alpn: [ALPN],
    caFile: required('ca'),
    earlyData: zeroRtt,
    initialMaxData: 64 * MiB,
    initialMaxStreamDataBidiLocal: 16 * MiB,
    initialMaxStreamDataBidiRemote: 1 * MiB,
    initialMaxStreamsBidi: 100,
    initialMaxStreamsUni: 100,
    maxIdleTimeout: 30_000,
  });
  const base = { host, port, config, serverName, qlogDir, handshakeTimeout: 10_000 };

  if (opts['key-update']) {
    // quiche's C API has no call that initiates a key update (it only answers the peer's).
    process.stdout.write('KEY_UPDATE unsupported\n');
  }

  let rest = paths;
  let session;
  if (resume) {
    const first = await connect(base);
    const latest = { session: null };
    first.on('session', (s) => {
      latest.session = s;
    });
    await downloadAll(first, paths.slice(0, 1), out);
    session = await takeSession(first, latest);
    await closeGracefully(first);
    if (!session) log('the server sent no session ticket: the second connection cannot resume');
    rest = paths.slice(1);
  }

  const conn = await connect({
    ...base,
    ...(session ? { session } : {}),
    ...(zeroRtt && session ? { earlyData: true } : {}),
  });
  if (conn.info().inEarlyData) log('sending requests as 0-RTT early data');

  let migration = Promise.resolve();
  let started = false;
  const onFirstByte = opts.migrate
    ? () => {
        if (started) return;
        started = true;
        migration = conn.migrate().then(
          (event) => {
            const local = event.local ? `${event.local.address}:${event.local.port}` : '?';
            log(`migrated to ${local}`);
            process.stdout.write('MIGRATED true\n');
          },
          (err) => {
            process.stdout.write(`MIGRATED false ${errorText(err).replace(/\s+/g, ' ')}\n`);
          },
        );
      }
    : undefined;

  if (rest.length > 0) await downloadAll(conn, rest, out, onFirstByte);
  if (opts.migrate && !started) process.stdout.write('MIGRATED false no response to migrate during\n');
  await migration;

  if (!conn.isClosed) {
    const info = conn.info();
    if (resume) process.stdout.write(`RESUMED ${info.resumed}\n`);
    if (zeroRtt) {
      const outcome = info.earlyData === 'accepted' ? 'accepted' : 'rejected';
      if (info.earlyData === 'none') log('0-RTT was not attempted (no usable session)');
      process.stdout.write(`ZERO_RTT ${outcome}\n`);
    }
    if (opts.migrate) {
      for (const p of conn.pathStats()) {
        const local = p.localAddr ? `${p.localAddr.address}:${p.localAddr.port}` : '?';
        log(`path from ${local}: active=${p.active} validation=${p.validationState} recv=${p.recv}`);
      }
    }
  } else if (resume || zeroRtt) {
    fail('the connection closed before its state could be read');
  }
  await closeGracefully(conn);
  process.exit(0);
}

// -- main -----------------------------------------------------------------------

const run = mode === 'server' ? runServer : mode === 'client' ? runClient : null;
if (run === null) fail(`usage: driver.mjs server|client [options] (got ${JSON.stringify(mode)})`);
run().catch((err) => fail(errorText(err)));
