/**
 * `@quichex/h3`: HTTP/3 for Node.js on quichex. A `fetch()` with pooled
 * connections (`Agent`) and a `serve()` whose handler takes a WHATWG
 * `Request` and returns a `Response`.
 *
 * @example
 * ```ts
 * import { Agent, fetch, serve } from '@quichex/h3';
 *
 * const server = await serve({ port: 0, cert, key, handler: () => new Response('hello over HTTP/3') });
 * const agent = new Agent({ ca: cert });
 * const res = await fetch(`https://localhost:${server.address().port}/`, { agent });
 * console.log(await res.text());
 * await agent.close();
 * await server.close();
 * ```
 *
 * @module
 */
export { Agent, type AgentOptions } from './agent.js';
export { altSvc } from './alt-svc.js';
export { H3ErrorCode } from './errors.js';
export { fetch, getDefaultAgent, type H3RequestInit } from './fetch.js';
export { H3Server, type Handler, type RequestInfo, type ServeOptions, serve } from './server.js';
export { H3StreamError } from './session.js';
