/**
 * What a demanding client and server need beyond a request: pooling,
 * GOAWAY, cancellation both ways, malformed requests from a raw HTTP/3
 * peer, priorities, redirects.
 */
import * as q from '@quichex/ffi';
import { Config, connect } from 'quichex';
import { describe, expect, it } from 'vitest';
import { Agent, altSvc, fetch, H3ErrorCode, serve } from '../src/index.js';
import { parsePriority } from '../src/session.js';
import { h3TestKit } from './support.js';

const { fx, start, agentWith } = h3TestKit();

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('pooling', () => {
  it('requests share a connection until its streams run out, then another opens', async () => {
    const release = gate();
    let arrived = 0;
    const { base, server } = await start(async () => {
      arrived++;
      await release.promise;
      return new Response('ok');
    });
    const agent = agentWith({ maxConcurrentStreams: 4, maxConnectionsPerOrigin: 2 });
    const origin = `localhost:${server.address().port}`;
    release.open();
    await (await fetch(`${base}/warm`, { agent })).text();
    expect(agent.connections().get(origin)).toBe(1);

    const held = gate();
    const { base: slowBase, server: slow } = await start(async () => {
      await held.promise;
      return new Response('slow');
    });
    const slowOrigin = `localhost:${slow.address().port}`;
    // 10 at once with 4 streams per connection and 2 connections: 8 run, 2 wait.
    const pending = Array.from({ length: 10 }, (_, i) =>
      fetch(`${slowBase}/${i}`, { agent }).then((r) => r.text()),
    );
    for (let i = 0; i < 200 && agent.connections().get(slowOrigin) !== 2; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(agent.connections().get(slowOrigin)).toBe(2);
    held.open();
    expect(await Promise.all(pending)).toEqual(Array(10).fill('slow'));
    expect(agent.connections().get(slowOrigin)).toBe(2);
    expect(arrived).toBe(1);
  });

  it('a server allowing fewer streams than maxConcurrentStreams makes requests wait, not fail', async () => {
    const { server, base } = await start(
      async () => {
        await new Promise((r) => setTimeout(r, 20));
        return new Response('ok');
      },
      { config: { initialMaxStreamsBidi: 2 } },
    );
    const agent = agentWith({ maxConnectionsPerOrigin: 1 });
    const texts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => fetch(`${base}/${i}`, { agent }).then((r) => r.text())),
    );
    expect(texts).toEqual(Array(8).fill('ok'));
    expect(agent.connections().get(`localhost:${server.address().port}`)).toBe(1);
  });

  it('idle connections close after idleTimeout and a new one opens on demand', async () => {
    const { base, server } = await start(() => new Response('x'));
    const agent = agentWith({ idleTimeout: 100 });
    const origin = `localhost:${server.address().port}`;
    await (await fetch(base, { agent })).text();
    expect(agent.connections().get(origin)).toBe(1);
    for (let i = 0; i < 100 && agent.connections().get(origin) !== 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(agent.connections().get(origin)).toBe(0);
    expect(await (await fetch(base, { agent })).text()).toBe('x');
    expect(agent.connections().get(origin)).toBe(1);
  });
});

describe('GOAWAY and shutdown', () => {
  it('close() lets a request in flight finish, then refuses new connections', async () => {
    const release = gate();
    const started = gate();
    const { server, base } = await start(
      async () => {
        started.open();
        await release.promise;
        return new Response('finished after GOAWAY');
      },
      { gracePeriod: 5000 },
    );
    const agent = agentWith();
    const inFlight = fetch(base, { agent }).then((r) => r.text());
    await started.promise;
    const closed = server.close();
    await new Promise((r) => setTimeout(r, 50));
    release.open();
    expect(await inFlight).toBe('finished after GOAWAY');
    await closed;
    await expect(fetch(base, { agent: agentWith() })).rejects.toThrow();
  });

  it('after GOAWAY the agent sends new requests elsewhere, never on the draining connection', async () => {
    const release = gate();
    const started = gate();
    let served = 0;
    const { server, base } = await start(
      async () => {
        served++;
        started.open();
        await release.promise;
        return new Response('drained');
      },
      { gracePeriod: 5000 },
    );
    const agent = agentWith();
    const origin = `localhost:${server.address().port}`;
    const first = fetch(base, { agent }).then((r) => r.text());
    await started.promise;
    const closed = server.close();
    await new Promise((r) => setTimeout(r, 300)); // GOAWAY arrives (one round trip; ample under load)
    // The draining connection is not used: a new one is dialled, which the
    // closing server refuses.
    const second = await fetch(`${base}/2`, { agent }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(Error);
    expect(served).toBe(1);
    release.open();
    expect(await first).toBe('drained');
    await closed;
    expect(agent.connections().get(origin) ?? 0).toBe(0);
  });
});

describe('graceful close mid-transfer', () => {
  it('responses streaming when close() begins all arrive complete, and the first requests share the first dial', async () => {
    const { server, base } = await start(
      () => {
        let left = 3 * 1024 * 1024;
        return new Response(
          new ReadableStream({
            pull: async (c) => {
              await new Promise((r) => setTimeout(r, 10));
              if (left <= 0) c.close();
              else {
                c.enqueue(new Uint8Array(32 * 1024));
                left -= 32 * 1024;
              }
            },
          }),
        );
      },
      { gracePeriod: 10_000 },
    );
    // Three requests before any connection exists, one connection allowed:
    // the second and third wait for the first dial, then share it.
    const agent = agentWith({ maxConnectionsPerOrigin: 1 });
    const sizes = [1, 2, 3].map(() =>
      fetch(base, { agent })
        .then((r) => r.arrayBuffer())
        .then((b) => b.byteLength),
    );
    await new Promise((r) => setTimeout(r, 100));
    await server.close();
    expect(await Promise.all(sizes)).toEqual([3, 3, 3].map((n) => n * 1024 * 1024));
  });
});

describe('0-RTT', () => {
  it('with earlyData, a GET on a new connection resumes the session and travels as early data', async () => {
    const { server, base } = await start(
      (_request, info) => {
        const i = info.connection.info();
        return new Response(`${i.resumed} ${i.earlyData}`);
      },
      { config: { earlyData: true } },
    );
    const agent = agentWith({ earlyData: true, idleTimeout: 50 });
    const origin = `localhost:${server.address().port}`;
    expect(await (await fetch(base, { agent })).text()).toBe('false none');
    // The ticket arrives after the handshake; then the idle connection closes.
    for (let i = 0; i < 100 && agent.connections().get(origin) !== 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(agent.connections().get(origin)).toBe(0);
    expect(await (await fetch(base, { agent })).text()).toBe('true accepted');
  });
});

describe('cancellation', () => {
  it('aborting a request resets its stream and the handler sees its signal fire', async () => {
    const handlerAborted = gate();
    const { base } = await start((_request, info) => {
      info.signal.addEventListener('abort', () => handlerAborted.open());
      // A response that never ends on its own.
      return new Response(
        new ReadableStream({
          pull: (controller) =>
            new Promise((r) => setTimeout(() => r(controller.enqueue(new Uint8Array(1000))), 5)),
        }),
      );
    });
    const agent = agentWith();
    const controller = new AbortController();
    const res = await fetch(base, { agent, signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort(new Error('enough'));
    await expect(reader.read()).rejects.toThrow('enough');
    await handlerAborted.promise;
    // The connection is still good.
    const again = await fetch(`${base}/x`, { agent, signal: AbortSignal.timeout(5000) });
    await again.body?.cancel();
  });

  it('an already aborted signal rejects at once', async () => {
    const { base } = await start(() => new Response('x'));
    await expect(
      fetch(base, { agent: agentWith(), signal: AbortSignal.abort(new Error('no')) }),
    ).rejects.toThrow('no');
  });
});

describe('requests the server must refuse', () => {
  async function rawRequest(port: number, fields: [string, string][]): Promise<string> {
    const config = new Config({ alpn: ['h3'], ca: fx.rootCa.cert, initialMaxStreamsUni: 3 });
    let outcome = '';
    let h3: q.QuicheH3Conn | null = null;
    let sent = false;
    const ev = new BigUint64Array(1);
    const done = gate();
    const h3config = q.quiche_h3_config_new()!;
    const conn = await connect({
      host: '127.0.0.1',
      port,
      serverName: 'localhost',
      config,
      application: (core) => ({
        streamEvents: false,
        process() {
          const c = core.handle;
          if (c === null) return;
          h3 ??= q.quiche_h3_conn_new_with_transport(c, h3config);
          if (h3 === null) return;
          if (!sent) {
            sent = true;
            const headers = fields.map(([n, v]) => {
              const name = Buffer.from(n);
              const value = Buffer.from(v);
              return { name, name_len: name.length, value, value_len: value.length };
            });
            q.quiche_h3_send_request(h3, c, headers, headers.length, true);
          }
          for (
            let id = Number(q.quiche_h3_conn_poll(h3, c, ev));
            id >= 0;
            id = Number(q.quiche_h3_conn_poll(h3, c, ev))
          ) {
            const e = ev[0] as q.QuicheH3Event;
            const type = q.quiche_h3_event_type(e);
            if (type === q.QuicheH3EventType.QUICHE_H3_EVENT_HEADERS) {
              const got: string[] = [];
              q.quiche_h3_event_for_each_header(
                e,
                (name, nl, value, vl) => {
                  if (q.readString(name, nl) === ':status') got.push(q.readString(value, vl));
                  return 0;
                },
                null,
              );
              outcome = `status ${got[0]}`;
              done.open();
            } else if (type === q.QuicheH3EventType.QUICHE_H3_EVENT_RESET) {
              outcome = 'reset';
              done.open();
            }
            q.quiche_h3_event_free(e);
          }
        },
        onClose() {
          outcome ||= 'connection closed';
          done.open();
        },
      }),
    });
    await Promise.race([done.promise, new Promise((r) => setTimeout(r, 3000))]);
    await conn.close();
    config.free();
    return outcome;
  }

  it('a request without :path, or with a connection-specific field, gets 400; others are still served', async () => {
    const { server, base } = await start(() => new Response('fine'));
    const port = server.address().port;
    const ok: [string, string][] = [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', 'localhost'],
      [':path', '/'],
    ];
    expect(await rawRequest(port, ok)).toBe('status 200');
    const outcomes = [
      await rawRequest(
        port,
        ok.filter(([n]) => n !== ':path'),
      ),
      await rawRequest(port, [...ok, ['connection', 'keep-alive']]),
      await rawRequest(port, [...ok, ['te', 'gzip']]),
    ];
    // quiche itself may refuse a malformed header section (a reset or a
    // closed connection); whatever reaches the handler layer gets 400.
    for (const outcome of outcomes) expect(['status 400', 'reset', 'connection closed']).toContain(outcome);
    expect(outcomes.filter((o) => o === 'status 400').length).toBeGreaterThan(0);
    expect(await (await fetch(base, { agent: agentWith() })).text()).toBe('fine');
  });
});

describe('priorities, redirects, Alt-Svc', () => {
  it('parses RFC 9218 priority fields as quiche does', () => {
    expect(parsePriority('u=1, i')).toEqual({ urgency: 1, incremental: true });
    expect(parsePriority('u=5')).toEqual({ urgency: 5, incremental: false });
    expect(parsePriority('')).toBeNull();
  });

  it('a request with a priority field is answered', async () => {
    const { base } = await start((request) => new Response(request.headers.get('priority') ?? 'none'));
    const res = await fetch(base, { agent: agentWith(), headers: { priority: 'u=0, i' } });
    expect(await res.text()).toBe('u=0, i');
  });

  it('follows redirects like the global fetch, or refuses them', async () => {
    const { base } = await start((request) => {
      const url = new URL(request.url);
      if (url.pathname === '/old') return new Response(null, { status: 301, headers: { location: '/new' } });
      if (url.pathname === '/see') return new Response(null, { status: 303, headers: { location: '/new' } });
      return new Response(`${request.method} ${url.pathname}`);
    });
    const agent = agentWith();
    const moved = await fetch(`${base}/old`, { agent });
    expect(await moved.text()).toBe('GET /new');
    expect(moved.url).toBe(`${base}/new`);
    const seeOther = await fetch(`${base}/see`, { agent, method: 'POST', body: 'x' });
    expect(await seeOther.text()).toBe('GET /new');
    const manual = await fetch(`${base}/old`, { agent, redirect: 'manual' });
    expect(manual.status).toBe(301);
    await expect(fetch(`${base}/old`, { agent, redirect: 'error' })).rejects.toThrow(/redirect/);
  });

  it('altSvc() builds the header value', () => {
    expect(altSvc(443)).toBe('h3=":443"; ma=86400');
    expect(altSvc(8443, 60)).toBe('h3=":8443"; ma=60');
    expect(() => altSvc(0)).toThrow(RangeError);
  });

  it('refuses non-https URLs and bad options', async () => {
    await expect(fetch('http://localhost/', { agent: agentWith() })).rejects.toThrow(/https/);
    expect(() => new Agent({ maxConcurrentStreams: 0 })).toThrow(RangeError);
    await expect(serve({ port: 0, cert: fx.leaf.cert, key: fx.leaf.key } as never)).rejects.toThrow(
      /handler/,
    );
  });

  it('exports the HTTP/3 error codes', () => {
    expect(H3ErrorCode.H3_REQUEST_CANCELLED).toBe(0x10cn);
  });
});
