/**
 * The impairment relay (relay.ts): plain UDP sockets check what each
 * impairment does for a fixed seed, then quichex connections run through it
 * (loss with reordering, NAT rebinding, Retry counting).
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Config,
  type Connection,
  connect,
  type Listener,
  listen,
  type PathEvent,
} from '../../packages/quichex/src/index.js';
import { pseudoRandomBytes } from '../../packages/quichex/test/support/pair.js';
import { generateTestCerts, type TestCerts } from '../support/certs.js';
import {
  gilbertElliott,
  LongType,
  longHeaderTypes,
  type Relay,
  type RelayOptions,
  startRelay,
} from './relay.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function relay(options: RelayOptions): Promise<Relay> {
  const r = await startRelay(options);
  cleanups.push(() => r.close());
  return r;
}

interface Received {
  seq: number;
  data: Buffer;
  from: string;
  at: number;
}

/** A UDP socket on loopback that records (and optionally echoes) what it receives. */
async function sink(host = '127.0.0.1', echo = false): Promise<{ socket: dgram.Socket; got: Received[] }> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const got: Received[] = [];
  socket.on('message', (msg, rinfo) => {
    got.push({
      seq: msg.length >= 4 ? msg.readUInt32BE(0) : -1,
      data: msg,
      from: `${rinfo.address}:${rinfo.port}`,
      at: performance.now(),
    });
    if (echo) socket.send(msg, rinfo.port, rinfo.address);
  });
  return { socket, got };
}

/** Datagram `seq`: its number, then 60 bytes derived from it (so corruption is detectable). */
function datagram(seq: number): Buffer {
  const buf = Buffer.alloc(64);
  buf.writeUInt32BE(seq, 0);
  Buffer.from(pseudoRandomBytes(seq + 1, 60)).copy(buf, 4);
  return buf;
}

function intact(buf: Buffer): boolean {
  return buf.length === 64 && buf.equals(datagram(buf.readUInt32BE(0)));
}

/** Sends `n` numbered datagrams to the relay, paced so no socket buffer overflows. */
async function sendNumbered(r: Relay, n: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) =>
      socket.send(datagram(i), r.port, r.host, (err) => (err ? reject(err) : resolve())),
    );
    if (i % 32 === 31) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return socket;
}

async function settle(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the relay to settle');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const N = 2000;

/** The relay took all `n` datagrams and the server received everything it forwarded. */
function drained(r: Relay, got: Received[], n: number): boolean {
  const c = r.counters().toServer;
  return c.received === n && got.length === c.forwarded;
}

describe('relay over plain UDP', () => {
  it('forwards untouched without impairments', async () => {
    const server = await sink();
    const r = await relay({ server: { host: '127.0.0.1', port: server.socket.address().port } });
    await sendNumbered(r, 200);
    await settle(() => server.got.length === 200);
    expect(server.got.map((g) => g.seq)).toEqual([...Array(200).keys()]);
    expect(server.got.every((g) => intact(g.data))).toBe(true);
    expect(r.counters()).toMatchObject({ forwarded: 200, dropped: 0, clients: 1, rebinds: 0 });
  });

  it('loses, corrupts, duplicates and reorders in proportion, the same way for the same seed', async () => {
    const runs = [];
    for (let run = 0; run < 2; run++) {
      const server = await sink();
      const r = await relay({
        server: { host: '127.0.0.1', port: server.socket.address().port },
        seed: 42,
        toServer: { loss: 0.1, corrupt: 0.05, duplicate: 0.05, reorder: 0.1, reorderHoldMs: 200 },
      });
      await sendNumbered(r, N);
      await new Promise((resolve) => setTimeout(resolve, 250)); // the last held datagram goes alone
      await settle(() => drained(r, server.got, N));
      runs.push({ c: r.counters().toServer, got: server.got });
    }
    const [a, b] = runs;
    expect(a!.c).toEqual(b!.c);
    expect(a!.got.map((g) => g.seq)).toEqual(b!.got.map((g) => g.seq));

    const { c, got } = a!;
    expect(c.received).toBe(N);
    expect(c.droppedLoss).toBeGreaterThan(N * 0.1 * 0.75);
    expect(c.droppedLoss).toBeLessThan(N * 0.1 * 1.25);
    const kept = N - c.droppedLoss;
    expect(c.corrupted).toBeGreaterThan(kept * 0.05 * 0.6);
    expect(c.corrupted).toBeLessThan(kept * 0.05 * 1.4);
    expect(c.duplicated).toBeGreaterThan(kept * 0.05 * 0.6);
    expect(c.duplicated).toBeLessThan(kept * 0.05 * 1.4);
    // A held datagram is released by the next one, which cannot be held itself.
    expect(c.reordered).toBeGreaterThan(kept * 0.08 * 0.6);
    expect(c.reordered).toBeLessThan(kept * 0.1 * 1.4);
    expect(c.forwarded).toBe(kept + c.duplicated);
    // What the server saw matches the counters.
    // (a corrupted datagram can also be duplicated: both copies arrive corrupted)
    const broken = got.filter((g) => !intact(g.data)).length;
    expect(broken).toBeGreaterThanOrEqual(c.corrupted);
    expect(broken).toBeLessThanOrEqual(c.corrupted + c.duplicated);
    const seqs = got.filter((g) => intact(g.data)).map((g) => g.seq);
    const dupes = seqs.length - new Set(seqs).size;
    expect(dupes).toBeLessThanOrEqual(c.duplicated);
    let inversions = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) inversions++;
    expect(inversions).toBeGreaterThan(0);
    expect(inversions).toBeLessThanOrEqual(c.reordered);
  });

  it('drops in bursts of N after a drop', async () => {
    const server = await sink();
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      seed: 7,
      toServer: { loss: 0.03, burst: { kind: 'after-drop', length: 4 } },
    });
    await sendNumbered(r, N);
    await settle(() => drained(r, server.got, N));
    const seqs = server.got.map((g) => g.seq);
    const gaps: number[] = [];
    for (let i = 1; i < seqs.length; i++)
      if (seqs[i]! - seqs[i - 1]! > 1) gaps.push(seqs[i]! - seqs[i - 1]! - 1);
    expect(gaps.length).toBeGreaterThan(20);
    // Every gap is a whole number of bursts (back-to-back bursts merge).
    expect(gaps.every((g) => g >= 4)).toBe(true);
    expect(r.counters().toServer.droppedLoss).toBe(N - seqs.length);
  });

  it('follows a Gilbert-Elliott model: the mean loss and the mean burst length', async () => {
    const server = await sink();
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      seed: 3,
      toServer: { burst: gilbertElliott(0.1, 4) },
    });
    await sendNumbered(r, N);
    await settle(() => drained(r, server.got, N));
    const lost = r.counters().toServer.droppedLoss;
    expect(lost).toBeGreaterThan(N * 0.1 * 0.6);
    expect(lost).toBeLessThan(N * 0.1 * 1.4);
    const seqs = server.got.map((g) => g.seq);
    let bursts = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i]! - seqs[i - 1]! > 1) bursts++;
    expect(lost / bursts).toBeGreaterThan(2.5);
    expect(lost / bursts).toBeLessThan(6);
  });

  it('delays each way with jitter, keeping order', async () => {
    const server = await sink('127.0.0.1', true);
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      toServer: { delayMs: 40, jitterMs: 10 },
      toClient: { delayMs: 40 },
    });
    const client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    const rtts: number[] = [];
    const order: number[] = [];
    const sent = new Map<number, number>();
    client.on('message', (msg) => {
      const seq = msg.readUInt32BE(0);
      order.push(seq);
      rtts.push(performance.now() - sent.get(seq)!);
    });
    for (let i = 0; i < 20; i++) {
      sent.set(i, performance.now());
      client.send(datagram(i), r.port, r.host);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await settle(() => rtts.length === 20);
    expect(order).toEqual([...Array(20).keys()]);
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(69);
    expect(Math.max(...rtts)).toBeLessThan(500); // generous: the suite runs in parallel forks
  });

  it('limits the rate', async () => {
    const server = await sink();
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      toServer: { rateBytesPerSec: 64 * 1000 },
    });
    const started = performance.now();
    await sendNumbered(r, 200); // 200 × 64 bytes: 200 ms at 64 kB/s
    await settle(() => server.got.length === 200);
    expect(performance.now() - started).toBeGreaterThan(180);
  });

  it('blackholes a period, then forwards again', async () => {
    const server = await sink();
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      timeOrigin: 'listen',
      toServer: { blackhole: [[0, 300]] },
    });
    await sendNumbered(r, 20);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await sendNumbered(r, 20);
    await settle(() => server.got.length >= 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.got).toHaveLength(20);
    expect(r.counters().toServer.droppedBlackhole).toBe(20);
  });

  it('rebinds to a new port, then to a new address; replies still reach the client', async () => {
    const server = await sink('127.0.0.1', true);
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      rebindPortAt: [150],
      rebindAddrAt: [300],
    });
    const client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    let echoes = 0;
    client.on('message', () => echoes++);
    for (let i = 0; i < 45; i++) {
      client.send(datagram(i), r.port, r.host);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await settle(() => echoes >= 40);
    const sources = [...new Set(server.got.map((g) => g.from))];
    expect(sources).toHaveLength(3);
    expect(sources[0]!.startsWith('127.0.0.1:')).toBe(true);
    expect(sources[1]!.startsWith('127.0.0.1:')).toBe(true);
    expect(sources[2]!.startsWith('127.0.0.2:')).toBe(true);
    expect(r.counters()).toMatchObject({ rebinds: 2, rebindEvents: 2, clients: 1 });
    expect(r.upstreamAddresses()).toEqual([sources[2]]);
  });

  it('passes late replies from a replaced port during the grace period only', async () => {
    const server = await sink('127.0.0.1');
    const r = await relay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      rebindPortAt: [50],
      rebindGraceMs: 150,
    });
    const client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    let replies = 0;
    client.on('message', () => replies++);
    client.send(datagram(0), r.port, r.host);
    await settle(() => server.got.length === 1);
    const oldSource = server.got[0]!.from;
    const [, oldPort] = oldSource.split(':');
    await new Promise((resolve) => setTimeout(resolve, 100)); // rebound, old port in its grace period
    server.socket.send(datagram(1), Number(oldPort), '127.0.0.1');
    await settle(() => replies === 1);
    await new Promise((resolve) => setTimeout(resolve, 200)); // grace over: the old port is closed
    server.socket.send(datagram(2), Number(oldPort), '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(replies).toBe(1);
    expect(r.upstreamAddresses()).not.toContain(oldSource);
  });

  it('serves IPv6 loopback', async () => {
    const server = await sink('::1');
    const r = await relay({ server: { host: '::1', port: server.socket.address().port } });
    expect(r.host).toBe('::1');
    const client = dgram.createSocket('udp6');
    await new Promise<void>((resolve) => client.bind(0, '::1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    client.send(datagram(1), r.port, r.host);
    await settle(() => server.got.length === 1);
    expect(server.got[0]!.from.startsWith('::1:')).toBe(true);
  });

  it('close() stops delivery of queued datagrams and clears its timers', async () => {
    const server = await sink();
    const r = await startRelay({
      server: { host: '127.0.0.1', port: server.socket.address().port },
      toServer: { delayMs: 200, reorder: 1, reorderHoldMs: 1000 },
      rebindPortAt: [1000],
    });
    await sendNumbered(r, 11);
    await r.close();
    await r.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.got).toHaveLength(0);
  });

  it('rejects impossible options', async () => {
    await expect(
      startRelay({ server: { host: '127.0.0.1', port: 1 }, toServer: { loss: 2 } }),
    ).rejects.toThrow(/probability/);
    await expect(startRelay({ server: { host: '::1', port: 1 }, rebindAddrAt: [10] })).rejects.toThrow(
      /IPv6/,
    );
  });
});

describe('long-header parsing', () => {
  function longPacket(type: number, payload: number, token = 0): Buffer {
    const parts = [
      Buffer.from([0xc0 | (type << 4), 0, 0, 0, 1, 8]),
      Buffer.alloc(8, 1),
      Buffer.from([8]),
      Buffer.alloc(8, 2),
    ];
    if (type === LongType.Initial) parts.push(Buffer.from([token]), Buffer.alloc(token, 3));
    parts.push(Buffer.from([0x40 | (payload >> 8), payload & 0xff]), Buffer.alloc(payload, 4));
    return Buffer.concat(parts);
  }

  it('walks coalesced packets and stops at a short header or a Retry', () => {
    const d = Buffer.concat([
      longPacket(LongType.Initial, 300, 5),
      longPacket(LongType.Handshake, 500),
      Buffer.from([0x40, 1, 2]),
    ]);
    expect(longHeaderTypes(d)).toEqual([LongType.Initial, LongType.Handshake]);
    expect(longHeaderTypes(Buffer.from([0xf0, 0, 0, 0, 1, 0, 0, 9, 9]))).toEqual([LongType.Retry]);
    expect(longHeaderTypes(Buffer.from([0x41, 1, 2, 3, 4, 5, 6, 7]))).toEqual([]);
    // Another version is not read.
    expect(longHeaderTypes(Buffer.from([0xc0, 0x6b, 0x33, 0x43, 0xcf, 0, 0, 0]))).toEqual([]);
    // Truncated: what was read so far.
    expect(longHeaderTypes(longPacket(LongType.Handshake, 100).subarray(0, 12))).toEqual([
      LongType.Handshake,
    ]);
  });
});

describe('quichex through the relay', () => {
  let certs: TestCerts | undefined;
  beforeAll(() => {
    certs = generateTestCerts();
  });
  afterAll(() => certs?.cleanup());
  const getCerts = (): TestCerts => certs!;
  const ALPN = 'relay-test';
  const SIZE = 2 * 1024 * 1024;
  const payload = Buffer.from(pseudoRandomBytes(99, SIZE));
  const digest = createHash('sha256').update(payload).digest('hex');

  /** A listener answering every stream with the payload; server connections are collected. */
  async function server(retry = false): Promise<{ listener: Listener; events: PathEvent[] }> {
    const c = getCerts();
    const events: PathEvent[] = [];
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      retry,
      config: new Config({ alpn: [ALPN], certChainFile: c.cert, privKeyFile: c.key }),
      onConnection: async (conn) => {
        conn.on('path', (e) => events.push(e));
        for await (const stream of conn.streams()) {
          void (async () => {
            try {
              await stream.readAll();
              await stream.end(payload);
            } catch {
              // the connection went away
            }
          })();
        }
      },
    });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    return { listener, events };
  }

  async function download(r: Relay): Promise<{ conn: Connection; body: Buffer }> {
    const conn = await connect({
      host: r.host,
      port: r.port,
      serverName: 'localhost',
      config: new Config({ alpn: [ALPN], caFile: getCerts().caCert }),
    });
    cleanups.push(() => conn.destroy());
    const stream = await conn.openStream();
    await stream.end('GET');
    const body = await stream.readAll();
    return { conn, body };
  }

  it('moves 2 MiB intact through 2 % loss and reordering both ways', async () => {
    const { listener } = await server();
    const impair = { loss: 0.02, reorder: 0.02, reorderHoldMs: 5 };
    const r = await relay({
      server: { host: '127.0.0.1', port: listener.address().port },
      seed: 2024,
      toServer: impair,
      toClient: impair,
    });
    const { body } = await download(r);
    expect(body.length).toBe(SIZE);
    expect(createHash('sha256').update(body).digest('hex')).toBe(digest);
    const c = r.counters();
    expect(c.toClient.droppedLoss).toBeGreaterThan(0);
    expect(c.reordered).toBeGreaterThan(0);
  });

  it('keeps a transfer going across a NAT rebinding; the server sees the new port', async () => {
    const { listener, events } = await server();
    const r = await relay({
      server: { host: '127.0.0.1', port: listener.address().port },
      // Slow the transfer down so the rebind lands in the middle of it.
      toClient: { rateBytesPerSec: 4 * 1024 * 1024 },
      rebindPortAt: [200],
      // The old mapping lingers a little: what the server already sent to the old port
      // still arrives. Without it, quiche 0.30 sometimes never retransmits those packets
      // and the transfer stalls (a known issue, see KNOWN_ISSUES in matrix.ts).
      rebindGraceMs: 500,
    });
    const { conn, body } = await download(r);
    expect(createHash('sha256').update(body).digest('hex')).toBe(digest);
    expect(r.counters().rebinds).toBe(1);
    const [upstream] = r.upstreamAddresses();
    // Still working after the rebind, from the new port.
    const again = await conn.openStream();
    await again.end('GET');
    expect((await again.readAll()).length).toBe(SIZE);
    expect(
      events.some((e) => e.type === 'peer-migrated' && `${e.peer?.address}:${e.peer?.port}` === upstream),
    ).toBe(true);
  });

  it('counts a Retry from the server', async () => {
    const { listener } = await server(true);
    const r = await relay({ server: { host: '127.0.0.1', port: listener.address().port } });
    const { body } = await download(r);
    expect(body.length).toBe(SIZE);
    expect(r.counters().retries).toBeGreaterThanOrEqual(1);
    expect(r.counters().amplification[0]).toMatchObject({ retried: true });
  });

  it('measures the server’s bytes before address validation', async () => {
    const { listener } = await server();
    const r = await relay({ server: { host: '127.0.0.1', port: listener.address().port } });
    await download(r);
    const [sample] = r.counters().amplification;
    expect(sample).toMatchObject({ validated: true, retried: false });
    expect(sample!.clientBytes).toBeGreaterThanOrEqual(1200);
    expect(sample!.serverBytes).toBeGreaterThan(0);
    expect(sample!.serverBytes).toBeLessThanOrEqual(3 * sample!.clientBytes);
  });
});
