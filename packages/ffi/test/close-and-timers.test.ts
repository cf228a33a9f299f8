/**
 * Timers and connection close over the in-memory pair: what
 * `quiche_conn_timeout_as_*` report, application and transport close with
 * their codes and reasons, draining to `is_closed`, and the idle timeout.
 * Waiting uses real time, bounded by short idle timeouts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type QuicheConn,
  QuicheError,
  quiche_conn_close,
  quiche_conn_is_closed,
  quiche_conn_is_draining,
  quiche_conn_is_established,
  quiche_conn_is_timed_out,
  quiche_conn_on_timeout,
  quiche_conn_set_max_idle_timeout,
  quiche_conn_timeout_as_millis,
  quiche_conn_timeout_as_nanos,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { localError, peerError } from './support/conn.js';
import { Pair, type PairOptions, streamSend, utf8 } from './support/pair.js';

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const { QUICHE_ERR_DONE } = QuicheError;

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.free();
});

function newPair(extra: PairOptions = {}): Pair {
  const pair = new Pair({ client: { verifyCa: certs.caCert }, server: { identity: certs }, ...extra });
  pairs.push(pair);
  return pair;
}

const bothClosed = (pair: Pair) => () =>
  quiche_conn_is_closed(pair.client) && quiche_conn_is_closed(pair.srv);

describe('timers', () => {
  it('has no timer before the first packet, and UINT64_MAX says so', () => {
    const pair = newPair();
    expect(quiche_conn_timeout_as_nanos(pair.client)).toBe(UINT64_MAX);
    expect(quiche_conn_timeout_as_millis(pair.client)).toBe(UINT64_MAX);
    pair.drain('client');
    expect(typeof quiche_conn_timeout_as_nanos(pair.client)).toBe('number');
  });

  it('is finite and within the idle timeout after the handshake; millis agree with nanos', () => {
    const pair = newPair();
    pair.pump();
    const ns = quiche_conn_timeout_as_nanos(pair.client);
    const ms = quiche_conn_timeout_as_millis(pair.client);
    expect(typeof ns).toBe('number');
    expect(Number(ns)).toBeGreaterThan(0);
    expect(Number(ns)).toBeLessThanOrEqual(5000 * 1e6); // makeConfig's 5 s idle timeout
    // Read a moment later and truncated: never more than the nanos, not much less.
    expect(Number(ms)).toBeLessThanOrEqual(Math.ceil(Number(ns) / 1e6));
    expect(Number(ms)).toBeGreaterThan(Number(ns) / 1e6 - 1000);
  });

  it('ignores on_timeout before a timer expires', () => {
    const pair = newPair();
    pair.pump();
    quiche_conn_on_timeout(pair.client);
    quiche_conn_on_timeout(pair.srv);
    expect(quiche_conn_is_established(pair.client)).toBe(true);
    expect(quiche_conn_is_closed(pair.client)).toBe(false);
    expect(streamSend(pair.client, 0, utf8('still open'), true).rc).toBe(10);
  });

  it('closes both sides on idle timeout, shortened per connection with set_max_idle_timeout', async () => {
    // Both configs say 5 s; the client lowers its own to 150 ms, and the
    // negotiated idle timeout is the smaller of the two.
    const pair = newPair({
      beforeFirstSend: (client) => expect(quiche_conn_set_max_idle_timeout(client, 150)).toBe(0),
    });
    pair.pump();
    expect(Number(quiche_conn_timeout_as_nanos(pair.client))).toBeLessThanOrEqual(1000 * 1e6);
    const started = Date.now();
    expect(await pair.runTimersUntil(bothClosed(pair), 4000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(quiche_conn_is_timed_out(pair.client)).toBe(true);
    expect(quiche_conn_is_timed_out(pair.srv)).toBe(true);
    expect(peerError(pair.client)).toBeNull();
    expect(localError(pair.client)).toBeNull();
    expect(quiche_conn_timeout_as_nanos(pair.client)).toBe(UINT64_MAX);
  });
});

describe('close', () => {
  it('sends an application close the peer reads back, then both sides drain to closed', async () => {
    const pair = newPair();
    pair.pump();
    const reason = utf8('bye now');
    expect(quiche_conn_close(pair.client, true, 0x1234, reason, reason.length)).toBe(0);
    // Closing twice is DONE.
    expect(quiche_conn_close(pair.client, true, 1, null, 0)).toBe(QUICHE_ERR_DONE);
    expect(localError(pair.client)).toEqual({ isApp: true, code: 0x1234n, reason: 'bye now' });
    expect(quiche_conn_is_closed(pair.client)).toBe(false);

    pair.pump();
    expect(peerError(pair.srv)).toEqual({ isApp: true, code: 0x1234n, reason: 'bye now' });
    expect(quiche_conn_is_draining(pair.srv)).toBe(true);
    expect(localError(pair.srv)).toBeNull();

    expect(await pair.runTimersUntil(bothClosed(pair), 4000)).toBe(true);
    for (const conn of [pair.client, pair.srv] as QuicheConn[]) {
      expect(quiche_conn_is_timed_out(conn)).toBe(false);
      expect(quiche_conn_timeout_as_nanos(conn)).toBe(UINT64_MAX);
      expect(quiche_conn_close(conn, false, 0, null, 0)).toBe(QUICHE_ERR_DONE);
    }
    // The errors outlive the close.
    expect(peerError(pair.srv)?.code).toBe(0x1234n);
  });

  it('sends a transport close with an empty reason', () => {
    const pair = newPair();
    pair.pump();
    expect(quiche_conn_close(pair.srv, false, 0x0a, null, 0)).toBe(0);
    pair.pump();
    expect(peerError(pair.client)).toEqual({ isApp: false, code: 0x0an, reason: '' });
    expect(quiche_conn_is_draining(pair.client)).toBe(true);
  });
});
