/**
 * Stream behaviours over a real connection: many concurrent bidi streams
 * (property-based), uni streams both ways, FIN with and without data,
 * RESET_STREAM and STOP_SENDING in both directions, tryWrite, and the
 * Node Duplex adapter.
 */
import { once } from 'node:events';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect, type Listener, listen, QuicError, type Stream } from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { delay, pair, pseudoRandomBytes } from './support/pair.js';

/** Accepts the next peer stream, failing the test instead of hanging. */
async function nextStream(conn: Connection): Promise<Stream> {
  const stream = await conn.acceptStream({ signal: AbortSignal.timeout(5000) });
  if (stream === null) throw new Error('the connection closed instead of delivering a stream');
  return stream;
}

/** Reads exactly `n` bytes (several chunks if need be). */
async function readExactly(stream: Stream, n: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (let i = 0; i < 10_000 && got < n; i++) {
    const chunk = await stream.read({ signal: AbortSignal.timeout(5000) });
    if (chunk === null) break;
    chunks.push(chunk);
    got += chunk.length;
  }
  return Buffer.concat(chunks);
}

/** Writes small chunks until a write rejects (the peer's STOP_SENDING arrived); returns that error. */
async function writeUntilRejected(stream: Stream): Promise<unknown> {
  const chunk = new Uint8Array(512);
  for (let i = 0; i < 1000; i++) {
    try {
      await stream.write(chunk, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      return err;
    }
    await delay(2);
  }
  throw new Error('no write was rejected after 1000 attempts');
}

/** Reads until a read rejects (the peer's RESET_STREAM arrived); returns that error. */
async function readUntilRejected(stream: Stream): Promise<unknown> {
  for (let i = 0; i < 10_000; i++) {
    let chunk: Uint8Array | null;
    try {
      chunk = await stream.read({ signal: AbortSignal.timeout(5000) });
    } catch (err) {
      return err;
    }
    if (chunk === null) throw new Error('the stream ended normally instead of being reset');
  }
  throw new Error('no read was rejected');
}

function expectQuicError(err: unknown, code: string, errorCode: bigint, streamId: number): void {
  expect(err).toBeInstanceOf(QuicError);
  const e = err as QuicError;
  expect(e.code).toBe(code);
  expect(e.errorCode).toBe(errorCode);
  expect(e.remote).toBe(true);
  expect(e.type).toBe('application');
  expect(e.streamId).toBe(streamId);
}

describe('many concurrent bidi streams (property)', () => {
  let listener: Listener;
  beforeAll(async () => {
    listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig({ initialMaxStreamsBidi: 256 }),
      onConnection: (conn) => echoStreams(conn),
    });
  });
  afterAll(() => listener.close());

  type Mode = 'end-with-data' | 'write-then-end' | 'unawaited-writes';
  const streamSpec = fc.record({
    size: fc.integer({ min: 0, max: 64 * 1024 }),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    // split points as fractions of the size (duplicates give empty chunks)
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
    mode: fc.constantFrom<Mode>('end-with-data', 'write-then-end', 'unawaited-writes'),
  });

  type StreamSpec = typeof streamSpec extends fc.Arbitrary<infer T> ? T : never;

  async function sendAndCheck(stream: Stream, spec: StreamSpec): Promise<void> {
    const data = pseudoRandomBytes(spec.seed, spec.size);
    const points = spec.cuts.map((f) => Math.floor(f * spec.size)).sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let prev = 0;
    for (const p of [...points, spec.size]) {
      chunks.push(data.subarray(prev, p));
      prev = p;
    }
    const writing = (async () => {
      if (spec.mode === 'end-with-data') {
        for (const c of chunks.slice(0, -1)) await stream.write(c);
        await stream.end(chunks[chunks.length - 1]);
      } else if (spec.mode === 'write-then-end') {
        for (const c of chunks) await stream.write(c);
        await stream.end();
      } else {
        // Writes queue in call order without awaiting each one.
        await Promise.all([...chunks.map((c) => stream.write(c)), stream.end()]);
      }
    })();
    const [, echoed] = await Promise.all([writing, stream.readAll({ signal: AbortSignal.timeout(20_000) })]);
    expect(echoed.length).toBe(data.length);
    expect(Buffer.compare(echoed, data)).toBe(0);
  }

  it('echoes 200 concurrent streams of random sizes and chunking byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(streamSpec, { minLength: 200, maxLength: 200 }), async (specs) => {
        const conn = await connect({
          host: '127.0.0.1',
          port: listener.address().port,
          config: clientConfig(),
          serverName: 'localhost',
        });
        try {
          const runs: Promise<void>[] = [];
          for (const spec of specs) {
            const stream = await conn.openStream({ wait: false });
            runs.push(sendAndCheck(stream, spec));
          }
          await Promise.all(runs);
          expect(conn.streamCount).toBe(0);
        } finally {
          await conn.close();
        }
      }),
      // Each run is 200 streams and up to 13 MB; shrinking such a case would
      // outlast the test timeout, so the failing case is reported (with its seed) as found.
      { numRuns: 3, endOnFailure: true },
    );
  });
});

describe('streams', () => {
  it('delivers a peer stream whose data arrives after a higher-numbered stream', async () => {
    const p = await pair();
    try {
      const first = await p.client.openStream();
      const second = await p.client.openStream();
      expect([first.id, second.id]).toEqual([0, 4]);
      await second.end('second');
      // Let the server see stream 4 before anything of stream 0.
      const s4 = await nextStream(p.server);
      await first.end('first');
      const got = new Map<number, string>([[s4.id, (await s4.readAll()).toString()]]);
      const s0 = await nextStream(p.server);
      got.set(s0.id, (await s0.readAll()).toString());
      expect(got).toEqual(
        new Map([
          [0, 'first'],
          [4, 'second'],
        ]),
      );
    } finally {
      await p.close();
    }
  });

  it('carries uni streams client→server and server→client', async () => {
    const p = await pair();
    try {
      const up = await p.client.openUniStream();
      expect(up.direction).toBe('uni');
      expect(up.origin).toBe('local');
      expect(up.readable).toBe(false);
      expect(up.id % 4).toBe(2);
      await expect(up.read()).rejects.toBeInstanceOf(TypeError);
      const upData = pseudoRandomBytes(1, 100_000);
      await up.write(upData.subarray(0, 40_000));
      await up.end(upData.subarray(40_000));

      const atServer = await nextStream(p.server);
      expect(atServer.direction).toBe('uni');
      expect(atServer.origin).toBe('remote');
      expect(atServer.writable).toBe(false);
      expect(atServer.id).toBe(up.id);
      expect(() => atServer.tryWrite('x')).toThrow(TypeError);
      expect(Buffer.compare(await atServer.readAll(), upData)).toBe(0);

      const down = await p.server.openUniStream();
      expect(down.id % 4).toBe(3);
      expect(down.origin).toBe('local');
      const downData = pseudoRandomBytes(2, 70_000);
      await down.end(downData);
      const atClient = await nextStream(p.client);
      expect(atClient.id).toBe(down.id);
      expect(atClient.direction).toBe('uni');
      expect(atClient.origin).toBe('remote');
      expect(Buffer.compare(await atClient.readAll(), downData)).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('ends a stream with FIN carrying data, FIN after data, and FIN on an empty stream', async () => {
    const p = await pair();
    try {
      // FIN with the last data: end(data)
      const a = await p.client.openStream();
      await a.end('with data');
      expect(a.writable).toBe(false);
      const sa = await nextStream(p.server);
      const ended = once(sa, 'end');
      expect((await sa.readAll()).toString()).toBe('with data');
      await ended;
      expect(await sa.read()).toBeNull();
      expect(sa.readable).toBe(false);

      // FIN without data after a write: write() then end()
      const b = await p.client.openStream();
      await b.write('written first');
      await b.end();
      const sb = await nextStream(p.server);
      expect((await sb.readAll()).toString()).toBe('written first');
      expect(await sb.read()).toBeNull();

      // FIN alone on a stream that never carried data: the peer reads null at once
      const c = await p.client.openStream();
      await c.end();
      const sc = await nextStream(p.server);
      expect(await sc.read({ signal: AbortSignal.timeout(5000) })).toBeNull();

      // Writing after FIN is refused locally.
      await expect(c.write('late')).rejects.toMatchObject({ code: 'ERR_QUIC_STREAM_CLOSED' });
      await expect(c.end()).rejects.toMatchObject({ code: 'ERR_QUIC_STREAM_CLOSED' });

      // The other direction is independent: the server can still answer on each.
      await sa.end('reply a');
      await sc.end();
      expect((await a.readAll()).toString()).toBe('reply a');
      expect(await c.read()).toBeNull();
    } finally {
      await p.close();
    }
  });

  it('reports a reset from the client to the server (read and iteration) and the reset event', async () => {
    const p = await pair();
    try {
      // read()
      const cs = await p.client.openStream();
      await cs.write('hello');
      const ss = await nextStream(p.server);
      const resets: bigint[] = [];
      ss.on('reset', (code) => resets.push(code));
      expect((await readExactly(ss, 5)).toString()).toBe('hello');
      cs.reset(7);
      expect(cs.writable).toBe(false);
      await expect(cs.write('more')).rejects.toMatchObject({ code: 'ERR_QUIC_STREAM_CLOSED' });
      const err = await ss.read({ signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
      expectQuicError(err, 'ERR_QUIC_STREAM_RESET', 7n, cs.id);
      expect(resets).toEqual([7n]);
      // The reset is sticky.
      await expect(ss.read()).rejects.toBe(err);
      // Our receiving side is unaffected: the server can still answer.
      await ss.end('still here');
      expect((await cs.readAll()).toString()).toBe('still here');

      // iteration
      const cs2 = await p.client.openStream();
      await cs2.write('abc');
      const ss2 = await nextStream(p.server);
      const resets2: bigint[] = [];
      ss2.on('reset', (code) => resets2.push(code));
      const received: Uint8Array[] = [];
      const iterating = (async () => {
        for await (const chunk of ss2) {
          received.push(chunk);
          if (Buffer.concat(received).length >= 3) cs2.reset(7n);
        }
      })();
      const iterErr = await iterating.then(
        () => new Error('iteration ended normally'),
        (e: unknown) => e,
      );
      expectQuicError(iterErr, 'ERR_QUIC_STREAM_RESET', 7n, cs2.id);
      expect(Buffer.concat(received).toString()).toBe('abc');
      expect(resets2).toEqual([7n]);
    } finally {
      await p.close();
    }
  });

  it('reports a reset from the server to the client', async () => {
    const p = await pair();
    try {
      const cs = await p.client.openStream();
      await cs.write('x');
      const ss = await nextStream(p.server);
      expect((await readExactly(ss, 1)).toString()).toBe('x');
      const resets: bigint[] = [];
      cs.on('reset', (code) => resets.push(code));
      await ss.write('partial');
      ss.reset(7);
      const err = await readUntilRejected(cs);
      expectQuicError(err, 'ERR_QUIC_STREAM_RESET', 7n, ss.id);
      expect(resets).toEqual([7n]);
      // The client's sending side still works.
      await cs.end('bye');
      expect((await ss.readAll()).toString()).toBe('bye');
    } finally {
      await p.close();
    }
  });

  it('reports STOP_SENDING from the server to the client: writes reject and the stopped event fires', async () => {
    const p = await pair();
    try {
      const cs = await p.client.openStream();
      await cs.write('x');
      const ss = await nextStream(p.server);
      expect((await readExactly(ss, 1)).toString()).toBe('x');
      const stopped: bigint[] = [];
      cs.on('stopped', (code) => stopped.push(code));
      ss.stopSending(9);
      expect(await ss.read()).toBeNull();
      const err = await writeUntilRejected(cs);
      expectQuicError(err, 'ERR_QUIC_STREAM_STOPPED', 9n, cs.id);
      expect(stopped).toEqual([9n]);
      expect(cs.writable).toBe(false);
      await expect(cs.write('again')).rejects.toBe(err);
      // The server's sending side still works.
      await ss.end('answer');
      expect((await cs.readAll()).toString()).toBe('answer');
    } finally {
      await p.close();
    }
  });

  it('reports STOP_SENDING from the client to the server', async () => {
    const p = await pair();
    try {
      const cs = await p.client.openStream();
      await cs.write('x');
      const ss = await nextStream(p.server);
      expect((await readExactly(ss, 1)).toString()).toBe('x');
      const stopped: bigint[] = [];
      ss.on('stopped', (code) => stopped.push(code));
      cs.stopSending(9n);
      const err = await writeUntilRejected(ss);
      expectQuicError(err, 'ERR_QUIC_STREAM_STOPPED', 9n, ss.id);
      expect(stopped).toEqual([9n]);
      await cs.end('done');
      expect((await ss.readAll()).toString()).toBe('done');
    } finally {
      await p.close();
    }
  });

  it('emits stopped on a stream nobody is writing to', async () => {
    const p = await pair();
    try {
      const cs = await p.client.openStream();
      await cs.write('x');
      const ss = await nextStream(p.server);
      expect((await readExactly(ss, 1)).toString()).toBe('x');
      const stopped = once(cs, 'stopped', { signal: AbortSignal.timeout(5000) });
      ss.stopSending(11);
      expect(await stopped).toEqual([11n]);
      await expect(cs.write('y')).rejects.toMatchObject({ code: 'ERR_QUIC_STREAM_STOPPED', errorCode: 11n });
    } finally {
      await p.close();
    }
  });

  it('reports STOP_SENDING that arrives after the whole reply was read', async () => {
    const p = await pair();
    try {
      const cs = await p.client.openStream();
      await cs.write('x');
      const ss = await nextStream(p.server);
      expect((await readExactly(ss, 1)).toString()).toBe('x');
      await ss.end('reply');
      expect((await cs.readAll()).toString()).toBe('reply');
      const stopped = once(cs, 'stopped', { signal: AbortSignal.timeout(5000) });
      ss.stopSending(13);
      expect(await stopped).toEqual([13n]);
      await expect(cs.write('y', { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({
        code: 'ERR_QUIC_STREAM_STOPPED',
        errorCode: 13n,
      });
      expect(p.client.streamCount).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('tryWrite takes at most what flow control allows and never more than given', async () => {
    const window = 4096;
    const p = await pair({ server: { initialMaxStreamDataBidiRemote: window } });
    try {
      const cs = await p.client.openStream();
      expect(cs.tryWrite('')).toBe(0);
      const data = pseudoRandomBytes(3, 100_000);
      let taken = 0;
      for (let i = 0; i < 100; i++) {
        const slice = data.subarray(taken, taken + 3000);
        const n = cs.tryWrite(slice);
        expect(n).toBeGreaterThanOrEqual(0);
        expect(n).toBeLessThanOrEqual(slice.length);
        if (n === 0) break;
        taken += n;
      }
      expect(taken).toBeGreaterThan(0);
      expect(taken).toBeLessThanOrEqual(window);
      const small = data.subarray(taken, taken + 10);
      const n = cs.tryWrite(small);
      expect(n).toBeLessThanOrEqual(small.length);
      taken += n;
      await cs.end();
      const ss = await nextStream(p.server);
      expect(Buffer.compare(await ss.readAll(), data.subarray(0, taken))).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('pipes data through toNodeStream() to the peer and back with stream/promises pipeline', async () => {
    const p = await pair();
    try {
      const cs = await p.client.openStream();
      const data = pseudoRandomBytes(4, 300_000);
      const invert = (): Transform =>
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            const out = Buffer.allocUnsafe(chunk.length);
            for (let i = 0; i < chunk.length; i++) out[i] = chunk[i]! ^ 0xff;
            cb(null, out);
          },
        });
      // The server answers through its own Duplex: read → invert → write back.
      const serving = (async () => {
        const ss = await nextStream(p.server);
        const sd = ss.toNodeStream();
        await pipeline(sd, invert(), sd);
      })();
      const received: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          received.push(chunk);
          cb();
        },
      });
      async function* source(): AsyncGenerator<Uint8Array> {
        for (let off = 0; off < data.length; off += 7000) yield data.subarray(off, off + 7000);
      }
      await pipeline(Readable.from(source()), cs.toNodeStream(), sink);
      await serving;
      const back = Buffer.concat(received);
      expect(back.length).toBe(data.length);
      for (let i = 0; i < back.length; i++) back[i] = back[i]! ^ 0xff;
      expect(Buffer.compare(back, data)).toBe(0);
    } finally {
      await p.close();
    }
  });
});
