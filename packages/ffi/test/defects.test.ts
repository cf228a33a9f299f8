/**
 * Known defects of quiche's behaviour that quichex works around. Each test
 * pins the defect as it is: if quiche fixes it, the test fails, and the
 * workaround (named in the test) can go.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { quiche_conn_stream_send } from '../src/index.js';
import { generateTestCerts } from './support/certs.js';
import { Pair, streamRecv, streamSend, utf8 } from './support/pair.js';

const certs = generateTestCerts();
afterAll(() => certs.cleanup());

function established(): Pair {
  const p = new Pair({ client: { verifyCa: certs.caCert }, server: { identity: certs } });
  p.pump();
  return p;
}

describe('quiche 0.30 defects', () => {
  it('loses a data-less FIN queued while the data is in flight (cloudflare/quiche#2525; see Stream.write tail)', () => {
    const p = established();
    try {
      streamSend(p.client, 0, utf8('GET /x\r\n'), true);
      p.pump();
      expect(streamRecv(p.srv, 0).fin).toBe(true);
      // The server sends its response body; the client receives it and acks.
      streamSend(p.srv, 0, new Uint8Array(5000).fill(1), false);
      for (const pkt of p.drain('server')) p.deliver('client', pkt);
      expect(streamRecv(p.client, 0).data.length).toBe(5000);
      const acks = p.drain('client');
      // A FIN with no data is queued before the ack arrives, and is not sent before it.
      expect(
        quiche_conn_stream_send(p.srv, 0, null as unknown as Uint8Array, 0, true, new BigUint64Array(1)),
      ).toBe(0);
      for (const pkt of acks) p.deliver('server', pkt);
      // The ack made the stream look complete, so quiche dropped it with the FIN unsent.
      expect(p.drain('server')).toHaveLength(0);
      expect(streamRecv(p.client, 0).fin).toBe(false);
    } finally {
      p.free();
    }
  });

  it('sends a FIN that travels with data even when the ack arrives first', () => {
    const p = established();
    try {
      streamSend(p.client, 0, utf8('GET /x\r\n'), true);
      p.pump();
      streamRecv(p.srv, 0);
      streamSend(p.srv, 0, new Uint8Array(4999).fill(1), false);
      for (const pkt of p.drain('server')) p.deliver('client', pkt);
      streamRecv(p.client, 0);
      const acks = p.drain('client');
      // The last byte was held back and goes with the FIN: nothing is lost.
      expect(streamSend(p.srv, 0, new Uint8Array([1]), true).rc).toBe(1);
      for (const pkt of acks) p.deliver('server', pkt);
      for (const pkt of p.drain('server')) p.deliver('client', pkt);
      const end = streamRecv(p.client, 0);
      expect(end.data.length).toBe(1);
      expect(end.fin).toBe(true);
    } finally {
      p.free();
    }
  });
});
