import { describe, expect, it } from 'vitest';
import type { PathEvent } from '../src/index.js';
import { pair, readExactly } from './support/pair.js';

describe('connection migration', () => {
  it('a client migrates to a new local port; the server follows and data keeps flowing', async () => {
    const p = await pair();
    try {
      // Let the spare connection IDs reach both sides before migrating.
      const warm = await p.client.openStream();
      const serverStream = p.server.acceptStream();
      await warm.write('before');
      const ss = await serverStream;
      expect((await readExactly(ss!, 6)).toString()).toBe('before');

      const serverEvents: PathEvent[] = [];
      p.server.on('path', (e) => serverEvents.push(e));
      const oldPort = p.client.localAddress.port;
      const validated = await p.client.migrate();
      expect(validated.type).toBe('validated');
      expect(validated.local?.port).not.toBe(oldPort);

      await warm.end('after');
      expect((await readExactly(ss!, 5)).toString()).toBe('after');
      for (let i = 0; i < 100 && p.server.remoteAddress.port !== validated.local?.port; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(p.server.remoteAddress.port).toBe(validated.local?.port);
      expect(
        serverEvents.some((e) => e.type === 'peer-migrated' && e.peer?.port === validated.local?.port),
      ).toBe(true);
      expect(p.client.pathStats().some((s) => s.localAddr?.port === validated.local?.port && s.active)).toBe(
        true,
      );
    } finally {
      await p.close();
    }
  });

  it('a server cannot migrate', async () => {
    const p = await pair();
    try {
      await expect(p.server.migrate()).rejects.toMatchObject({ code: 'QUICHE_ERR_INVALID_STATE' });
    } finally {
      await p.close();
    }
  });
});
