/**
 * Fair receive: the per-turn scheduler runs handshakes first and every
 * connection once per turn, and a server busy with bulk uploads still
 * completes new handshakes and echoes.
 */
import { describe, expect, it } from 'vitest';
import { processQueue, type Schedulable } from '../src/driver/process-queue.js';
import { connect, listen } from '../src/index.js';
import { useCleanups } from './support/cleanups.js';
import { clientConfig, serverConfig } from './support/fixtures.js';

const cleanups = useCleanups();

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the turn scheduler', () => {
  it('runs connections in their handshake first, each once per turn', async () => {
    const ran: string[] = [];
    const item = (name: string, urgent: boolean, onRun?: () => void): Schedulable => ({
      urgent,
      runScheduled() {
        ran.push(name);
        onRun?.();
      },
    });
    const busy: Schedulable = item('busy', false, () => processQueue.add(busy));
    processQueue.add(busy);
    processQueue.add(item('established', false));
    processQueue.add(item('new client', true));
    processQueue.add(
      item('throws', false, () => {
        throw new Error('boom');
      }),
    );
    processQueue.add(item('after the throw', false));
    await nextTurn();
    await nextTurn();
    // `busy` re-queued itself during its round: it ran again a turn later, not in a loop.
    expect(ran.slice(0, 5)).toEqual(['new client', 'busy', 'established', 'throws', 'after the throw']);
    expect(ran.filter((n) => n === 'busy').length).toBeGreaterThanOrEqual(2);
    expect(ran.filter((n) => n === 'busy').length).toBeLessThanOrEqual(4);
    // Stop the self-scheduling item.
    busy.runScheduled = () => undefined;
    await nextTurn();
  });
});

describe('a server under bulk load', () => {
  it('completes every new handshake and echo while uploads saturate it', async () => {
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig({ initialMaxData: 64 << 20, initialMaxStreamDataBidiRemote: 16 << 20 }),
      onConnection: async (conn) => {
        for await (const stream of conn.streams()) {
          void (async () => {
            const chunks: Uint8Array[] = [];
            let size = 0;
            for await (const chunk of stream) {
              size += chunk.length;
              if (size <= 64) chunks.push(chunk);
            }
            await stream.end(size <= 64 ? Buffer.concat(chunks) : `${size}`);
          })().catch(() => undefined);
        }
      },
    });
    cleanups.push(() => listener.close());
    const port = listener.address().port;
    const uploaders = await Promise.all(
      [1, 2, 3].map(() =>
        connect({ host: '127.0.0.1', port, config: clientConfig(), serverName: 'localhost' }),
      ),
    );
    for (const c of uploaders) cleanups.push(() => c.close());
    let uploading = true;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const uploads = uploaders.map(async (c) => {
      const s = await c.openStream();
      let sent = 0;
      while (uploading) {
        await s.write(chunk);
        sent += chunk.length;
      }
      await s.end();
      expect(Number((await s.readAll()).toString())).toBe(sent);
      return sent;
    });
    try {
      // Probes one after another, each a fresh connection and a 32-byte echo.
      for (let i = 0; i < 10; i++) {
        const conn = await connect({
          host: '127.0.0.1',
          port,
          config: clientConfig(),
          serverName: 'localhost',
          signal: AbortSignal.timeout(5000),
        });
        const s = await conn.openStream();
        const payload = Buffer.alloc(32, i);
        await s.end(payload);
        expect(Buffer.from(await s.readAll({ signal: AbortSignal.timeout(5000) }))).toEqual(payload);
        await conn.close();
      }
    } finally {
      uploading = false;
    }
    const sent = await Promise.all(uploads);
    for (const n of sent) expect(n).toBeGreaterThan(0);
  });
});
