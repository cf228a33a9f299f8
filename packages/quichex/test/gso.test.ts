import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connect, listen } from '../src/index.js';
import { clientConfig, serverConfig } from './support/fixtures.js';
import { pseudoRandomBytes } from './support/pair.js';

describe('batched sends (UDP GSO) and the plain path', () => {
  for (const gso of [true, false]) {
    it(`moves 8 MiB each way intact with gso: ${gso}`, async () => {
      const listener = await listen({
        host: '127.0.0.1',
        port: 0,
        config: serverConfig(),
        gso,
        onConnection: async (conn) => {
          for await (const s of conn.streams()) {
            void (async () => {
              const hash = createHash('sha256');
              for await (const chunk of s) hash.update(chunk);
              // Answer with 8 MiB of our own, then the digest of what arrived.
              await s.write(pseudoRandomBytes(2, 8 * 1024 * 1024));
              await s.end(hash.digest());
            })();
          }
        },
      });
      try {
        const conn = await connect({
          host: '127.0.0.1',
          port: listener.address().port,
          config: clientConfig(),
          serverName: 'localhost',
          gso,
        });
        const upload = pseudoRandomBytes(1, 8 * 1024 * 1024);
        const s = await conn.openStream();
        const answer = s.readAll({ signal: AbortSignal.timeout(30_000) });
        await s.end(upload);
        const reply = await answer;
        expect(reply.length).toBe(8 * 1024 * 1024 + 32);
        expect(reply.subarray(0, 8 * 1024 * 1024).equals(pseudoRandomBytes(2, 8 * 1024 * 1024))).toBe(true);
        expect(reply.subarray(8 * 1024 * 1024).equals(createHash('sha256').update(upload).digest())).toBe(
          true,
        );
        await conn.close();
      } finally {
        await listener.close();
      }
    });
  }

  it('rejects a gso option that is not a boolean', async () => {
    await expect(
      connect({ host: '127.0.0.1', port: 1, config: clientConfig(), gso: 'yes' as unknown as boolean }),
    ).rejects.toThrow(TypeError);
  });
});
