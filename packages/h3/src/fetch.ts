/**
 * `fetch()` over HTTP/3: the WHATWG signature, Node's own `Request` and
 * `Response`, redirects as the global fetch follows them, and an `agent`
 * option for the connection pool.
 *
 * @module
 */
import { Agent } from './agent.js';

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
  let request = new Request(input, rest);
  const mode = request.redirect;
  for (let hop = 0; ; hop++) {
    const response = await agent.request(request);
    if (!REDIRECTS.has(response.status) || mode === 'manual') return response;
    const location = response.headers.get('location');
    if (location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    if (mode === 'error') throw new TypeError(`redirect to ${location} refused (redirect: 'error')`);
    if (hop >= MAX_REDIRECTS) throw new TypeError(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, request.url);
    const toGet =
      response.status === 303
        ? request.method !== 'HEAD'
        : (response.status === 301 || response.status === 302) && request.method === 'POST';
    if (!toGet && request.body !== null) {
      throw new TypeError(`cannot follow a ${response.status} redirect with a streamed request body`);
    }
    request = new Request(next, {
      method: toGet ? 'GET' : request.method,
      headers: request.headers,
      body: toGet ? null : request.body,
      signal: request.signal,
      redirect: mode,
    });
    if (toGet)
      for (const h of [
        'content-type',
        'content-length',
        'content-encoding',
        'content-language',
        'content-location',
      ])
        request.headers.delete(h);
    if (new URL(request.url).origin !== new URL(response.url).origin) request.headers.delete('authorization');
  }
}
