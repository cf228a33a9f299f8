/**
 * The application seam through the public API: a tiny protocol written as
 * an `ApplicationFactory` on the sans-IO core ("each bidi stream carries a
 * line; the answer is the line upper-cased, then FIN"), run by `listen()` on
 * the server against a raw-stream client, and by `connect()` on the client
 * against a raw-stream server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Application,
  type ApplicationFactory,
  type ConnCore,
  type Connection,
  connect,
  type Listener,
  listen,
  QuicError,
} from '../src/index.js';
import { clientConfig, serverConfig } from './support/fixtures.js';
import { until, within } from './support/net.js';
import { pseudoRandomBytes } from './support/pair.js';

/** The upper-casing of the test protocol (ASCII only, so byte lengths stay equal). */
function upper(bytes: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(bytes).toString('latin1').toUpperCase(), 'latin1');
}

/** What one application instance saw. */
interface Instance {
  readonly core: ConnCore;
  readonly closes: { error: QuicError; graceful: boolean }[];
  readonly readable: Set<number>;
  /** Throws collected from stream I/O inside callbacks (they would destroy the connection). */
  readonly failures: unknown[];
}

/** Reads every byte quiche holds for stream `id` into `into`; returns whether the FIN arrived (bounded). */
function drain(core: ConnCore, id: number, into: Uint8Array[]): boolean {
  for (let i = 0; i < 10_000; i++) {
    const { data, fin } = core.streams.recv(id);
    if (data !== null) into.push(data);
    if (fin) return true;
    if (data === null) return false;
  }
  throw new Error(`stream ${id}: recv() kept returning data`);
}

/** Writes what fits of each queued answer (FIN with its last byte); forgets the finished ones. */
function pushOut(core: ConnCore, outbox: Map<number, { data: Uint8Array; sent: number }>): void {
  for (const [id, out] of outbox) {
    if (out.sent < out.data.length) out.sent += core.streams.send(id, out.data.subarray(out.sent), true);
    if (out.sent === out.data.length) outbox.delete(id);
  }
}

/** The server side of the protocol: answers each stream with its line upper-cased. */
function upperServer(instances: Instance[]): ApplicationFactory {
  return (core) => {
    const inbox = new Map<number, Uint8Array[]>();
    const outbox = new Map<number, { data: Uint8Array; sent: number }>();
    const me: Instance = { core, closes: [], readable: new Set(), failures: [] };
    instances.push(me);
    const app: Application = {
      streamEvents: true,
      onStreamReadable(id) {
        me.readable.add(id);
        let chunks = inbox.get(id);
        if (chunks === undefined) {
          if (outbox.has(id)) return; // answered already
          chunks = [];
          inbox.set(id, chunks);
        }
        try {
          if (drain(core, id, chunks)) {
            inbox.delete(id);
            outbox.set(id, { data: upper(Buffer.concat(chunks)), sent: 0 });
          }
        } catch (err) {
          me.failures.push(err);
          throw err;
        }
      },
      process() {
        pushOut(core, outbox);
      },
      onClose(error, graceful) {
        me.closes.push({ error, graceful });
      },
    };
    return app;
  };
}

/** The client side: asks `lines` on streams 0, 4, 8, … once the handshake is done and collects the answers. */
function upperClient(
  lines: readonly string[],
  instances: Instance[],
): { factory: ApplicationFactory; answers: Promise<string[]> } {
  let resolve!: (answers: string[]) => void;
  const answers = new Promise<string[]>((r) => {
    resolve = r;
  });
  const factory: ApplicationFactory = (core) => {
    const outbox = new Map<number, { data: Uint8Array; sent: number }>();
    const replies = new Map<number, Uint8Array[]>();
    const done = new Map<number, string>();
    const me: Instance = { core, closes: [], readable: new Set(), failures: [] };
    instances.push(me);
    let asked = false;
    return {
      streamEvents: true,
      onStreamReadable(id) {
        me.readable.add(id);
        const chunks = replies.get(id);
        if (chunks === undefined || done.has(id)) return;
        if (drain(core, id, chunks)) {
          done.set(id, Buffer.concat(chunks).toString('latin1'));
          if (done.size === lines.length) resolve(lines.map((_, i) => done.get(4 * i)!));
        }
      },
      process() {
        if (!asked && core.established) {
          asked = true;
          lines.forEach((line, i) => {
            const id = 4 * i;
            if (!core.streams.create(id)) throw new Error(`stream ${id} refused by the peer's limit`);
            replies.set(id, []);
            outbox.set(id, { data: Buffer.from(line, 'latin1'), sent: 0 });
          });
        }
        pushOut(core, outbox);
      },
      onClose(error, graceful) {
        me.closes.push({ error, graceful });
      },
    };
  };
  return { factory, answers };
}

/** The error `conn.openStream()` gives, thrown at once or as a rejection; `null` if it opened a stream. */
async function openStreamError(conn: Connection, uni = false): Promise<unknown> {
  try {
    await (uni ? conn.openUniStream() : conn.openStream());
  } catch (err) {
    return err;
  }
  return null;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startListener(options: { application?: ApplicationFactory; raw?: boolean }): Promise<{
  listener: Listener;
  conns: Connection[];
}> {
  const conns: Connection[] = [];
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config: serverConfig(),
    application: options.application,
    onConnection: (conn) => {
      conns.push(conn);
      if (!options.raw) return;
      // A raw-stream server speaking the same protocol.
      conn.on('stream', async (stream) => {
        const line = await stream.readAll();
        await stream.end(upper(line));
      });
    },
  });
  cleanups.push(() => listener.close({ timeoutMs: 2000 }));
  return { listener, conns };
}

describe('an application on the server', () => {
  it('answers concurrent raw streams, owns the streams, and hears the close once', async () => {
    const instances: Instance[] = [];
    const { listener, conns } = await startListener({ application: upperServer(instances) });
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    cleanups.push(() => client.destroy());

    const lines = [
      'hello',
      'quic over quiche',
      'x',
      ...Array.from({ length: 12 }, (_, i) => `line number ${i} of many`),
      // Larger than the initial congestion window: answered across several processing rounds.
      Buffer.from(pseudoRandomBytes(7, 150_000)).toString('hex'),
    ];
    const answers = await within(
      Promise.all(
        lines.map(async (line) => {
          const stream = await client.openStream();
          await stream.end(line);
          return (await stream.readAll()).toString('latin1');
        }),
      ),
      15_000,
      'the answers',
    );
    expect(answers).toEqual(lines.map((l) => l.toUpperCase()));

    expect(instances).toHaveLength(1);
    const app = instances[0]!;
    expect(app.core.isServer).toBe(true);
    expect([...app.readable].sort((a, b) => a - b)).toEqual(lines.map((_, i) => 4 * i));
    expect(app.failures).toEqual([]);

    await until(() => conns.length === 1, 5000, 'the server connection');
    const server = conns[0]!;
    for (const uni of [false, true]) {
      const err = await openStreamError(server, uni);
      expect(err).toBeInstanceOf(QuicError);
      expect((err as QuicError).code).toBe('ERR_QUIC_APPLICATION_OWNS_STREAMS');
    }
    expect(server.streamCount).toBe(0);
    expect(app.closes).toEqual([]);

    await within(client.close({ errorCode: 0, reason: 'done' }), 5000, 'the client close');
    const info = await within(server.closed, 5000, 'the server close');
    expect(info).toMatchObject({ local: false, errorCode: 0n, reason: 'done', graceful: true });
    expect(app.closes).toHaveLength(1);
    expect(app.closes[0]!.graceful).toBe(true);
    expect(app.closes[0]!.error).toBeInstanceOf(QuicError);
    expect(app.closes[0]!.error.code).toBe(info.code);
    expect(app.core.isClosed).toBe(true);

    // Closing the listener afterwards does not call it again.
    await listener.close({ timeoutMs: 2000 });
    expect(app.closes).toHaveLength(1);
  });

  it('hears a close of its own connection once, with the error code', async () => {
    const instances: Instance[] = [];
    const { listener, conns } = await startListener({ application: upperServer(instances) });
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    cleanups.push(() => client.destroy());
    await until(() => conns.length === 1, 5000, 'the server connection');
    const server = conns[0]!;
    await within(server.close({ errorCode: 9, reason: 'server says bye' }), 5000, 'the server close');
    const seen = await within(client.closed, 5000, 'the client seeing the close');
    expect(seen).toMatchObject({ local: false, errorCode: 9n, reason: 'server says bye' });
    const app = instances[0]!;
    expect(app.closes).toHaveLength(1);
    expect(app.closes[0]!.graceful).toBe(false);
    expect(app.closes[0]!.error.code).toBe('ERR_QUIC_APPLICATION_CLOSED');
    expect(app.closes[0]!.error.errorCode).toBe(9n);
    server.destroy();
    expect(app.closes).toHaveLength(1);
  });
  it('an application that throws destroys its connection alone, and hears that once', async () => {
    const closes: { error: QuicError; graceful: boolean }[] = [];
    let calls = 0;
    const faulty: ApplicationFactory = () => ({
      streamEvents: true,
      onStreamReadable() {
        calls++;
        throw new Error('protocol bug');
      },
      process() {},
      onClose(error, graceful) {
        closes.push({ error, graceful });
      },
    });
    const { listener } = await startListener({ application: faulty });
    const port = listener.address().port;
    const client = await connect({
      host: '127.0.0.1',
      port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    cleanups.push(() => client.destroy());
    const stream = await client.openStream();
    await stream.end('anything');
    const seen = await within(client.closed, 5000, 'the client seeing the server destroy the connection');
    expect(seen).toMatchObject({ local: false, type: 'transport', graceful: false });
    expect(calls).toBe(1);
    expect(closes).toHaveLength(1);
    expect(closes[0]!.graceful).toBe(false);
    expect(closes[0]!.error.code).toBe('ERR_QUIC_DESTROYED');
    // The listener keeps serving: a new connection handshakes.
    const again = await connect({ host: '127.0.0.1', port, config: clientConfig(), serverName: 'localhost' });
    cleanups.push(() => again.destroy());
    expect(again.established).toBe(true);
    await again.close();
    await until(() => closes.length === 2, 5000, 'the second connection closing');
    expect(closes[1]!.graceful).toBe(true);
  });
});

describe('waking the connection', () => {
  it('an answer written later, from a timer, leaves at once when the application calls wake()', async () => {
    const late: ApplicationFactory = (core, wake) => ({
      streamEvents: true,
      onStreamReadable(id) {
        const chunks: Uint8Array[] = [];
        if (!drain(core, id, chunks)) return;
        setTimeout(() => {
          core.streams.send(id, Buffer.from('late'), true);
          wake();
        }, 50);
      },
      process() {},
      onClose() {},
    });
    const short = { maxIdleTimeout: 2000 };
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig(short),
      application: late,
    });
    cleanups.push(() => listener.close({ timeoutMs: 1000 }));
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(short),
      serverName: 'localhost',
    });
    cleanups.push(() => client.destroy());
    const stream = await client.openStream();
    await stream.end('question');
    // Without wake() the answer would wait for an unrelated packet: none comes, and the
    // connection idles out after 2 s.
    const answer = await within(stream.readAll(), 1000, 'the late answer');
    expect(answer.toString()).toBe('late');
  });
});

describe('an application on the client', () => {
  it('asks a raw-stream server on streams it creates and collects the answers', async () => {
    const { listener } = await startListener({ raw: true });
    const instances: Instance[] = [];
    const lines = ['one', 'two', 'three', 'four', 'five and more'];
    const { factory, answers } = upperClient(lines, instances);
    const client = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
      application: factory,
    });
    cleanups.push(() => client.destroy());
    expect(await within(answers, 10_000, 'the answers')).toEqual(lines.map((l) => l.toUpperCase()));

    expect(instances).toHaveLength(1);
    const app = instances[0]!;
    expect(app.core.isServer).toBe(false);
    expect(app.failures).toEqual([]);
    const err = await openStreamError(client);
    expect(err).toBeInstanceOf(QuicError);
    expect((err as QuicError).code).toBe('ERR_QUIC_APPLICATION_OWNS_STREAMS');

    const info = await within(client.close(), 5000, 'the client close');
    expect(info.graceful).toBe(true);
    expect(app.closes).toHaveLength(1);
    expect(app.closes[0]!.graceful).toBe(true);
    client.destroy();
    expect(app.closes).toHaveLength(1);
  });
});
