#!/usr/bin/env node
/**
 * The server under attack, in a process of its own so that its memory is
 * measured apart from the attacker's: `fork()`ed by `server-process.ts` with
 * `--expose-gc`, it runs one `listen()` on 127.0.0.1 (port 0) and answers
 * commands over the IPC channel.
 *
 *   argv[2]: JSON `{ cert, key, config?, listen?, app? }`
 *     config: extra `Config` options (alpn is 'test'; certificate and key given);
 *     listen: extra `listen()` options (admission, maxConnections; none = defaults);
 *     app:    'echo' (default): bidi streams are echoed on themselves, uni
 *             streams back on a new uni stream; datagrams are never read.
 *
 * Messages in: `{ id, cmd: 'sample' | 'gc' | 'peak-reset' | 'close' }`.
 * Messages out: `{ type: 'ready', port, sample }`, and `{ id, sample }` for
 * each command, where a sample is what `snapshot()` returns: memory now,
 * the peak RSS and heap since the last `peak-reset` (sampled every 20 ms),
 * `listener.stats()`, live connections, `resourceCounts()`, paths and
 * streams per connection.
 *
 * Every loop is bounded by what the library bounds; the process exits when
 * its parent disconnects.
 */
import { Config, listen, resourceCounts } from 'quichex';

const options = JSON.parse(process.argv[2] ?? '{}');
const config = new Config({
  alpn: ['test'],
  certChainFile: options.cert,
  privKeyFile: options.key,
  ...(options.config ?? {}),
});

const app = options.app ?? 'echo';
let handlerErrors = 0;

/** Echoes every stream of `conn` (bidi on itself, uni on a new uni stream); never reads datagrams. */
async function echoStreams(conn) {
  for await (const stream of conn.streams()) {
    void (async () => {
      try {
        if (stream.direction === 'bidi') {
          for await (const chunk of stream) await stream.write(chunk);
          await stream.end();
        } else {
          const out = await conn.openUniStream();
          for await (const chunk of stream) await out.write(chunk);
          await out.end();
        }
      } catch {
        // a reset stream or a closing connection ends this echo
      }
    })();
  }
}

const listener = await listen({
  host: '127.0.0.1',
  port: 0,
  config,
  ...(options.listen ?? {}),
  onConnection: (conn) => {
    if (app === 'echo') return echoStreams(conn).catch(() => handlerErrors++);
    return undefined;
  },
});

const peak = { rss: 0, heapUsed: 0, handshaking: 0, connections: 0 };
function track() {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.handshaking = Math.max(peak.handshaking, listener.stats().handshaking);
  peak.connections = Math.max(peak.connections, listener.connections.size);
}
const sampler = setInterval(track, 20);

function snapshot() {
  track();
  const m = process.memoryUsage();
  const conns = [...listener.connections];
  const cpu = process.cpuUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    peak: { ...peak },
    stats: listener.stats(),
    connections: listener.connections.size,
    resources: resourceCounts(),
    paths: conns.map((c) => {
      try {
        return c.isClosed ? 0 : c.pathStats().length;
      } catch {
        return -1;
      }
    }),
    streams: conns.map((c) => c.streamCount),
    established: conns.filter((c) => c.established).length,
    handlerErrors,
  };
}

function gc() {
  // Two passes: the first runs finalizers that free more on the second.
  globalThis.gc?.();
  globalThis.gc?.();
}

process.on('message', async (msg) => {
  const { id, cmd } = msg;
  try {
    if (cmd === 'gc') gc();
    if (cmd === 'peak-reset') {
      const m = process.memoryUsage();
      Object.assign(peak, {
        rss: m.rss,
        heapUsed: m.heapUsed,
        handshaking: listener.stats().handshaking,
        connections: listener.connections.size,
      });
    }
    if (cmd === 'close') {
      await listener.close({ timeoutMs: 1000 });
      clearInterval(sampler);
    }
    process.send({ id, sample: snapshot() });
  } catch (err) {
    process.send({ id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));

gc();
process.send({ type: 'ready', port: listener.address().port, sample: snapshot() });
