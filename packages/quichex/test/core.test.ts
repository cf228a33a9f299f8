/**
 * The sans-IO core (`ConnCore`) tested in memory: two cores, no sockets and
 * none of the library's timers. A small loop in this file moves each
 * datagram one core's `send()` produces into the other core's `recv()`
 * (with fake addresses 127.0.0.1:1111 and 127.0.0.1:2222), fires
 * `onTimeout()` when `timeout()` says it is due (after a short real wait:
 * quiche reads the monotonic clock), and collects what `poll()` reports.
 * Every loop is bounded.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as q from '@quichex/ffi';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config, type ConfigOptions, kHandle } from '../src/config.js';
import type { CloseInfo } from '../src/core/close-info.js';
import { ConnCore, type CoreEvent } from '../src/core/conn-core.js';
import { readStats } from '../src/core/introspect.js';
import { QuicError } from '../src/errors.js';
import { resourceCounts } from '../src/resources.js';
import { clientConfig, serverConfig } from './support/fixtures.js';
import { pseudoRandomBytes } from './support/pair.js';

type Side = 'client' | 'server';

const CLIENT_ADDR = q.encodeSockaddr('127.0.0.1', 1111);
const SERVER_ADDR = q.encodeSockaddr('127.0.0.1', 2222);
/** Datagrams one side may emit in one flush before the loop gives up on it. */
const MAX_BURST = 10_000;
/** Flush rounds in one step before the loop gives up (datagrams kept flowing). */
const MAX_ROUNDS = 1_000;
/** Longest real wait between two steps (ms); quiche's timers are re-checked at least this often. */
const MAX_WAIT_MS = 20;

const ABANDONED: CloseInfo = {
  code: 'ERR_QUIC_DESTROYED',
  local: true,
  type: 'transport',
  errorCode: 0n,
  reason: 'test cleanup',
  graceful: true,
};

/** Options of a {@link CorePair}. */
interface CorePairOptions {
  client?: ConfigOptions;
  server?: ConfigOptions;
}

/** Limits of one {@link CorePair.run}. */
interface RunLimits {
  maxIterations?: number;
  maxMs?: number;
}

/** A client core and, once it has seen the client's first Initial, a server core, wired in memory. */
class CorePair {
  readonly client: ConnCore;
  server: ConnCore | null = null;
  /** Everything `poll()` reported, per side, in order. */
  readonly log: Record<Side, CoreEvent[]> = { client: [], server: [] };
  /** Called for each event as it is polled. */
  onEvent: (side: Side, event: CoreEvent) => void = () => {};
  /** Decides whether the `index`-th datagram `from` produced is lost (`null`: none are). */
  drop: ((from: Side, index: number) => boolean) | null = null;
  /** Datagrams each side produced, and how many of them were dropped. */
  readonly sent: Record<Side, number> = { client: 0, server: 0 };
  readonly dropped: Record<Side, number> = { client: 0, server: 0 };
  /** Negative `recv()` results, per receiving side. */
  readonly recvErrors: Record<Side, number[]> = { client: [], server: [] };
  /** `onTimeout()` calls made because `timeout()` said a timer expired. */
  readonly timeouts: Record<Side, number> = { client: 0, server: 0 };

  readonly #clientConfig: Config;
  readonly #serverConfig: Config;
  readonly #recvInfo: Record<Side, q.RecvInfo> = { client: new q.RecvInfo(), server: new q.RecvInfo() };
  readonly #out = new Uint8Array(65_535);
  #freed = false;

  constructor(options: CorePairOptions = {}) {
    this.#clientConfig = clientConfig(options.client);
    this.#serverConfig = serverConfig(options.server);
    this.#clientConfig.prepareFor('client', false);
    this.#serverConfig.prepareFor('server', false);
    // Datagrams for the client come from the server and vice versa.
    this.#recvInfo.client.setFrom(SERVER_ADDR.buf, SERVER_ADDR.len);
    this.#recvInfo.client.setTo(CLIENT_ADDR.buf, CLIENT_ADDR.len);
    this.#recvInfo.server.setFrom(CLIENT_ADDR.buf, CLIENT_ADDR.len);
    this.#recvInfo.server.setTo(SERVER_ADDR.buf, SERVER_ADDR.len);
    const scid = randomBytes(16);
    const handle = q.quiche_connect(
      'localhost',
      scid,
      scid.length,
      CLIENT_ADDR.buf,
      CLIENT_ADDR.len,
      SERVER_ADDR.buf,
      SERVER_ADDR.len,
      this.#clientConfig[kHandle],
    );
    if (handle === null) throw new Error('quiche_connect returned NULL');
    this.client = new ConnCore(handle, { isServer: false, dgramEnabled: this.#clientConfig.dgram.enabled });
    pairs.add(this);
  }

  /** The server core; throws before the client's first Initial arrived. */
  get srv(): ConnCore {
    if (this.server === null) throw new Error('the server core does not exist yet');
    return this.server;
  }

  core(side: Side): ConnCore | null {
    return side === 'client' ? this.client : this.server;
  }

  /** The events of one type that `side` reported. */
  events<T extends CoreEvent['type']>(side: Side, type: T): (CoreEvent & { type: T })[] {
    return this.log[side].filter((e): e is CoreEvent & { type: T } => e.type === type);
  }

  /**
   * Fires expired timers, then moves datagrams both ways and polls both
   * cores until neither has anything to send. Returns the datagrams moved
   * (dropped ones included).
   */
  step(): number {
    for (const side of ['client', 'server'] as const) {
      const core = this.core(side);
      const ms = core?.timeout() ?? null;
      if (core && ms !== null && ms <= 0) {
        core.onTimeout();
        this.timeouts[side]++;
      }
    }
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      this.#pollAll();
      const moved = this.#flush('client') + this.#flush('server');
      total += moved;
      if (moved === 0) {
        this.#pollAll();
        return total;
      }
    }
    throw new Error(`datagrams kept flowing for ${MAX_ROUNDS} rounds`);
  }

  /**
   * Steps until `work()` (which may also write streams) returns true,
   * sleeping briefly for quiche's timers whenever both sides are quiet.
   * Throws after `maxIterations` steps or `maxMs` of real time.
   */
  async run(label: string, work: () => boolean, limits: RunLimits = {}): Promise<number> {
    const maxIterations = limits.maxIterations ?? 10_000;
    const deadline = performance.now() + (limits.maxMs ?? 10_000);
    for (let i = 0; i < maxIterations; i++) {
      if (work()) return i;
      if (this.step() > 0) continue;
      if (work()) return i;
      if (performance.now() > deadline) break;
      await sleep(this.#nextTimerMs());
    }
    throw new Error(
      `${label}: not done after ${maxIterations} iterations / ${limits.maxMs ?? 10_000} ms ` +
        `(sent ${JSON.stringify(this.sent)}, dropped ${JSON.stringify(this.dropped)})`,
    );
  }

  /** Completes the handshake (bounded). */
  async handshake(): Promise<void> {
    await this.run('handshake', () => this.client.established && (this.server?.established ?? false), {
      maxMs: 5_000,
    });
  }

  /** Frees whatever is still open: both cores, both configs, the recv_info blocks. Idempotent. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.client.abandon(ABANDONED);
    this.server?.abandon(ABANDONED);
    this.#clientConfig.free();
    this.#serverConfig.free();
    this.#recvInfo.client.free();
    this.#recvInfo.server.free();
    pairs.delete(this);
  }

  #nextTimerMs(): number {
    let ms = MAX_WAIT_MS;
    for (const core of [this.client, this.server]) {
      const t = core?.timeout() ?? null;
      if (t !== null) ms = Math.min(ms, Math.ceil(t));
    }
    return Math.max(0, ms);
  }

  #pollAll(): void {
    for (const side of ['client', 'server'] as const) {
      const core = this.core(side);
      if (core === null) continue;
      for (let i = 0; ; i++) {
        if (i > 100_000) throw new Error(`${side}: poll() never returned null`);
        const ev = core.poll();
        if (ev === null) break;
        this.log[side].push(ev);
        this.onEvent(side, ev);
      }
    }
  }

  /** Sends what `from` has queued to the other side; returns the datagrams produced. */
  #flush(from: Side): number {
    const core = this.core(from);
    if (core === null) return 0;
    const to: Side = from === 'client' ? 'server' : 'client';
    core.streams.queuePendingFins();
    for (let i = 0; i < MAX_BURST; i++) {
      const n = core.send(this.#out, this.#out.length);
      if (n === 0) return i;
      // Every datagram goes to the peer's (fake) address.
      if (!core.sentTo(from === 'client' ? SERVER_ADDR : CLIENT_ADDR)) {
        throw new Error(`${from} sent a datagram to ${JSON.stringify(core.sentToAddress())}`);
      }
      const pkt = this.#out.slice(0, n);
      const index = this.sent[from]++;
      if (this.drop?.(from, index)) {
        this.dropped[from]++;
        continue;
      }
      if (to === 'server' && this.server === null) this.#accept(pkt);
      const rc = this.core(to)!.recv(pkt, this.#recvInfo[to]);
      if (rc < 0 && rc !== q.QuicheError.QUICHE_ERR_DONE) this.recvErrors[to].push(rc);
    }
    throw new Error(`${from} produced more than ${MAX_BURST} datagrams in one flush`);
  }

  /** Creates the server core from the client's first Initial, as a server without Retry does. */
  #accept(pkt: Uint8Array): void {
    const version = new Uint32Array(1);
    const type = new Uint8Array(1);
    const scid = new Uint8Array(20);
    const scidLen = new BigUint64Array([20n]);
    const dcid = new Uint8Array(20);
    const dcidLen = new BigUint64Array([20n]);
    const token = new Uint8Array(512);
    const tokenLen = new BigUint64Array([512n]);
    const rc = q.quiche_header_info(
      pkt,
      pkt.length,
      16,
      version,
      type,
      scid,
      scidLen,
      dcid,
      dcidLen,
      token,
      tokenLen,
    );
    if (rc !== 0 || type[0] !== q.QuichePacketType.INITIAL) {
      throw new Error(`expected the client's Initial, header_info rc=${rc} type=${type[0]}`);
    }
    expect(version[0]).toBe(q.QUICHE_PROTOCOL_VERSION);
    const serverScid = randomBytes(16);
    const handle = q.quiche_accept(
      serverScid,
      serverScid.length,
      null,
      0,
      SERVER_ADDR.buf,
      SERVER_ADDR.len,
      CLIENT_ADDR.buf,
      CLIENT_ADDR.len,
      this.#serverConfig[kHandle],
    );
    if (handle === null) throw new Error('quiche_accept returned NULL');
    this.server = new ConnCore(handle, { isServer: true, dgramEnabled: this.#serverConfig.dgram.enabled });
  }
}

const pairs = new Set<CorePair>();
afterEach(() => {
  for (const pair of [...pairs]) pair.free();
});

/** What one side read from a stream. */
class Sink {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  fin = false;

  /** Reads everything `core` holds for stream `id` (bounded). */
  drain(core: ConnCore, id: number): void {
    for (let i = 0; i < 10_000; i++) {
      const { data, fin } = core.streams.recv(id);
      if (data !== null) {
        this.chunks.push(data);
        this.length += data.length;
      }
      if (fin) {
        if (this.fin) throw new Error(`stream ${id}: FIN reported twice`);
        this.fin = true;
        return;
      }
      if (data === null) return;
    }
    throw new Error(`stream ${id}: recv() kept returning data`);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('ConnCore in memory', () => {
  it('handshakes: each side reports established exactly once, nothing about streams before', async () => {
    const pair = new CorePair();
    expect(pair.client.isServer).toBe(false);
    expect(pair.client.established).toBe(false);
    expect(pair.client.handle).not.toBeNull();
    expect(pair.server).toBeNull();
    await pair.handshake();
    const server = pair.srv;
    expect(server.isServer).toBe(true);
    // A few more quiet rounds (acks, HANDSHAKE_DONE, session tickets, timers) report nothing new.
    for (let i = 0; i < 5; i++) {
      pair.step();
      await sleep(2);
    }
    for (const side of ['client', 'server'] as const) {
      const log = pair.log[side];
      expect(pair.events(side, 'established'), side).toHaveLength(1);
      const at = log.findIndex((e) => e.type === 'established');
      const before = log.slice(0, at).map((e) => e.type);
      expect(
        before.filter((t) => t === 'readable' || t === 'writable' || t === 'datagram'),
        side,
      ).toEqual([]);
      expect(pair.events(side, 'closed'), side).toEqual([]);
    }
    expect(pair.client.established).toBe(true);
    expect(server.established).toBe(true);
    expect(pair.recvErrors).toEqual({ client: [], server: [] });
    expect(pair.client.isClosed || server.isClosed).toBe(false);
    expect(pair.client.closeInfo).toBeNull();
  });

  it('carries 100 KiB each way on stream 0 under flow control', async () => {
    const size = 100 * 1024;
    const window = 16 * 1024;
    const pair = new CorePair({
      client: { initialMaxStreamDataBidiLocal: window },
      server: { initialMaxStreamDataBidiRemote: window },
    });
    await pair.handshake();
    const { client } = pair;
    const server = pair.srv;
    const payload = pseudoRandomBytes(1, size);
    const atServer = new Sink();
    const atClient = new Sink();
    pair.onEvent = (side, ev) => {
      if (ev.type !== 'readable') return;
      expect(ev.streamId).toBe(0);
      (side === 'server' ? atServer : atClient).drain(side === 'server' ? server : client, ev.streamId);
    };

    expect(client.streams.create(0)).toBe(true);
    const writes: number[] = [];
    let sent = 0;
    let echoed = 0;
    await pair.run('stream 0 round trip', () => {
      if (sent < size) {
        const n = client.streams.send(0, payload.subarray(sent), true);
        writes.push(n);
        sent += n;
      }
      if (atServer.fin && echoed < atServer.length) {
        echoed += server.streams.send(0, atServer.bytes().subarray(echoed), true);
      }
      return atClient.fin;
    });

    // The peer's 16 KiB window made the client write in pieces.
    expect(writes[0]).toBeGreaterThan(0);
    expect(writes[0]).toBeLessThanOrEqual(window);
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(size);
    expect(pair.events('server', 'readable').length).toBeGreaterThan(0);
    expect(atServer.length).toBe(size);
    expect(same(atServer.bytes(), payload)).toBe(true);
    expect(atClient.length).toBe(size);
    expect(same(atClient.bytes(), payload)).toBe(true);
    expect(pair.recvErrors).toEqual({ client: [], server: [] });
  });

  it('delivers datagrams both ways and refuses an oversized one', async () => {
    const pair = new CorePair({ client: { dgram: true }, server: { dgram: true } });
    await pair.handshake();
    const { client } = pair;
    const server = pair.srv;
    const max = client.dgramMaxWritable();
    expect(max).not.toBeNull();
    expect(max!).toBeGreaterThan(1000);
    const small = pseudoRandomBytes(2, 100);
    const full = pseudoRandomBytes(3, max!);
    client.dgramSend(small);
    client.dgramSend(full);
    const back = pseudoRandomBytes(4, 321);
    server.dgramSend(back);
    await pair.run(
      'datagrams',
      () => pair.events('server', 'datagram').length >= 2 && pair.events('client', 'datagram').length >= 1,
      { maxMs: 5_000 },
    );
    const got = pair.events('server', 'datagram').map((e) => e.data);
    expect(got).toHaveLength(2);
    expect(same(got[0]!, small)).toBe(true);
    expect(same(got[1]!, full)).toBe(true);
    const gotBack = pair.events('client', 'datagram');
    expect(gotBack).toHaveLength(1);
    expect(same(gotBack[0]!.data, back)).toBe(true);

    let error: unknown;
    try {
      client.dgramSend(new Uint8Array(max! + 1));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(QuicError);
    expect((error as QuicError).code).toBe('ERR_QUIC_DATAGRAM_TOO_LARGE');
    expect((error as QuicError).message).toContain(String(max));
  });

  it('refuses datagrams when they are not enabled', async () => {
    const pair = new CorePair({ server: { dgram: true } });
    await pair.handshake();
    expect(pair.client.dgramMaxWritable()).toBeNull();
    expect(() => pair.client.dgramSend(new Uint8Array(10))).toThrow(
      expect.objectContaining({ code: 'ERR_QUIC_DATAGRAM_DISABLED' }),
    );
  });

  it('completes a 200 KiB transfer when every third datagram is lost', async () => {
    const size = 200 * 1024;
    const pair = new CorePair();
    await pair.handshake();
    const { client } = pair;
    const server = pair.srv;
    // From now on, every third datagram from the client is lost.
    const start = pair.sent.client;
    pair.drop = (from, index) => from === 'client' && (index - start) % 3 === 2;
    const payload = pseudoRandomBytes(5, size);
    const atServer = new Sink();
    pair.onEvent = (side, ev) => {
      if (side === 'server' && ev.type === 'readable') atServer.drain(server, ev.streamId);
    };
    expect(client.streams.create(0)).toBe(true);
    let sent = 0;
    await pair.run(
      'lossy transfer',
      () => {
        if (sent < size) sent += client.streams.send(0, payload.subarray(sent), true);
        return atServer.fin;
      },
      { maxMs: 20_000 },
    );
    expect(pair.dropped.client).toBeGreaterThan(10);
    expect(pair.dropped.server).toBe(0);
    expect(atServer.length).toBe(size);
    expect(same(atServer.bytes(), payload)).toBe(true);
    const stats = readStats(client.handle!);
    expect(stats.lost).toBeGreaterThan(0);
    expect(stats.retrans).toBeGreaterThan(0);
  });

  it('recovers a lost tail only through onTimeout (PTO)', async () => {
    const pair = new CorePair();
    await pair.handshake();
    // Let the handshake's acks and timers settle first.
    for (let i = 0; i < 3; i++) {
      pair.step();
      await sleep(5);
    }
    const { client } = pair;
    const server = pair.srv;
    const atServer = new Sink();
    pair.onEvent = (side, ev) => {
      if (side === 'server' && ev.type === 'readable') atServer.drain(server, ev.streamId);
    };
    // The one datagram carrying the data and FIN is lost: nothing later can reveal the loss.
    const lost = pair.sent.client;
    pair.drop = (from, index) => from === 'client' && index === lost;
    const message = pseudoRandomBytes(6, 1000);
    expect(client.streams.create(0)).toBe(true);
    expect(client.streams.send(0, message, true)).toBe(message.length);
    const timeoutsBefore = pair.timeouts.client;
    pair.step();
    expect(pair.dropped.client).toBe(1);
    expect(atServer.length).toBe(0);
    // Nothing can reveal the loss but the PTO timer, which is armed.
    expect(client.timeout()).toBeGreaterThan(0);
    await pair.run('tail loss', () => atServer.fin, { maxMs: 5_000 });
    expect(pair.timeouts.client).toBeGreaterThan(timeoutsBefore);
    expect(same(atServer.bytes(), message)).toBe(true);
    expect(readStats(client.handle!).retrans).toBeGreaterThan(0);
  });

  it('needs no timer once quiet without an idle timeout', async () => {
    const pair = new CorePair({ client: { maxIdleTimeout: 0 }, server: { maxIdleTimeout: 0 } });
    await pair.handshake();
    // Acks, HANDSHAKE_DONE and the session ticket settle; then nothing is pending.
    await pair.run('quiet', () => pair.client.timeout() === null && pair.srv.timeout() === null, {
      maxMs: 5_000,
    });
    expect(pair.step()).toBe(0);
    expect(pair.client.timeout()).toBeNull();
    expect(pair.srv.timeout()).toBeNull();
  });

  it("surfaces the peer's RESET_STREAM and STOP_SENDING as QuicErrors with its code", async () => {
    const pair = new CorePair();
    await pair.handshake();
    const { client } = pair;
    const server = pair.srv;
    expect(client.streams.create(0)).toBe(true);
    expect(client.streams.create(4)).toBe(true);
    expect(client.streams.send(0, Buffer.from('abc'), false)).toBe(3);
    expect(client.streams.send(4, Buffer.from('xyz'), false)).toBe(3);
    await pair.run('data on both streams', () => pair.events('server', 'readable').length >= 2);
    expect(Buffer.from(server.streams.recv(0).data!).toString()).toBe('abc');
    expect(Buffer.from(server.streams.recv(4).data!).toString()).toBe('xyz');
    expect(server.streams.recv(0)).toEqual({ data: null, fin: false });

    const readable = pair.events('server', 'readable').length;
    client.streams.shutdown(0, 'write', 5n); // RESET_STREAM
    server.streams.shutdown(4, 'read', 6n); // STOP_SENDING
    await pair.run('reset seen', () => pair.events('server', 'readable').length > readable);
    expect(pair.events('server', 'readable').at(-1)!.streamId).toBe(0);
    expect(() => server.streams.recv(0)).toThrow(
      expect.objectContaining({
        code: 'ERR_QUIC_STREAM_RESET',
        errorCode: 5n,
        type: 'application',
        remote: true,
        streamId: 0,
      }),
    );
    const stopped = client.streams.stopped(4);
    expect(stopped).toBeInstanceOf(QuicError);
    expect(stopped).toMatchObject({ code: 'ERR_QUIC_STREAM_STOPPED', errorCode: 6n, streamId: 4 });
    expect(() => client.streams.send(4, Buffer.from('more'), false)).toThrow(
      expect.objectContaining({ code: 'ERR_QUIC_STREAM_STOPPED', errorCode: 6n }),
    );
    // Still reported to a later check: the code is not lost by asking.
    expect(client.streams.stopped(4)).toMatchObject({ code: 'ERR_QUIC_STREAM_STOPPED', errorCode: 6n });
    expect(pair.recvErrors).toEqual({ client: [], server: [] });
  });

  it('closes: both sides report closed once, with the code and reason, and free everything', async () => {
    const before = resourceCounts().connections;
    const pair = new CorePair();
    await pair.handshake();
    const { client } = pair;
    const server = pair.srv;
    expect(resourceCounts().connections).toBe(before + 2);

    client.close(true, 7n, Buffer.from('bye'));
    await pair.run('close', () => client.isClosed && server.isClosed, { maxMs: 10_000 });
    // Both drained via their timers: closing needs onTimeout() on both sides.
    expect(pair.timeouts.client).toBeGreaterThan(0);
    expect(pair.timeouts.server).toBeGreaterThan(0);

    const [clientClosed, ...moreClient] = pair.events('client', 'closed');
    const [serverClosed, ...moreServer] = pair.events('server', 'closed');
    expect(moreClient).toEqual([]);
    expect(moreServer).toEqual([]);
    expect(clientClosed!.info).toMatchObject({
      code: 'ERR_QUIC_APPLICATION_CLOSED',
      local: true,
      type: 'application',
      errorCode: 7n,
      reason: 'bye',
      graceful: false,
    });
    expect(serverClosed!.info).toMatchObject({
      code: 'ERR_QUIC_APPLICATION_CLOSED',
      local: false,
      type: 'application',
      errorCode: 7n,
      reason: 'bye',
    });
    expect(client.closeInfo).toEqual(clientClosed!.info);
    expect(server.closeInfo).toEqual(serverClosed!.info);

    for (const core of [client, server]) {
      expect(core.isClosed).toBe(true);
      expect(core.handle).toBeNull();
      expect(core.poll()).toBeNull();
      expect(core.timeout()).toBeNull();
      expect(core.send(new Uint8Array(1500), 1500)).toBe(0);
      expect(() => core.live()).toThrow(expect.objectContaining({ code: 'ERR_QUIC_APPLICATION_CLOSED' }));
    }
    // Nothing more happens, however long we keep stepping.
    const logged = pair.log.client.length + pair.log.server.length;
    expect(pair.step()).toBe(0);
    expect(pair.log.client.length + pair.log.server.length).toBe(logged);
    expect(resourceCounts().connections).toBe(before);
  });
});
