/**
 * The stateless server-side packets: Version Negotiation for a client that
 * offers an unknown version, and Retry with an address-validation token. In
 * both cases quiche's client follows the packet and the handshake completes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  QUICHE_PROTOCOL_VERSION,
  QuicheError,
  QuichePacketType,
  quiche_conn_destination_id,
  quiche_conn_is_established,
  quiche_conn_source_id,
  quiche_negotiate_version,
  quiche_retry,
  quiche_version_is_supported,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { borrowed, localError, peerError } from './support/conn.js';
import { headerInfo, Pair, utf8 } from './support/pair.js';

const RESERVED_VERSION = 0xbabababa;

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.free();
});

function newPair(clientVersion?: number): Pair {
  const pair = new Pair({
    client: { verifyCa: certs.caCert, ...(clientVersion === undefined ? {} : { version: clientVersion }) },
    server: { identity: certs },
  });
  pairs.push(pair);
  return pair;
}

describe('version negotiation', () => {
  it('knows which versions it supports', () => {
    expect(quiche_version_is_supported(QUICHE_PROTOCOL_VERSION)).toBe(true);
    expect(quiche_version_is_supported(RESERVED_VERSION)).toBe(false);
    expect(quiche_version_is_supported(0)).toBe(false);
  });

  it('answers an unknown version with a VN packet that the client follows to establishment', () => {
    const pair = newPair(RESERVED_VERSION);
    const first = pair.drain('client');
    const hdr = headerInfo(first[0]!);
    expect(hdr.rc).toBe(0);
    expect(hdr.version).toBe(RESERVED_VERSION);
    expect(quiche_version_is_supported(hdr.version)).toBe(false);

    const out = new Uint8Array(1500);
    const n = quiche_negotiate_version(hdr.scid, hdr.scid.length, hdr.dcid, hdr.dcid.length, out, out.length);
    expect(n).toBeGreaterThan(0);
    const vn = out.slice(0, n);
    // Long header, version 0, the client's IDs swapped, then the list of versions.
    expect(vn[0]! & 0x80).toBe(0x80);
    const vnHdr = headerInfo(vn);
    expect(vnHdr).toMatchObject({ rc: 0, type: QuichePacketType.VERSION_NEGOTIATION, version: 0 });
    expect(vnHdr.dcid).toEqual(hdr.scid);
    expect(vnHdr.scid).toEqual(hdr.dcid);
    expect(Buffer.from(vn).includes(Buffer.from([0, 0, 0, 1]), 7 + hdr.scid.length + hdr.dcid.length)).toBe(
      true,
    );

    expect(pair.deliver('client', vn)).toBeGreaterThanOrEqual(0);
    const retried = pair.drain('client');
    expect(headerInfo(retried[0]!).version).toBe(QUICHE_PROTOCOL_VERSION);
    pair.accept(retried[0]!);
    for (const pkt of retried) pair.deliver('server', pkt);
    pair.pump();
    expect(quiche_conn_is_established(pair.client)).toBe(true);
    expect(quiche_conn_is_established(pair.srv)).toBe(true);
  });

  it('fails with BUFFER_TOO_SHORT when the output buffer cannot hold the packet', () => {
    const scid = new Uint8Array(8).fill(1);
    const dcid = new Uint8Array(8).fill(2);
    const out = new Uint8Array(8);
    expect(quiche_negotiate_version(scid, scid.length, dcid, dcid.length, out, out.length)).toBe(
      QuicheError.QUICHE_ERR_BUFFER_TOO_SHORT,
    );
  });
});

describe('retry', () => {
  const TOKEN_PREFIX = 'quichex-retry:';

  /** Runs the stateless-retry exchange and returns what the server needs to accept. */
  function retryExchange(pair: Pair): { odcid: Uint8Array; newScid: Uint8Array; initial: Uint8Array[] } {
    const first = pair.drain('client');
    const hdr = headerInfo(first[0]!);
    expect(hdr).toMatchObject({ rc: 0, type: QuichePacketType.INITIAL });
    expect(hdr.token.length).toBe(0);

    const newScid = new Uint8Array(randomBytes(16));
    const token = new Uint8Array([...utf8(TOKEN_PREFIX), ...hdr.dcid]);
    const out = new Uint8Array(1500);
    const n = quiche_retry(
      hdr.scid,
      hdr.scid.length,
      hdr.dcid,
      hdr.dcid.length,
      newScid,
      newScid.length,
      token,
      token.length,
      hdr.version,
      out,
      out.length,
    );
    expect(n).toBeGreaterThan(0);
    const retry = out.slice(0, n);
    const retryHdr = headerInfo(retry);
    expect(retryHdr).toMatchObject({ rc: 0, type: QuichePacketType.RETRY, version: QUICHE_PROTOCOL_VERSION });
    expect(retryHdr.scid).toEqual(newScid);
    expect(retryHdr.dcid).toEqual(pair.clientScid);

    expect(pair.deliver('client', retry)).toBe(retry.length);
    const initial = pair.drain('client');
    const again = headerInfo(initial[0]!);
    expect(again.type).toBe(QuichePacketType.INITIAL);
    expect(again.dcid).toEqual(newScid);
    expect(again.token).toEqual(token);
    // The server recovers the original DCID from its own token.
    const odcid = again.token.slice(TOKEN_PREFIX.length);
    expect(odcid).toEqual(hdr.dcid);
    return { odcid, newScid, initial };
  }

  it('is followed by the client, and the server accepts with the new SCID and the original DCID', () => {
    const pair = newPair();
    const { odcid, newScid, initial } = retryExchange(pair);
    pair.accept(initial[0]!, odcid, newScid);
    for (const pkt of initial) expect(pair.deliver('server', pkt)).toBe(pkt.length);
    pair.pump();
    expect(pair.recvErrors).toEqual({ client: [], server: [] });
    expect(quiche_conn_is_established(pair.client)).toBe(true);
    expect(quiche_conn_is_established(pair.srv)).toBe(true);
    expect(borrowed(quiche_conn_source_id, pair.srv)).toEqual(newScid);
    expect(borrowed(quiche_conn_destination_id, pair.client)).toEqual(newScid);
  });

  it('fails the handshake when the server accepts with a different original DCID', () => {
    const pair = newPair();
    const { odcid, newScid, initial } = retryExchange(pair);
    const wrong = odcid.map((b) => b ^ 0xff);
    pair.accept(initial[0]!, wrong, newScid);
    for (const pkt of initial) pair.deliver('server', pkt);
    pair.pump();
    // The client checks original_destination_connection_id and closes with
    // TRANSPORT_PARAMETER_ERROR (0x08), which the server then sees.
    expect(pair.recvErrors.client).toContain(QuicheError.QUICHE_ERR_INVALID_TRANSPORT_PARAM);
    const local = localError(pair.client);
    expect(local).toEqual({ isApp: false, code: 0x08n, reason: '' });
    expect(peerError(pair.srv)).toEqual(local);
  });
});
