/**
 * `serve()`: an HTTP/3 server whose handler is a fetch-style function,
 * `(request: Request, info) => Response`, as Deno, Bun and Hono use.
 *
 * @module
 */
import { debuglog } from 'node:util';
import {
  Config,
  type ConfigOptions,
  type Connection,
  type Listener,
  type ListenOptions,
  listen,
  type Pem,
} from 'quichex';
import { H3ErrorCode } from './errors.js';
import type { Exchange } from './exchange.js';
import {
  type FieldList,
  field,
  fieldProblem,
  fieldSectionSize,
  MAX_SENT_FIELD_SECTION,
  regularFields,
} from './headers.js';
import { pumpBody } from './pump.js';
import { H3Session } from './session.js';

const debug = debuglog('quichex:h3');

/** What a handler learns besides the request. */
export interface RequestInfo {
  /** The client's IP address. */
  readonly remoteAddress: string;
  /** The client's UDP port. */
  readonly remotePort: number;
  /** The QUIC connection the request came on. */
  readonly connection: Connection;
  /** Aborted when the client cancels the request or the connection ends. */
  readonly signal: AbortSignal;
}

/** A fetch-style request handler. */
export type Handler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Address to bind (default `'::'`, dual-stack). */
  host?: string;
  /** UDP port; 0 picks a free one (see {@link H3Server.address}). */
  port: number;
  /** Certificate chain (PEM), leaf first. */
  cert: Pem;
  /** Private key (PEM), loaded in memory. */
  key: Pem;
  /** Answers each request. A handler that throws or rejects answers 500 (or resets a response already begun). */
  handler: Handler;
  /**
   * More `Config` options (flow control, `passphrase`, `ca` with
   * `requestCert`, `sni`, …). `alpn` is always `['h3']`.
   */
  config?: Omit<ConfigOptions, 'alpn' | 'cert' | 'key'>;
  /** More `listen()` options (`retry`, `maxConnections`, `qlogDir`, …). */
  listen?: Omit<ListenOptions, 'host' | 'port' | 'config' | 'onConnection' | 'application' | 'signal'>;
  /** Milliseconds `close()` lets requests in flight finish after GOAWAY (default 5000). */
  gracePeriod?: number;
  /** Closes the server (as `close()`) when aborted. */
  signal?: AbortSignal;
}

/**
 * A running HTTP/3 server.
 *
 * @example
 * ```ts
 * const server = await serve({ port: 4433, cert, key, handler: () => new Response('hello') });
 * console.log(server.address().port);
 * await server.close();
 * ```
 */
export class H3Server {
  /** The QUIC listener underneath. */
  readonly listener: Listener;
  readonly #sessions = new Set<H3Session>();
  readonly #config: Config;
  readonly #gracePeriod: number;
  #closing: Promise<void> | null = null;
  /** Resolves once the server closed. */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  /** @internal Made by {@link serve}. */
  constructor(listener: Listener, config: Config, gracePeriod: number) {
    this.listener = listener;
    this.#config = config;
    this.#gracePeriod = gracePeriod;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** @internal A new connection: refused while the server closes. */
  add(session: H3Session, conn: Connection): void {
    if (this.#closing) {
      void conn.close({ errorCode: H3ErrorCode.H3_NO_ERROR, reason: 'server closing' });
      return;
    }
    this.#sessions.add(session);
  }

  /** @internal */
  remove(session: H3Session): void {
    this.#sessions.delete(session);
  }

  /** The bound address (`{ family, address, port }`). */
  address(): ReturnType<Listener['address']> {
    return this.listener.address();
  }

  /**
   * Sends GOAWAY on every connection, lets the requests in flight finish and
   * their responses reach the clients, which then close their connections
   * (all within `gracePeriod` ms), then closes what is left and the socket.
   * Idempotent.
   */
  close(options: { gracePeriod?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      for (const session of this.#sessions) session.goaway();
      const deadline = performance.now() + (options.gracePeriod ?? this.#gracePeriod);
      // A response handed to quiche may still be in its send buffer: wait for
      // the clients, which close once their last response arrived.
      while (performance.now() < deadline && [...this.#sessions].some((s) => !s.closed)) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await this.listener.close();
      this.#config.free();
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  /** Same as {@link H3Server.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts an HTTP/3 server.
 *
 * @example
 * ```ts
 * const server = await serve({
 *   port: 4433,
 *   cert,
 *   key,
 *   handler: async (request) => new Response(`you sent ${(await request.text()).length} bytes`),
 * });
 * ```
 */
export async function serve(options: ServeOptions): Promise<H3Server> {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  if (typeof options.handler !== 'function') throw new TypeError('handler must be a function');
  const gracePeriod = options.gracePeriod ?? 5000;
  if (!Number.isInteger(gracePeriod) || gracePeriod < 0)
    throw new RangeError('gracePeriod must be an integer ≥ 0');
  const config = new Config({
    // Room for the peer's control and QPACK streams, and a request window.
    initialMaxStreamsUni: 3,
    initialMaxStreamsBidi: 100,
    ...options.config,
    alpn: ['h3'],
    cert: options.cert,
    key: options.key,
  });
  let server: H3Server | undefined;
  const handler = options.handler;
  let listener: Listener;
  try {
    listener = await listen({
      ...options.listen,
      host: options.host,
      port: options.port,
      config,
      application: (core, wake) => {
        let connection: Connection | undefined;
        // 0-RTT requests arrive before the handshake completes, that is
        // before the connection is delivered: they wait for it.
        const early: Exchange[] = [];
        const dispatch = (ex: Exchange, conn: Connection): void => {
          answer(handler, session, ex, conn).catch((err: unknown) => {
            debug('request on stream %d failed: %s', ex.id, err instanceof Error ? err.message : String(err));
            session.cancel(ex.id, H3ErrorCode.H3_INTERNAL_ERROR);
          });
        };
        const session: H3Session = new H3Session(core, wake, 'server', {
          onRequest: (ex) => {
            // Never run user code inside the engine's round.
            setImmediate(() => {
              if (connection) dispatch(ex, connection);
              else early.push(ex);
            });
          },
          onClose: () => server?.remove(session),
        });
        sessionConnections.set(session, (conn) => {
          connection = conn;
          for (const ex of early.splice(0)) dispatch(ex, conn);
        });
        return session;
      },
      onConnection: (conn) => {
        const session = conn.application as H3Session;
        sessionConnections.get(session)?.(conn);
        server?.add(session, conn);
      },
    });
  } catch (err) {
    config.free();
    throw err;
  }
  server = new H3Server(listener, config, gracePeriod);
  options.signal?.addEventListener('abort', () => void server.close(), { once: true });
  return server;
}

const sessionConnections = new WeakMap<H3Session, (conn: Connection) => void>();

/** Builds the Request, runs the handler, sends its Response. */
async function answer(
  handler: Handler,
  session: H3Session,
  ex: Exchange,
  connection: Connection,
): Promise<void> {
  const fields = ex.fields as FieldList;
  const problem = fieldProblem(fields, 'request');
  const method = field(fields, ':method') ?? '';
  let request: Request;
  // info.signal is made when the handler asks for it: most never do, and an
  // AbortSignal is one of the costliest objects of a request.
  let abort: AbortController | null = null;
  let abortReason: Error | null = null;
  ex.onAbort = (reason) => {
    abortReason = reason;
    // Not inside the engine's round: the signal's listeners are the handler's code.
    if (abort) queueMicrotask(() => abort?.abort(reason));
  };
  const signal = (): AbortSignal => {
    if (abort === null) {
      abort = new AbortController();
      if (abortReason) abort.abort(abortReason);
    }
    return abort.signal;
  };
  // The Request gets no signal of its own (each costs a transferable
  // AbortSignal): the handler's signal is `info.signal`.
  try {
    if (problem) throw new TypeError(problem);
    const authority = field(fields, ':authority') ?? field(fields, 'host') ?? 'localhost';
    const url = new URL(`${field(fields, ':scheme')}://${authority}${field(fields, ':path')}`);
    const headers = new Headers();
    for (const [name, value] of fields) if (!name.startsWith(':')) headers.append(name, value);
    const hasBody = method !== 'GET' && method !== 'HEAD';
    request = new Request(url, {
      method,
      headers,
      body: hasBody ? ex.body() : null,
      duplex: 'half',
    } as RequestInit);
  } catch (err) {
    await send(session, ex, textResponse(400, `bad request: ${(err as Error).message}`), false);
    return;
  }
  if (ex.aborted) return;
  const { address: remoteAddress, port: remotePort } = connection.remoteAddress;
  let response: Response;
  try {
    const info: RequestInfo = {
      remoteAddress,
      remotePort,
      connection,
      get signal() {
        return signal();
      },
    };
    response = await handler(request, info);
    if (!(response instanceof Response)) throw new TypeError('the handler did not return a Response');
  } catch (err) {
    debug('handler failed on stream %d: %s', ex.id, err instanceof Error ? err.message : String(err));
    if (ex.aborted) return;
    response = textResponse(500, 'internal server error');
  }
  await send(session, ex, response, method === 'HEAD', field(fields, 'priority'));
}

/** Sends a response's headers and streams its body. */
async function send(
  session: H3Session,
  ex: Exchange,
  response: Response,
  head: boolean,
  priority?: string,
): Promise<void> {
  if (ex.aborted) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  let fields: FieldList = [[':status', String(response.status)], ...regularFields(response.headers)];
  if (fieldSectionSize(fields) > MAX_SENT_FIELD_SECTION) {
    debug(
      'response headers of stream %d: %d bytes, over %d',
      ex.id,
      fieldSectionSize(fields),
      MAX_SENT_FIELD_SECTION,
    );
    await response.body?.cancel().catch(() => undefined);
    response = textResponse(500, 'internal server error');
    fields = [[':status', '500'], ...regularFields(response.headers)];
  }
  const body = head || response.body === null ? null : response.body;
  if (head) await response.body?.cancel().catch(() => undefined);
  session.respond(ex, fields, body === null, priority);
  if (body === null) return;
  try {
    await pumpBody(body, ex);
  } catch (err) {
    debug('response body of stream %d failed: %s', ex.id, err instanceof Error ? err.message : String(err));
    if (!ex.aborted) session.cancel(ex.id, H3ErrorCode.H3_INTERNAL_ERROR);
  }
}

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
