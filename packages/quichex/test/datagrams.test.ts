/**
 * DATAGRAM frames: both directions, the 'datagram' event and the
 * datagrams() iterator, the size limit, and peers without datagram support.
 */
import { describe, expect, it } from 'vitest';
import { type Connection, QuicError } from '../src/index.js';
import { pair, pseudoRandomBytes } from './support/pair.js';

/** Collects `count` datagrams from the iterator, failing instead of hanging. */
async function takeDatagrams(conn: Connection, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const d = await conn.receiveDatagram({ signal: AbortSignal.timeout(5000) });
    if (d === null) break;
    got.push(Buffer.from(d));
  }
  return got;
}

function sorted(list: Buffer[]): string[] {
  return list.map((b) => b.toString('hex')).sort();
}

describe('datagrams', () => {
  it('flows both ways, seen by the event and by the iterator', async () => {
    const p = await pair({ server: { dgram: true }, client: { dgram: true } });
    try {
      expect(p.client.maxDatagramSize).toBeGreaterThan(1000);
      expect(p.server.maxDatagramSize).toBeGreaterThan(1000);
      expect(p.client.info().peerTransportParams?.peerMaxDatagramFrameSize).not.toBeNull();

      const toServer = [Buffer.from('one'), Buffer.from('two'), Buffer.from(pseudoRandomBytes(1, 1000))];
      const viaEvent: Buffer[] = [];
      p.server.on('datagram', (d) => viaEvent.push(Buffer.from(d)));
      const iterated = (async () => {
        const got: Buffer[] = [];
        for await (const d of p.server.datagrams()) {
          got.push(Buffer.from(d));
          if (got.length === toServer.length) break;
        }
        return got;
      })();
      for (const d of toServer) p.client.sendDatagram(d);
      const got = await Promise.race([
        iterated,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('datagrams did not arrive')), 5000),
        ),
      ]);
      // Loopback does not lose them; order is not promised by QUIC.
      expect(sorted(got)).toEqual(sorted(toServer));
      expect(sorted(viaEvent)).toEqual(sorted(toServer));

      const toClient = [Buffer.from('alpha'), Buffer.from('beta')];
      const clientEvents: Buffer[] = [];
      p.client.on('datagram', (d) => clientEvents.push(Buffer.from(d)));
      for (const d of toClient) p.server.sendDatagram(d);
      expect(sorted(await takeDatagrams(p.client, toClient.length))).toEqual(sorted(toClient));
      expect(sorted(clientEvents)).toEqual(sorted(toClient));

      expect(p.client.stats().dgramSent).toBe(toServer.length);
      expect(p.server.stats().dgramRecv).toBe(toServer.length);

      // The iterator ends normally once the connection closes gracefully.
      const draining = (async () => {
        let n = 0;
        for await (const _ of p.client.datagrams()) n++;
        return n;
      })();
      await p.client.close();
      expect(await draining).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('refuses a datagram above maxDatagramSize, naming the limit, and sends one of exactly that size', async () => {
    const p = await pair({ server: { dgram: true }, client: { dgram: true } });
    try {
      const max = p.client.maxDatagramSize;
      expect(max).not.toBeNull();
      const limit = max as number;
      const tooBig = new Uint8Array(limit + 1);
      let err: unknown;
      try {
        p.client.sendDatagram(tooBig);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QuicError);
      expect((err as QuicError).code).toBe('ERR_QUIC_DATAGRAM_TOO_LARGE');
      expect((err as QuicError).message).toContain(String(limit));

      // The connection is unaffected, and the largest allowed size goes through.
      const exact = Buffer.from(pseudoRandomBytes(7, limit));
      p.client.sendDatagram(exact);
      const [got] = await takeDatagrams(p.server, 1);
      expect(got?.length).toBe(limit);
      expect(got?.equals(exact)).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('refuses datagrams when the peer did not enable them', async () => {
    const p = await pair({ server: {}, client: { dgram: true } });
    try {
      expect(p.client.info().peerTransportParams?.peerMaxDatagramFrameSize).toBeNull();
      expect(p.client.maxDatagramSize).toBeNull();
      expect(() => p.client.sendDatagram('hello')).toThrow(
        expect.objectContaining({ code: 'ERR_QUIC_DATAGRAM_DISABLED' }),
      );
      // The side that did not enable them refuses too.
      expect(p.server.maxDatagramSize).toBeNull();
      expect(() => p.server.sendDatagram('hello')).toThrow(
        expect.objectContaining({ code: 'ERR_QUIC_DATAGRAM_DISABLED' }),
      );
      // Streams still work.
      const s = await p.client.openStream();
      await s.end('still fine');
      const ss = await p.server.acceptStream({ signal: AbortSignal.timeout(5000) });
      expect((await ss?.readAll())?.toString()).toBe('still fine');
    } finally {
      await p.close();
    }
  });

  it('trySendDatagram says false when the send queue is full, and every datagram it queued arrives', async () => {
    const p = await pair({
      server: { dgram: true },
      client: { dgram: { recvQueueLen: 1000, sendQueueLen: 4 } },
    });
    try {
      const arrived: string[] = [];
      p.server.on('datagram', (d) => arrived.push(Buffer.from(d).toString()));
      const queued: string[] = [];
      // Nothing leaves before this synchronous loop yields: the fifth finds the queue full.
      for (let i = 0; i < 5; i++) if (p.client.trySendDatagram(`d${i}`)) queued.push(`d${i}`);
      expect(queued).toEqual(['d0', 'd1', 'd2', 'd3']);
      expect(() => p.client.sendDatagram('d4')).toThrow(
        expect.objectContaining({ code: 'ERR_QUIC_DATAGRAM_QUEUE_FULL' }),
      );
      // After a turn of the event loop the queue has drained onto the wire.
      await new Promise((resolve) => setImmediate(resolve));
      expect(p.client.trySendDatagram('d4')).toBe(true);
      queued.push('d4');
      const deadline = performance.now() + 5000;
      while (arrived.length < queued.length && performance.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(arrived.sort()).toEqual(queued);
      // Errors that are not "full" still throw.
      expect(() => p.client.trySendDatagram(new Uint8Array(100_000))).toThrow(
        expect.objectContaining({ code: 'ERR_QUIC_DATAGRAM_TOO_LARGE' }),
      );
    } finally {
      await p.close();
    }
  });
});
