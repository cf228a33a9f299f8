import { describe, expect, it } from 'vitest';
import { delay, pair, pseudoRandomBytes } from './support/pair.js';

// quiche 0.30 can lose a FIN queued without data while the stream's data is
// still in flight (cloudflare/quiche#2525; pinned in packages/ffi/test/defects.test.ts).
// Stream.write keeps its last byte back so that end() never sends a FIN alone.
describe('end() after a pause', () => {
  for (const pause of [2, 30]) {
    it(`delivers every byte and the FIN on 8 concurrent streams when end() comes ${pause} ms after the last write`, async () => {
      const p = await pair();
      try {
        const body = pseudoRandomBytes(7, 200_000);
        const served = (async () => {
          for (let i = 0; i < 8; i++) {
            const s = await p.server.acceptStream({ signal: AbortSignal.timeout(5000) });
            if (!s) throw new Error('no stream');
            void (async () => {
              await s.readAll();
              await s.write(body);
              await delay(pause);
              await s.end();
            })();
          }
        })();
        const results = await Promise.all(
          Array.from({ length: 8 }, async () => {
            const s = await p.client.openStream();
            await s.end('GET');
            return s.readAll({ signal: AbortSignal.timeout(10_000) });
          }),
        );
        await served;
        for (const r of results) expect(r.equals(body)).toBe(true);
      } finally {
        await p.close();
      }
    });
  }
});
