/**
 * The edges: bad arguments named clearly, failures that stay with their
 * request, the default agent, Request objects as input, disposal.
 */
import { describe, expect, it } from 'vitest';
import { Agent, altSvc, fetch, getDefaultAgent, H3StreamError, serve } from '../src/index.js';
import { h3TestKit } from './support.js';

const { fx, start, agentWith } = h3TestKit();

describe('failures stay with their request', () => {
  it('a response body that fails mid-stream resets that stream: the client read fails, others go on', async () => {
    const { base } = await start((request) => {
      if (new URL(request.url).pathname === '/bad-chunk') {
        // A string is not a byte chunk: the server resets the stream with H3_INTERNAL_ERROR.
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new Uint8Array([1, 2, 3]));
              c.enqueue('not bytes' as never);
            },
          }),
        );
      }
      if (new URL(request.url).pathname === '/not-a-response') return 'nope' as never;
      return new Response('fine');
    });
    const agent = agentWith();
    // The reset may overtake the response headers: fetch() or the body read fails with it.
    const failure = await fetch(`${base}/bad-chunk`, { agent })
      .then((res) => res.arrayBuffer())
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(H3StreamError);
    const notResponse = await fetch(`${base}/not-a-response`, { agent });
    expect(notResponse.status).toBe(500);
    await notResponse.text();
    expect(await (await fetch(`${base}/x`, { agent })).text()).toBe('fine');
  });

  it('an abort while waiting for a free stream rejects that request alone', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const { base } = await start(async () => {
      await held;
      return new Response('late');
    });
    const agent = agentWith({ maxConcurrentStreams: 1, maxConnectionsPerOrigin: 1 });
    const first = fetch(`${base}/1`, { agent }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 50));
    const waiting = fetch(`${base}/2`, { agent, signal: AbortSignal.timeout(100) });
    await expect(waiting).rejects.toThrow(/timeout|aborted/i);
    release();
    expect(await first).toBe('late');
  });
});

describe('inputs', () => {
  it('takes a Request object, with its method, headers and body', async () => {
    const { base } = await start(
      async (request) =>
        new Response(`${request.method} ${request.headers.get('x-a')} ${await request.text()}`),
    );
    const agent = agentWith();
    const req = new Request(`${base}/r`, { method: 'PUT', headers: { 'x-a': '1' }, body: 'payload' });
    expect(await (await fetch(req, { agent })).text()).toBe('PUT 1 payload');
    expect(await (await agent.request(new Request(`${base}/r`))).text()).toBe('GET null ');
  });

  it('carries header sections up to 12 KiB, latin1 intact; a larger request is refused, a larger response is a 500', async () => {
    const { base } = await start((request) => {
      const size = Number(request.headers.get('x-answer-size') ?? 0);
      return new Response(null, {
        status: 204,
        headers: {
          'x-echo-length': String(request.headers.get('x-big')?.length ?? 0),
          'x-latin1': 'caf\u00e9',
          'x-big': 'r'.repeat(size),
        },
      });
    });
    const agent = agentWith();
    // RFC 9114's measure: names and values plus 32 per field; fetch() sends
    // the four pseudo-headers and x-big.
    const sent = [
      ':method',
      'GET',
      ':scheme',
      'https',
      ':authority',
      new URL(base).host,
      ':path',
      '/',
      'x-big',
    ];
    const room = 12 * 1024 - sent.join('').length - 5 * 32;
    const largest = await fetch(`${base}/`, { agent, headers: { 'x-big': 'q'.repeat(room) } });
    expect(largest.status).toBe(204);
    expect(largest.headers.get('x-echo-length')).toBe(String(room));
    expect(largest.headers.get('x-latin1')).toBe('caf\u00e9');
    const refused = await fetch(`${base}/`, { agent, headers: { 'x-big': 'q'.repeat(room + 1) } }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RangeError);
    expect(String(refused)).toMatch(/header section is 12289 bytes/);
    const bigAnswer = await fetch(`${base}/`, { agent, headers: { 'x-answer-size': '20000' } });
    expect(bigAnswer.status).toBe(500);
    expect(await bigAnswer.text()).toBe('internal server error');
    expect(
      (await fetch(`${base}/`, { agent, headers: { 'x-answer-size': '8000' } })).headers.get('x-big'),
    ).toBe('r'.repeat(8000));
  });

  it('refuses a redirect loop, and a 307 with a streamed body', async () => {
    const { base } = await start(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/loop') return new Response(null, { status: 302, headers: { location: '/loop' } });
      if (path === '/keep') return new Response(null, { status: 307, headers: { location: '/else' } });
      if (path === '/else' && request.method === 'POST')
        return new Response((await request.text()) === 'again' ? 'else' : 'lost body');
      return new Response('else');
    });
    const agent = agentWith();
    await expect(fetch(`${base}/loop`, { agent })).rejects.toThrow(/more than 20 redirects/);
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new Uint8Array([1]));
        c.close();
      },
    });
    await expect(
      fetch(`${base}/keep`, { agent, method: 'POST', body, duplex: 'half' } as RequestInit & {
        agent: Agent;
      }),
    ).rejects.toThrow(/cannot follow a 307 redirect with a streamed request body/);
    // Text (or bytes, a Blob, form data) can be sent again: the 307 is followed with it.
    const replayed = await fetch(`${base}/keep`, { agent, method: 'POST', body: 'again' });
    expect(await replayed.text()).toBe('else');
  });

  it('names bad options', async () => {
    expect(() => new Agent({ idleTimeout: 1.5 })).toThrow(/idleTimeout must be an integer/);
    expect(() => new Agent({ lookup: 'dns' as never })).toThrow(/lookup must be a function/);
    expect(() => altSvc(443, -1)).toThrow(/maxAge/);
    await expect(fetch('https://localhost/', { agent: {} as Agent })).rejects.toThrow(
      /agent must be an Agent/,
    );
    await expect(
      serve({
        port: 0,
        cert: fx.leaf.cert,
        key: fx.leaf.key,
        handler: () => new Response(''),
        gracePeriod: -1,
      }),
    ).rejects.toThrow(/gracePeriod/);
    await expect(serve(null as never)).rejects.toThrow(/options must be an object/);
  });

  it('a closed agent refuses requests', async () => {
    const agent = new Agent({ ca: fx.rootCa.cert });
    await agent.close();
    await expect(fetch('https://localhost:1/', { agent })).rejects.toThrow(/the agent is closed/);
  });
});

describe('defaults and disposal', () => {
  it('the default agent trusts Node root store, so a private CA is refused', async () => {
    const { base } = await start(() => new Response('x'));
    expect(getDefaultAgent()).toBe(getDefaultAgent());
    await expect(fetch(base)).rejects.toMatchObject({
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('servers and agents close with `await using`, and a server closes when its signal aborts', async () => {
    const controller = new AbortController();
    const server = await serve({
      host: '127.0.0.1',
      port: 0,
      cert: fx.leaf.cert,
      key: fx.leaf.key,
      handler: () => new Response('x'),
      signal: controller.signal,
    });
    {
      await using agent = new Agent({ ca: fx.rootCa.cert });
      expect(await (await fetch(`https://localhost:${server.address().port}/`, { agent })).text()).toBe('x');
    }
    controller.abort();
    await server.closed;
    {
      await using other = await serve({
        host: '127.0.0.1',
        port: 0,
        cert: fx.leaf.cert,
        key: fx.leaf.key,
        handler: () => new Response('y'),
      });
      expect(other.address().port).toBeGreaterThan(0);
    }
  });

  it('a port already in use is refused and frees what it made', async () => {
    const { server } = await start(() => new Response('x'));
    await expect(
      serve({
        host: '127.0.0.1',
        port: server.address().port,
        cert: fx.leaf.cert,
        key: fx.leaf.key,
        handler: () => new Response('x'),
      }),
    ).rejects.toMatchObject({ code: 'ERR_QUIC_SOCKET' });
  });
});
