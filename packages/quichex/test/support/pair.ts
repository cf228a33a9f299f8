/**
 * A listener and one client connection to it, with the server side of the
 * connection in hand (accepted, not handled by `onConnection`).
 */
import {
  type ConfigOptions,
  type Connection,
  connect,
  type Listener,
  listen,
  type Stream,
} from '../../src/index.js';
import { clientConfig, serverConfig } from './fixtures.js';

/** Both ends of one connection over loopback. */
export interface Pair {
  readonly listener: Listener;
  readonly client: Connection;
  readonly server: Connection;
  /** Closes the client (gracefully, else destroys it) and the listener with its connections. */
  close(): Promise<void>;
}

/** Options of {@link pair}. */
export interface PairOptions {
  host?: string;
  server?: ConfigOptions;
  client?: ConfigOptions;
}

/** Listens on loopback port 0, connects, and accepts. */
export async function pair(options: PairOptions = {}): Promise<Pair> {
  const host = options.host ?? '127.0.0.1';
  const listener = await listen({ host, port: 0, config: serverConfig(options.server) });
  let client: Connection | undefined;
  try {
    const accepted = listener.accept();
    client = await connect({
      host,
      port: listener.address().port,
      config: clientConfig(options.client),
      serverName: 'localhost',
    });
    const server = await accepted;
    if (server === null) throw new Error('the listener closed before accepting');
    const c = client;
    return {
      listener,
      client: c,
      server,
      async close() {
        try {
          if (!c.isClosed) await withTimeout(c.close(), 5000);
        } finally {
          c.destroy();
          await listener.close({ timeoutMs: 2000 });
        }
      },
    };
  } catch (err) {
    client?.destroy();
    await listener.close({ timeoutMs: 1000 });
    throw err;
  }
}

/** Waits for `promise`, giving up (without rejecting) after `ms`. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deterministic pseudo-random bytes (mulberry32) for `seed`. */
export function pseudoRandomBytes(seed: number, length: number, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

/**
 * Reads exactly `length` bytes from `stream` (across as many chunks as it
 * takes): a stream has no message boundaries, so one read may return less.
 */
export async function readExactly(stream: Stream, length: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  while (got < length) {
    const chunk = await stream.read({ signal });
    if (chunk === null) throw new Error(`stream ended after ${got} of ${length} bytes`);
    chunks.push(chunk);
    got += chunk.length;
  }
  return Buffer.concat(chunks);
}
