/**
 * `fetch()` against `serve()` over real UDP on loopback: GET, POST with a
 * streamed body echoed back, HEAD, headers both ways, handler errors.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Agent, fetch, type H3Server } from '../src/index.js';
import { h3TestKit } from './support.js';

const { start, agentWith } = h3TestKit();
let server: H3Server;
let agent: Agent;
let base: string;

beforeAll(async () => {
  ({ server, base } = await start(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === '/echo')
      return new Response(request.body, { headers: { 'x-method': request.method } });
    if (url.pathname === '/boom') throw new Error('handler failed');
    if (url.pathname === '/big') {
      const size = Number(url.searchParams.get('size'));
      const chunk = new Uint8Array(64 * 1024).fill(7);
      let left = size;
      return new Response(
        new ReadableStream({
          pull(controller) {
            const n = Math.min(left, chunk.length);
            if (n === 0) controller.close();
            else controller.enqueue(chunk.subarray(0, n));
            left -= n;
          },
        }),
      );
    }
    return new Response(`hello ${url.pathname} ${request.headers.get('x-who')}`, {
      headers: { 'x-served-by': 'quichex' },
    });
  }));
  agent = agentWith();
});

describe('fetch() against serve()', () => {
  it('GET: status, headers and body', async () => {
    const res = await fetch(`${base}/hi`, { agent, headers: { 'x-who': 'me' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-served-by')).toBe('quichex');
    expect(await res.text()).toBe('hello /hi me');
    expect(res.url).toBe(`${base}/hi`);
  });

  it('POST: a streamed request body comes back intact', async () => {
    const data = new Uint8Array(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= data.length) {
          controller.close();
          return;
        }
        controller.enqueue(data.subarray(sent, sent + 100_000));
        sent += 100_000;
      },
    });
    const res = await fetch(`${base}/echo`, { agent, method: 'POST', body, duplex: 'half' } as RequestInit & {
      agent: Agent;
    });
    expect(res.headers.get('x-method')).toBe('POST');
    const back = new Uint8Array(await res.arrayBuffer());
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
  });

  it('HEAD has no body', async () => {
    const res = await fetch(`${base}/hi`, { agent, method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.body).toBeNull();
  });

  it('a handler that throws answers 500, and the next request is fine', async () => {
    const res = await fetch(`${base}/boom`, { agent });
    expect(res.status).toBe(500);
    await res.text();
    const next = await fetch(`${base}/hi`, { agent });
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('hello /hi null');
  });

  it('a large response streams', async () => {
    const res = await fetch(`${base}/big?size=${5 * 1024 * 1024}`, { agent });
    let total = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) total += chunk.length;
    expect(total).toBe(5 * 1024 * 1024);
  });

  it('many requests share one connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => fetch(`${base}/n${i}`, { agent }).then((r) => r.text())),
    );
    expect(results[7]).toBe('hello /n7 null');
    expect(agent.connections().get(`localhost:${server.address().port}`)).toBe(1);
  });
});
