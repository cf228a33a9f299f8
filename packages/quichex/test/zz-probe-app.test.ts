import { expect, it } from 'vitest';
import { type ApplicationFactory, connect, listen } from '../src/index.js';
import { clientConfig, serverConfig } from './support/fixtures.js';

it('probe: async answer latency', async () => {
  const closes: string[] = [];
  const app: ApplicationFactory = (core) => ({
    streamEvents: true,
    onStreamReadable(id) {
      for (;;) {
        const { data, fin } = core.streams.recv(id);
        if (fin) {
          setTimeout(() => core.streams.send(id, Buffer.from('late'), true), 50);
          return;
        }
        if (!data) return;
      }
    },
    process() {},
    onClose(e) {
      closes.push(e.code);
    },
  });
  const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig(), application: app });
  const client = await connect({
    host: '127.0.0.1',
    port: listener.address().port,
    config: clientConfig(),
    serverName: 'localhost',
  });
  const s = await client.openStream();
  const t0 = performance.now();
  await s.end('hi');
  const got = await s.readAll();
  console.log('ASYNC latency ms', performance.now() - t0, got.toString());
  await client.close();
  await listener.close();
  console.log('closes', closes);
}, 60_000);

it('probe: throwing application', async () => {
  const closes: string[] = [];
  const app: ApplicationFactory = (core) => ({
    streamEvents: true,
    onStreamReadable() {
      throw new Error('boom');
    },
    process() {},
    onClose(e, g) {
      closes.push(`${e.code}:${g}`);
    },
  });
  const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig(), application: app });
  const client = await connect({
    host: '127.0.0.1',
    port: listener.address().port,
    config: clientConfig(),
    serverName: 'localhost',
  });
  const s = await client.openStream();
  await s.end('hi');
  const info = await client.closed;
  console.log('client saw', info);
  await listener.close();
  console.log('closes', closes);
}, 60_000);
