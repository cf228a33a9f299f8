/**
 * The admission policy: what an Initial from an unknown client gets, by
 * load, by source address, by token, by mode; and its options, by name.
 */
import { describe, expect, it } from 'vitest';
import { Admission } from '../src/admission.js';
import { connect, listen } from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { echo } from './support/net.js';

describe('Admission.decide', () => {
  it("'auto' accepts until the per-address bound, then asks that address (only) to Retry", () => {
    const a = new Admission({ maxHandshakesPerAddress: 2, retryThreshold: 100 });
    a.opened('10.0.0.1');
    expect(a.decide('10.0.0.1', false)).toBe('accept');
    a.opened('10.0.0.1');
    expect(a.decide('10.0.0.1', false)).toBe('retry');
    expect(a.decide('10.0.0.2', false)).toBe('accept');
    expect(a.decide('10.0.0.1', true)).toBe('accept'); // a validated address is admitted
  });

  it("'auto' asks everyone to Retry past the threshold, and stops once the load falls", () => {
    const a = new Admission({ retryThreshold: 3 });
    const done = [a.opened('a'), a.opened('b'), a.opened('c')];
    expect(a.decide('d', false)).toBe('retry');
    done[0]!();
    expect(a.decide('d', false)).toBe('accept');
    expect(a.stats.handshaking).toBe(2);
    done[0]!(); // once only
    expect(a.stats.handshaking).toBe(2);
  });

  it('drops everything, validated or not, at maxHandshakes', () => {
    const a = new Admission({ maxHandshakes: 2, retryThreshold: 10 });
    a.opened('a');
    a.opened('b');
    expect(a.decide('c', false)).toBe('refuse');
    expect(a.decide('c', true)).toBe('refuse');
  });

  it('retry: true always asks; retry: false never does, and drops past the per-address bound', () => {
    expect(new Admission({ retry: true }).decide('a', false)).toBe('retry');
    const never = new Admission({ retry: false, maxHandshakesPerAddress: 1, retryThreshold: 0 });
    expect(never.decide('a', false)).toBe('accept');
    never.opened('a');
    expect(never.decide('a', false)).toBe('refuse');
    expect(never.addresses).toBe(1);
  });

  it('names bad options', () => {
    expect(() => new Admission({ retry: 'sometimes' as never })).toThrow(/retry must be/);
    expect(() => new Admission({ maxHandshakes: 0 })).toThrow(/maxHandshakes/);
    expect(() => new Admission({ maxHandshakesPerAddress: -1 })).toThrow(/maxHandshakesPerAddress/);
    expect(() => new Admission({ handshakeTimeout: 0 })).toThrow(/handshakeTimeout/);
  });
});

describe('listener admission', () => {
  it('with retryThreshold 0, a client is Retried then served, and the counters say so', async () => {
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig(),
      retryThreshold: 0,
      onConnection: echoStreams,
    });
    try {
      const conn = await connect({
        host: '127.0.0.1',
        port: listener.address().port,
        config: clientConfig(),
        serverName: 'localhost',
      });
      expect(await echo(conn, 'validated')).toBe('validated');
      await conn.close();
      // A first flight may span two Initials (a large ClientHello): each gets a Retry.
      const stats = listener.stats();
      expect(stats.retriesSent).toBeGreaterThanOrEqual(1);
      expect(stats).toMatchObject({ accepted: 1, handshaking: 0, badTokens: 0 });
    } finally {
      await listener.close({ timeoutMs: 1000 });
    }
  });

  it('rejects bad admission options by name before binding', async () => {
    await expect(
      listen({ host: '127.0.0.1', port: 0, config: serverConfig(), maxHandshakes: 0 }),
    ).rejects.toThrow(/maxHandshakes/);
  });
});
