/**
 * `fetch()` over HTTP/3: the WHATWG signature, Node's own `Request` and
 * `Response`, redirects as the global fetch follows them, and an `agent`
 * option for the connection pool.
 *
 * @module
 */
import { Agent, type RequestParts } from './agent.js';

/** `RequestInit` plus the agent whose connections to use. */
export interface H3RequestInit extends RequestInit {
  /** The connection pool (default: a shared agent with Node's trust store). */
  agent?: Agent;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
let defaultAgent: Agent | null = null;

/** The agent plain `fetch()` calls use: made at first use, with the default options. */
export function getDefaultAgent(): Agent {
  defaultAgent ??= new Agent();
  return defaultAgent;
}

/**
 * Fetches `input` over HTTP/3 (an `https:` URL).
 *
 * @example
 * ```ts
 * const res = await fetch('https://localhost:4433/hello', { agent });
 * console.log(res.status, await res.text());
 * ```
 */
export async function fetch(input: string | URL | Request, init: H3RequestInit = {}): Promise<Response> {
  const { agent = getDefaultAgent(), ...rest } = init;
  if (!(agent instanceof Agent)) throw new TypeError('agent must be an Agent');
  let parts = toParts(input, rest);
  // A body given as bytes, text, a Blob or form data can be sent again after a 307/308; a stream cannot.
  const replayable =
    !(input instanceof Request) &&
    rest.body !== undefined &&
    rest.body !== null &&
    !(rest.body instanceof ReadableStream)
      ? rest.body
      : null;
  const mode = rest.redirect ?? (input instanceof Request ? input.redirect : 'follow');
  for (let hop = 0; ; hop++) {
    const response = await agent.send(parts);
    if (!REDIRECTS.has(response.status) || mode === 'manual') return response;
    const location = response.headers.get('location');
    if (location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    if (mode === 'error') throw new TypeError(`redirect to ${location} refused (redirect: 'error')`);
    if (hop >= MAX_REDIRECTS) throw new TypeError(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, parts.url);
    const toGet =
      response.status === 303
        ? parts.method !== 'HEAD'
        : (response.status === 301 || response.status === 302) && parts.method === 'POST';
    let body: ReadableStream<Uint8Array> | null = null;
    if (!toGet && parts.body !== null) {
      if (replayable === null)
        throw new TypeError(`cannot follow a ${response.status} redirect with a streamed request body`);
      body = new Request(next, { method: parts.method, body: replayable }).body;
    }
    const headers = new Headers(parts.headers);
    if (toGet) for (const h of BODY_HEADERS) headers.delete(h);
    if (next.origin !== parts.url.origin) headers.delete('authorization');
    parts = {
      url: next,
      method: toGet ? 'GET' : parts.method,
      headers,
      body,
      signal: parts.signal,
    };
  }
}

const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];
const METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

/**
 * The parts of a request. Without a body a `Request` is not needed, and not
 * made: it costs an AbortSignal and more per call. With one, `Request`
 * turns whatever was given (string, Blob, FormData, stream…) into a stream
 * and its content type.
 */
function toParts(input: string | URL | Request, init: RequestInit): RequestParts {
  if (!(input instanceof Request) && (init.body === undefined || init.body === null)) {
    const method = init.method ?? 'GET';
    const upper = method.toUpperCase();
    return {
      url: new URL(input),
      method: METHODS.has(upper) ? upper : method,
      headers: new Headers(init.headers),
      body: null,
      signal: init.signal ?? null,
    };
  }
  const request = new Request(input, init);
  return {
    url: new URL(request.url),
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
  };
}
