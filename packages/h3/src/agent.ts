/**
 * `Agent`: a pool of HTTP/3 connections per origin. Requests share a
 * connection up to `maxConcurrentStreams` at once; beyond that the agent
 * opens another, up to `maxConnectionsPerOrigin`, then requests wait for a
 * free stream. Connections that close or receive GOAWAY leave the pool;
 * idle ones close after `idleTimeout` and never keep the process alive.
 *
 * @module
 */
import { Config, type ConfigOptions, type Connection, type ConnectOptions, connect, type Pem } from 'quichex';
import { H3ErrorCode } from './errors.js';
import type { Exchange } from './exchange.js';
import { type FieldList, field, fieldSectionSize, MAX_SENT_FIELD_SECTION, regularFields } from './headers.js';
import { pumpBody } from './pump.js';
import { H3Session } from './session.js';

/** Options of {@link Agent}. */
export interface AgentOptions {
  /** Trusted CAs (default: Node's root store plus `NODE_EXTRA_CA_CERTS`). */
  ca?: Pem | readonly Pem[];
  /** Fail connections whose certificate does not verify (default `true`). */
  rejectUnauthorized?: boolean;
  /** Connections per origin at most (default 4). */
  maxConnectionsPerOrigin?: number;
  /** Requests at once on one connection before another is opened (default 100). */
  maxConcurrentStreams?: number;
  /** Milliseconds an unused connection stays open (default 30 000). */
  idleTimeout?: number;
  /**
   * Send idempotent requests (GET, HEAD, OPTIONS) as 0-RTT early data when
   * the agent holds a session ticket for the origin (default `false`:
   * early data can be replayed by an attacker).
   */
  earlyData?: boolean;
  /** More `Config` options for the connections (`alpn` is always `['h3']`). */
  config?: Omit<ConfigOptions, 'alpn' | 'ca' | 'rejectUnauthorized' | 'earlyData'>;
  /**
   * Resolves an origin's host name to addresses (default `dns.lookup`), as
   * `connect()`'s option: e.g. to reach `https://example.com/` at a test
   * address while still sending and checking the name `example.com`.
   */
  lookup?: ConnectOptions['lookup'];
}

/** What a request is made of (a `Request` without its costs). */
export interface RequestParts {
  readonly url: URL;
  /** Upper case for the standard methods, as `Request` normalizes them. */
  readonly method: string;
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
  readonly signal: AbortSignal | null;
}

/** One pooled connection. */
interface Pooled {
  readonly conn: Connection;
  readonly session: H3Session;
  idleTimer: NodeJS.Timeout | null;
}

/** Connections of one origin, and the requests waiting for a stream. */
interface Pool {
  readonly live: Set<Pooled>;
  /** Connections being opened. */
  dialing: number;
  readonly waiting: (() => void)[];
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * A pool of HTTP/3 connections. Plain {@link fetch} calls use a default
 * agent; give one with `{ agent }` for your own trust or limits.
 *
 * @example
 * ```ts
 * const agent = new Agent({ ca: myCa, maxConnectionsPerOrigin: 2 });
 * const res = await fetch('https://localhost:4433/', { agent });
 * console.log(await res.text());
 * await agent.close();
 * ```
 */
export class Agent {
  readonly #config: Config;
  readonly #maxConnections: number;
  readonly #maxStreams: number;
  readonly #idleTimeout: number;
  readonly #earlyData: boolean;
  readonly #lookup: ConnectOptions['lookup'];
  readonly #pools = new Map<string, Pool>();
  readonly #tickets = new Map<string, Uint8Array>();
  #closed = false;

  constructor(options: AgentOptions = {}) {
    const positive = (name: string, v: number | undefined, def: number): number => {
      const n = v ?? def;
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
      return n;
    };
    this.#maxConnections = positive('maxConnectionsPerOrigin', options.maxConnectionsPerOrigin, 4);
    this.#maxStreams = positive('maxConcurrentStreams', options.maxConcurrentStreams, 100);
    this.#idleTimeout = positive('idleTimeout', options.idleTimeout, 30_000);
    this.#earlyData = options.earlyData ?? false;
    if (options.lookup !== undefined && typeof options.lookup !== 'function')
      throw new TypeError('lookup must be a function');
    this.#lookup = options.lookup;
    this.#config = new Config({
      initialMaxStreamsUni: 3,
      ...options.config,
      alpn: ['h3'],
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
      earlyData: this.#earlyData,
    });
  }

  /** Request streams open now, over every connection (a response body not read to its end keeps one). */
  activeStreams(): number {
    let n = 0;
    for (const pool of this.#pools.values()) for (const p of pool.live) n += p.session.active;
    return n;
  }

  /** Open connections, by origin (`host:port`). */
  connections(): Map<string, number> {
    return new Map([...this.#pools].map(([origin, pool]) => [origin, pool.live.size]));
  }

  /**
   * Sends `request` on a pooled connection and resolves with the response
   * once its headers arrived; its body streams after. Does not follow
   * redirects (see {@link fetch}).
   */
  request(request: Request): Promise<Response> {
    return this.send({
      url: new URL(request.url),
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
  }

  /** @internal {@link Agent.request} without a `Request` object (fetch's fast path). */
  async send(parts: RequestParts): Promise<Response> {
    if (this.#closed) throw new TypeError('the agent is closed');
    const { url, method, body, signal } = parts;
    if (url.protocol !== 'https:') throw new TypeError(`HTTP/3 needs an https: URL, got ${url.protocol}`);
    signal?.throwIfAborted();
    const fields: FieldList = [
      [':method', method],
      [':scheme', 'https'],
      [':authority', url.host],
      [':path', `${url.pathname}${url.search}`],
      ...regularFields(parts.headers),
    ];
    const size = fieldSectionSize(fields);
    if (size > MAX_SENT_FIELD_SECTION) {
      throw new RangeError(
        `the request's header section is ${size} bytes (names, values and 32 per field), over the ${MAX_SENT_FIELD_SECTION} that can be sent`,
      );
    }
    let ex: Exchange | null = null;
    let session!: H3Session;
    for (let attempt = 0; ex === null; attempt++) {
      if (attempt >= 1000) throw new Error(`${url.host} never allowed another request stream`);
      ({ session } = await this.#acquire(url, signal, IDEMPOTENT.has(method)));
      ex = session.request(fields, body === null);
      // The server allows no more streams for now (its MAX_STREAMS): wait for one to end.
      if (ex === null) session.streamsBlocked = true;
    }
    if (signal) {
      const onAbort = (): void => session.cancel(ex.id, H3ErrorCode.H3_REQUEST_CANCELLED, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      ex.onFinish = () => signal.removeEventListener('abort', onAbort);
    }
    if (body !== null) {
      pumpBody(body, ex).catch(() => {
        if (!ex.aborted) session.cancel(ex.id, H3ErrorCode.H3_REQUEST_CANCELLED);
      });
    }
    await headersOf(ex, signal);
    return toResponse(ex, url, method);
  }

  /** A connection to `url`'s origin with a free stream, opening one if needed. */
  async #acquire(
    url: URL,
    signal: AbortSignal | null,
    idempotent: boolean,
  ): Promise<{ session: H3Session; origin: string }> {
    const origin = `${url.hostname}:${url.port || 443}`;
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = { live: new Set(), dialing: 0, waiting: [] };
      this.#pools.set(origin, pool);
    }
    for (let i = 0; i < 1000; i++) {
      let best: Pooled | null = null;
      for (const p of pool.live) {
        const s = p.session;
        if (s.goingAway || s.closed || s.streamsBlocked || s.active >= this.#maxStreams) continue;
        if (best === null || p.session.active < best.session.active) best = p;
      }
      if (best !== null) {
        this.#busy(best);
        return { session: best.session, origin };
      }
      if (pool.live.size + pool.dialing < this.#maxConnections) {
        pool.dialing++;
        try {
          const pooled = await this.#dial(url, origin, pool, idempotent && this.#earlyData);
          this.#busy(pooled);
          return { session: pooled.session, origin };
        } finally {
          pool.dialing--;
          // Requests that waited for this dial find the connection, or dial themselves.
          this.#wakeWaiting(pool);
        }
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason);
        pool.waiting.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    throw new Error(`no HTTP/3 connection to ${origin} became free`);
  }

  async #dial(url: URL, origin: string, pool: Pool, earlyData: boolean): Promise<Pooled> {
    let session!: H3Session;
    // Hooks may run before connect() resolves (a failed handshake closes at once).
    let pooled: Pooled | undefined;
    const ticket = this.#tickets.get(origin);
    const conn = await connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      config: this.#config,
      ...(this.#lookup ? { lookup: this.#lookup } : {}),
      ...(ticket ? { session: ticket, earlyData: earlyData && this.#earlyData } : {}),
      application: (core, wake) => {
        session = new H3Session(core, wake, 'client', {
          onGoaway: () => {
            this.#wakeWaiting(pool);
            if (pooled) this.#retireIfDrained(pooled);
          },
          onStreamDone: () => pooled && this.#streamDone(pooled, pool),
          onClose: () => {
            if (pooled) {
              pool.live.delete(pooled);
              if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
            }
            this.#wakeWaiting(pool);
          },
        });
        return session;
      },
    });
    const p: Pooled = { conn, session, idleTimer: null };
    pooled = p;
    conn.on('session', (t) => this.#tickets.set(origin, t));
    if (!session.closed) pool.live.add(p);
    return p;
  }

  /** A connection got a request: it may not close as idle, and holds the event loop. */
  #busy(p: Pooled): void {
    if (p.idleTimer) clearTimeout(p.idleTimer);
    p.idleTimer = null;
    p.conn.ref();
  }

  /** A connection that received GOAWAY closes once its last request is done, as the server expects. */
  #retireIfDrained(p: Pooled): void {
    if (!p.session.goingAway || p.session.active > 0 || p.session.closed) return;
    if (p.idleTimer) clearTimeout(p.idleTimer);
    p.idleTimer = null;
    p.conn.ref();
    void p.conn.close({ errorCode: H3ErrorCode.H3_NO_ERROR });
  }

  /** A request of `p` ended: a waiting request may take its place; an unused connection idles. */
  #streamDone(p: Pooled, pool: Pool): void {
    p.session.streamsBlocked = false;
    this.#wakeWaiting(pool);
    this.#retireIfDrained(p);
    if (p.session.active > 0 || p.session.closed || p.idleTimer) return;
    p.conn.unref();
    p.idleTimer = setTimeout(() => {
      p.idleTimer = null;
      if (p.session.active === 0) void p.conn.close({ errorCode: H3ErrorCode.H3_NO_ERROR });
    }, this.#idleTimeout).unref();
  }

  #wakeWaiting(pool: Pool): void {
    for (const resolve of pool.waiting.splice(0)) resolve();
  }

  /** Closes every connection (after the requests in flight, at most `timeoutMs`) and refuses new requests. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    const deadline = performance.now() + (options.timeoutMs ?? 5000);
    const all = [...this.#pools.values()].flatMap((pool) => [...pool.live]);
    while (performance.now() < deadline && all.some((p) => p.session.active > 0 && !p.session.closed)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(
      all.map((p) => {
        if (p.idleTimer) clearTimeout(p.idleTimer);
        // An idle connection is unref'd: hold the event loop until its close is done.
        p.conn.ref();
        return p.conn.close({ errorCode: H3ErrorCode.H3_NO_ERROR });
      }),
    );
    this.#pools.clear();
    this.#config.free();
  }

  /** Same as {@link Agent.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Resolves once the response headers arrived; rejects when the stream or the signal ends first. */
function headersOf(ex: Exchange, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ex.fields) {
      resolve();
      return;
    }
    ex.onHeaders = resolve;
    ex.onAbort = (reason) => reject(signal?.aborted ? signal.reason : reason);
  });
}

function toResponse(ex: Exchange, url: URL, method: string): Response {
  const fields = ex.fields as FieldList;
  const status = Number(field(fields, ':status'));
  const headers = new Headers();
  for (const [name, value] of fields) if (!name.startsWith(':')) headers.append(name, value);
  const body = method === 'HEAD' || NULL_BODY_STATUS.has(status) ? null : ex.body();
  const response = new Response(body, { status, headers });
  Object.defineProperty(response, 'url', { value: url.href });
  return response;
}
