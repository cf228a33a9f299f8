/**
 * Fuzzing the packet path with structure-aware mutations of real packets.
 *
 * Corpus: every datagram of real sessions, recorded by a UDP relay between
 * a quichex client and a quichex listener — one session through a
 * `retry: true` listener (client Initials with and without token, the
 * server's Retry, Initial, Handshake and 1-RTT packets both ways, the
 * close), a version negotiation answer, and the session under test.
 *
 * Targets, all in this process (a quiche panic aborts it, failing the run):
 * - the listener's front door (admission, token checks, version
 *   negotiation, quiche_accept): mutations sent from a fuzz socket;
 * - a live server connection and a live client connection: mutations
 *   injected by the relay, which both take for their peer;
 * - quichex clients in their handshake: `connect()`s to a fake server that
 *   answers each Initial with mutated Retry, version negotiation and
 *   server packets rewritten for that client.
 * fast-check generates the mutations (`support/mutate.ts`) from a seed,
 * printed (set QUICHEX_FUZZ_SEED to replay); the run lasts QUICHEX_FUZZ_MS
 * (default 20 000).
 *
 * Asserted: the process survives; no unhandled rejection and no uncaught
 * exception; the live connection echoes all along and after, a new client
 * is served after; every connection is freed afterwards (resourceCounts
 * back to the baseline); memory bounded: this process's RSS may grow by at
 * most 128 MiB during the run (it holds the listener, the live
 * connections, up to `maxHandshakes` half-open ones that the mutated
 * Initials create — 1 s handshake timeout — the clients in handshake and
 * the fuzzer), and the JS heap after a GC by at most 16 MiB at the end.
 */
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as q from '@quichex/ffi';
import fc from 'fast-check';
import { Config, type Connection, connect, type Listener, listen, resourceCounts } from 'quichex';
import { afterAll, describe, expect, it } from 'vitest';
import { clientConfig, echo, MiB, mib, report, sleep, testCerts, visit, within } from './support/common.js';
import {
  applyMutation,
  applyOps,
  type CorpusEntry,
  mutationArb,
  type Op,
  opsArb,
  withCoalescedSplit,
} from './support/mutate.js';
import { bindUdp, closeUdp, HOST, LongType, longLayout, longType, makeInitials } from './support/raw.js';
import { Relay } from './support/relay.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const FUZZ_MS = Number(process.env.QUICHEX_FUZZ_MS ?? 20_000);
const SEED = Number(process.env.QUICHEX_FUZZ_SEED ?? Date.now() % 2_147_483_647);
const RSS_BOUND = 128 * MiB;
const HEAP_BOUND = 16 * MiB;
/** Mutated datagrams per fast-check run (then the event loop turns). */
const BATCH = 32;

const counters = { unhandledRejections: 0, uncaughtExceptions: 0 };
const onRejection = (): void => {
  counters.unhandledRejections++;
};
const onException = (): void => {
  counters.uncaughtExceptions++;
};
process.on('unhandledRejection', onRejection);
process.on('uncaughtExceptionMonitor', onException);
afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtExceptionMonitor', onException);
});

function serverConfig(): Config {
  const c = testCerts();
  return new Config({ alpn: ['test'], certChainFile: c.cert, privKeyFile: c.key, dgram: true });
}

/** Echoes every bidi stream; reads nothing else. */
async function echoStreams(conn: Connection): Promise<void> {
  for await (const stream of conn.streams()) {
    void (async () => {
      try {
        for await (const chunk of stream) await stream.write(chunk);
        await stream.end();
      } catch {
        // a reset stream or a closing connection ends this echo
      }
    })();
  }
}

/** Records a session through a `retry: true` listener, and a version negotiation answer. */
async function captureCorpus(ccfg: Config): Promise<CorpusEntry[]> {
  const listener = await listen({
    host: HOST,
    port: 0,
    config: serverConfig(),
    retry: true,
    onConnection: echoStreams,
  });
  const relay = await Relay.open(listener.address().port);
  try {
    const conn = await connect({ host: HOST, port: relay.port, config: ccfg, serverName: 'localhost' });
    expect(await echo(conn, 'capture')).toBe('capture');
    for (let i = 0; i < 4; i++) conn.sendDatagram(randomBytes(100 + i * 300));
    await sleep(50);
    await conn.close({ errorCode: 7, reason: 'capture done' });
    await sleep(50);
    // Version negotiation: an Initial with a version nobody speaks.
    const socket = await bindUdp();
    const vn = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const unknown = makeInitials(1, listener.address().port)[0]!;
    unknown.writeUInt32BE(0x0a0a0a0a, 1);
    socket.send(unknown, listener.address().port, HOST);
    const reply = await within(vn, 2000, 'a version negotiation packet');
    closeUdp(socket);
    return [...relay.recorded, { dir: 's2c', kind: 'vn', bytes: reply }];
  } finally {
    relay.close();
    await listener.close({ timeoutMs: 500 });
  }
}

/**
 * A fake server for clients in their handshake: each client Initial gets
 * mutated answers made for that client — a Retry and a version negotiation
 * packet built by quiche for its CIDs, and captured server packets with
 * its CID as their DCID.
 */
async function fakeServer(corpus: readonly CorpusEntry[], pool: readonly Op[][]) {
  const socket = await bindUdp();
  const templates = corpus.filter(
    (e) => e.dir === 's2c' && (e.kind === 'initial' || e.kind === 'handshake' || e.kind === 'short'),
  );
  const out = new Uint8Array(1500);
  let next = 0;
  const stats = { initials: 0, answers: 0 };
  socket.on('message', (msg, rinfo) => {
    if (longType(msg) !== LongType.Initial || !longLayout(msg)) return;
    stats.initials++;
    const dcid = msg.subarray(6, 6 + msg[5]!);
    const scid = msg.subarray(7 + msg[5]!, 7 + msg[5]! + msg[6 + msg[5]!]!);
    const answers: Uint8Array[] = [];
    const token = randomBytes(32);
    const retryScid = randomBytes(16);
    let n = q.quiche_retry(
      scid,
      scid.length,
      dcid,
      dcid.length,
      retryScid,
      16,
      token,
      token.length,
      1,
      out,
      out.length,
    );
    if (n > 0) answers.push(Buffer.from(out.subarray(0, n)));
    n = q.quiche_negotiate_version(scid, scid.length, dcid, dcid.length, out, out.length);
    if (n > 0) answers.push(Buffer.from(out.subarray(0, n)));
    for (let i = 0; i < 2 && templates.length > 0; i++) {
      const t = Buffer.from(templates[(next + i) % templates.length]!.bytes);
      // Address it to this client: its SCID as the DCID.
      if (longType(t) === null) scid.copy(t, 1, 0, Math.min(16, scid.length));
      else if (t[5] === scid.length) scid.copy(t, 6);
      answers.push(t);
    }
    for (const a of answers) {
      const ops = pool[next++ % pool.length]!;
      // One answer in four goes out unmutated (a valid Retry moves the client on).
      const bytes = next % 4 === 0 ? a : applyOps(a, ops, corpus);
      if (bytes.length > 0) socket.send(bytes, rinfo.port, rinfo.address);
      stats.answers++;
    }
  });
  return { socket, stats };
}

describe('fuzzing the packet path', () => {
  it(
    `mutated real packets to a listener, live connections and clients in handshake (QUICHEX_FUZZ_MS=${FUZZ_MS})`,
    async () => {
      console.log(`[hostile] fuzz seed ${SEED} (replay with QUICHEX_FUZZ_SEED=${SEED}), ${FUZZ_MS} ms`);
      const start = resourceCounts();
      const ccfg = clientConfig({ dgram: true });
      const corpusCapture = await captureCorpus(ccfg);

      // The target: a listener, and a client connected to it through a relay.
      const listener: Listener = await listen({
        host: HOST,
        port: 0,
        config: serverConfig(),
        handshakeTimeout: 1000,
        onConnection: echoStreams,
      });
      const relay = await Relay.open(listener.address().port);
      relay.maxRecord = 400;
      const live = await connect({ host: HOST, port: relay.port, config: ccfg, serverName: 'localhost' });
      expect(await echo(live, 'live')).toBe('live');
      live.sendDatagram(randomBytes(200));
      await sleep(50);
      relay.maxRecord = relay.recorded.length; // the corpus ends here
      const corpus = withCoalescedSplit([...corpusCapture, ...relay.recorded]);
      const composition: Record<string, number> = {};
      for (const e of corpus)
        composition[`${e.dir} ${e.kind}`] = (composition[`${e.dir} ${e.kind}`] ?? 0) + 1;

      const fuzzSocket = await bindUdp();
      fuzzSocket.on('message', () => undefined);
      const lport = listener.address().port;
      gc();
      const base = {
        rss: process.memoryUsage.rss(),
        heap: process.memoryUsage().heapUsed,
        counts: resourceCounts(),
      };
      let peakRss = base.rss;
      const rssSampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      }, 100);
      const progress: Array<{ s: number; packets: number; rss: string }> = [];

      let stop = false;
      const sent = { listener: 0, liveServer: 0, liveClient: 0 };
      // Track 2: clients in their handshake against the fake server.
      const pool = fc.sample(opsArb, { seed: SEED + 1, numRuns: 2000 });
      const fake = await fakeServer(corpus, pool);
      const handshakes = { started: 0, settled: 0, established: 0 };
      const clientTrack = async (): Promise<void> => {
        while (!stop) {
          handshakes.started++;
          try {
            const c = await connect({
              host: HOST,
              port: fake.socket.address().port,
              config: ccfg,
              serverName: 'localhost',
              signal: AbortSignal.timeout(150),
            });
            handshakes.established++;
            c.destroy();
          } catch {
            // refused, aborted, or failed: all expected
          }
          handshakes.settled++;
        }
      };
      const clients = Promise.all([clientTrack(), clientTrack(), clientTrack()]);
      // Track 3: the live connection keeps working during the fuzz.
      const liveness = { echoes: 0, echoFailures: [] as string[], visits: [] as number[] };
      const livenessTrack = (async () => {
        for (let i = 0; !stop && i < 100_000; i++) {
          await sleep(500);
          try {
            expect(await echo(live, `during ${i}`)).toBe(`during ${i}`);
            liveness.echoes++;
          } catch (err) {
            liveness.echoFailures.push(String(err));
          }
          if (i % 6 === 5) liveness.visits.push(Math.round((await visit(lport, ccfg, 'visit')).joinMs));
        }
      })();

      // Track 1: fast-check drives the mutations to the listener and to both live connections.
      const t0 = performance.now();
      let lastProgress = t0;
      await fc.assert(
        fc.asyncProperty(fc.array(mutationArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          for (const m of batch) {
            const { entry, bytes } = applyMutation(m, corpus);
            if (bytes.length === 0) continue;
            if (entry.dir === 's2c' && m.via === 'relay') {
              relay.inject('s2c', bytes);
              sent.liveClient++;
            } else if (m.via === 'relay') {
              relay.inject('c2s', bytes);
              sent.liveServer++;
            } else {
              fuzzSocket.send(bytes, lport, HOST);
              sent.listener++;
            }
          }
          await new Promise((resolve) => setImmediate(resolve));
          const now = performance.now();
          if (now - lastProgress > 30_000) {
            lastProgress = now;
            const packets = sent.listener + sent.liveServer + sent.liveClient;
            progress.push({
              s: Math.round((now - t0) / 1000),
              packets,
              rss: mib(process.memoryUsage.rss() - base.rss),
            });
          }
          return true;
        }),
        { seed: SEED, numRuns: 2 ** 31 - 1, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false },
      );
      const elapsed = performance.now() - t0;
      stop = true;
      await within(clients, 10_000, 'the clients in handshake to settle');
      await within(livenessTrack, 15_000, 'the liveness track to end');
      clearInterval(rssSampler);
      const packets = sent.listener + sent.liveServer + sent.liveClient;

      // Afterwards: the live connection and a new client still work.
      await sleep(200);
      const liveAfter = await echo(live, 'after');
      const after = await visit(lport, ccfg, 'after the fuzz');
      const statsAfter = listener.stats();
      await live.close();
      const drainStart = performance.now();
      for (let i = 0; i < 300 && (listener.connections.size > 0 || listener.stats().handshaking > 0); i++)
        await sleep(50);
      const drainMs = performance.now() - drainStart;
      gc();
      const end = {
        rss: process.memoryUsage.rss(),
        heap: process.memoryUsage().heapUsed,
        counts: resourceCounts(),
      };
      report('fuzz', {
        seed: SEED,
        seconds: +(elapsed / 1000).toFixed(1),
        corpus: corpus.length,
        composition,
        packets,
        packetsPerSecond: Math.round(packets / (elapsed / 1000)),
        sent,
        handshakes,
        fakeServer: fake.stats,
        liveness: {
          echoes: liveness.echoes,
          echoFailures: liveness.echoFailures.length,
          visitJoinMs: liveness.visits,
        },
        listenerStats: statsAfter,
        peakRssGrowth: mib(peakRss - base.rss),
        rssGrowthAfterGc: mib(end.rss - base.rss),
        heapGrowthAfterGc: mib(end.heap - base.heap),
        drainMs: Math.round(drainMs),
        counters,
        progress,
      });

      expect(counters.unhandledRejections).toBe(0);
      expect(counters.uncaughtExceptions).toBe(0);
      expect(packets).toBeGreaterThan(0);
      expect(liveness.echoFailures).toEqual([]);
      expect(liveness.echoes).toBeGreaterThan(0);
      expect(liveAfter).toBe('after');
      expect(after.echoed).toBe('after the fuzz');
      expect(handshakes.settled).toBe(handshakes.started);
      expect(listener.connections.size).toBe(0);
      expect(listener.stats().handshaking).toBe(0);
      expect(end.counts.connections).toBe(base.counts.connections - 2); // the live pair is closed
      expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
      expect(end.heap - base.heap).toBeLessThan(HEAP_BOUND);

      closeUdp(fuzzSocket);
      closeUdp(fake.socket);
      relay.close();
      await listener.close({ timeoutMs: 1000 });
      expect(resourceCounts().connections).toBe(start.connections);
      expect(resourceCounts().sockets).toBe(start.sockets);
    },
    FUZZ_MS + 120_000,
  );
});
