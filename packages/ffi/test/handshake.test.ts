/**
 * The QUIC + TLS handshake over the in-memory pair: establishment, what each
 * side learns (ALPN, SNI, certificate, connection IDs, addresses), header
 * parsing of the client's first Initial, certificate and ALPN failures, and
 * session resumption.
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  QUICHE_MIN_CLIENT_INITIAL_LEN,
  QUICHE_PROTOCOL_VERSION,
  QuicheError,
  QuichePacketType,
  quiche_config_free,
  quiche_conn_application_proto,
  quiche_conn_destination_id,
  quiche_conn_is_closed,
  quiche_conn_is_draining,
  quiche_conn_is_established,
  quiche_conn_is_in_early_data,
  quiche_conn_is_resumed,
  quiche_conn_is_server,
  quiche_conn_peer_cert,
  quiche_conn_server_name,
  quiche_conn_session,
  quiche_conn_set_session,
  quiche_conn_source_id,
  quiche_conn_source_ids,
  quiche_conn_trace_id,
  quiche_header_info,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { borrowed, collectIds, localError, peerError } from './support/conn.js';
import { CLIENT_ADDR, headerInfo, makeConfig, Pair, SERVER_ADDR, TEST_ALPN, text } from './support/pair.js';

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const { QUICHE_ERR_TLS_FAIL, QUICHE_ERR_BUFFER_TOO_SHORT } = QuicheError;

/** TLS alerts surface as QUIC CRYPTO_ERROR codes 0x100 + alert. */
const CRYPTO_ERROR = (alert: number) => 0x100n + BigInt(alert);
const TLS_ALERT = { bad_certificate: 42, unknown_ca: 48, no_application_protocol: 120 } as const;

function verifiedPair(extra: ConstructorParameters<typeof Pair>[0] = {}): Pair {
  return new Pair({ client: { verifyCa: certs.caCert }, server: { identity: certs }, ...extra });
}

describe('handshake', () => {
  it('establishes both sides with a verified certificate', () => {
    const pair = verifiedPair();
    try {
      expect(quiche_conn_is_established(pair.client)).toBe(false);
      pair.pump();
      expect(pair.recvErrors).toEqual({ client: [], server: [] });
      expect(quiche_conn_is_established(pair.client)).toBe(true);
      expect(quiche_conn_is_established(pair.srv)).toBe(true);
      expect(quiche_conn_is_server(pair.client)).toBe(false);
      expect(quiche_conn_is_server(pair.srv)).toBe(true);
      expect(quiche_conn_is_resumed(pair.client)).toBe(false);
      expect(quiche_conn_is_in_early_data(pair.client)).toBe(false);
      expect(quiche_conn_is_closed(pair.client)).toBe(false);
      expect(quiche_conn_is_draining(pair.srv)).toBe(false);
      expect(localError(pair.client)).toBeNull();
      expect(peerError(pair.client)).toBeNull();
    } finally {
      pair.free();
    }
  });

  it('reports the negotiated ALPN and the SNI through borrowed out-params', () => {
    const pair = verifiedPair({
      client: { verifyCa: certs.caCert, alpn: ['not-this', TEST_ALPN] },
      server: { identity: certs, alpn: [TEST_ALPN, 'nor-this'] },
    });
    try {
      // Before the handshake there is no protocol: length 0, pointer unset.
      expect(borrowed(quiche_conn_application_proto, pair.client)).toEqual(new Uint8Array(0));
      pair.pump();
      expect(text(borrowed(quiche_conn_application_proto, pair.client))).toBe(TEST_ALPN);
      expect(text(borrowed(quiche_conn_application_proto, pair.srv))).toBe(TEST_ALPN);
      expect(text(borrowed(quiche_conn_server_name, pair.srv))).toBe('localhost');
      expect(text(borrowed(quiche_conn_server_name, pair.client))).toBe('localhost');
    } finally {
      pair.free();
    }
  });

  it("gives the client the server's DER certificate, and the server none", () => {
    const pair = verifiedPair();
    try {
      pair.pump();
      const der = new X509Certificate(readFileSync(certs.cert)).raw;
      expect(Buffer.from(borrowed(quiche_conn_peer_cert, pair.client))).toEqual(der);
      expect(borrowed(quiche_conn_peer_cert, pair.srv).length).toBe(0);
    } finally {
      pair.free();
    }
  });

  it('uses the connection IDs each side chose', () => {
    const pair = verifiedPair({ clientScidLen: 8 });
    try {
      pair.pump();
      expect(borrowed(quiche_conn_source_id, pair.client)).toEqual(pair.clientScid);
      expect(borrowed(quiche_conn_source_id, pair.srv)).toEqual(pair.serverScid);
      expect(borrowed(quiche_conn_destination_id, pair.client)).toEqual(pair.serverScid);
      expect(borrowed(quiche_conn_destination_id, pair.srv)).toEqual(pair.clientScid);
      // The trace id is the hex of the connection's own source ID.
      expect(text(borrowed(quiche_conn_trace_id, pair.client))).toBe(
        Buffer.from(pair.clientScid).toString('hex'),
      );
      expect(collectIds(quiche_conn_source_ids(pair.client))).toEqual([pair.clientScid]);
      expect(collectIds(quiche_conn_source_ids(pair.srv))).toEqual([pair.serverScid]);
    } finally {
      pair.free();
    }
  });

  it('fills quiche_send_info with the path addresses and a CLOCK_MONOTONIC send time', () => {
    const pair = verifiedPair();
    try {
      const before = process.hrtime.bigint();
      pair.pump();
      const after = process.hrtime.bigint();
      expect(pair.lastSendInfo.client?.from).toEqual(CLIENT_ADDR);
      expect(pair.lastSendInfo.client?.to).toEqual(SERVER_ADDR);
      expect(pair.lastSendInfo.server?.from).toEqual(SERVER_ADDR);
      expect(pair.lastSendInfo.server?.to).toEqual(CLIENT_ADDR);
      // Pacing may schedule a little ahead; allow a second either way.
      const at = pair.lastSendInfo.client!.at;
      expect(at).toBeGreaterThan(before - 1_000_000_000n);
      expect(at).toBeLessThan(after + 1_000_000_000n);
    } finally {
      pair.free();
    }
  });
});

describe('quiche_header_info on the client Initial', () => {
  it('reports type Initial, version 1, both connection IDs and no token', () => {
    const pair = verifiedPair({ clientScidLen: 8 });
    try {
      const first = pair.drain('client');
      expect(first.length).toBeGreaterThan(0);
      expect(first[0]!.length).toBeGreaterThanOrEqual(QUICHE_MIN_CLIENT_INITIAL_LEN);
      const hdr = headerInfo(first[0]!);
      expect(hdr.rc).toBe(0);
      expect(hdr.type).toBe(QuichePacketType.INITIAL);
      expect(hdr.version).toBe(QUICHE_PROTOCOL_VERSION);
      expect(hdr.scid).toEqual(pair.clientScid);
      expect(hdr.dcid.length).toBe(16); // quiche clients pick a 16-byte initial DCID
      expect(hdr.token.length).toBe(0);
      // The server can still be accepted from the same untouched datagram.
      pair.accept(first[0]!);
      for (const pkt of first) expect(pair.deliver('server', pkt)).toBe(pkt.length);
      pair.pump();
      expect(quiche_conn_is_established(pair.srv)).toBe(true);
      // The client's DCID was the server's choice after the handshake, not the Initial's.
      expect(borrowed(quiche_conn_destination_id, pair.client)).not.toEqual(hdr.dcid);
    } finally {
      pair.free();
    }
  });

  it('fails when a capacity is too small or the packet is truncated', () => {
    const pair = verifiedPair();
    try {
      const pkt = pair.drain('client')[0]!;
      const scid = new Uint8Array(20);
      const small = new Uint8Array(4);
      const rc = headerInfoWith(pkt, scid, small);
      expect(rc).toBe(-1);
      expect(headerInfo(pkt.subarray(0, 1)).rc).toBe(QUICHE_ERR_BUFFER_TOO_SHORT);
    } finally {
      pair.free();
    }
  });
});

/** header_info with caller-chosen buffers (their lengths are the capacities passed in). */
function headerInfoWith(pkt: Uint8Array, scid: Uint8Array, dcid: Uint8Array): number {
  const token = new Uint8Array(64);
  return quiche_header_info(
    pkt,
    pkt.length,
    16,
    new Uint32Array(1),
    new Uint8Array(1),
    scid,
    new BigUint64Array([BigInt(scid.length)]),
    dcid,
    new BigUint64Array([BigInt(dcid.length)]),
    token,
    new BigUint64Array([BigInt(token.length)]),
  );
}

describe('handshake failures', () => {
  it('fails with QUICHE_ERR_TLS_FAIL when the server certificate is signed by an unknown CA', () => {
    const pair = new Pair({ client: { verifyCa: certs.otherCaCert }, server: { identity: certs } });
    try {
      pair.pump();
      expect(pair.recvErrors.client).toContain(QUICHE_ERR_TLS_FAIL);
      expect(quiche_conn_is_established(pair.client)).toBe(false);
      expect(quiche_conn_is_established(pair.srv)).toBe(false);
      const local = localError(pair.client);
      expect(local).toEqual({ isApp: false, code: CRYPTO_ERROR(TLS_ALERT.unknown_ca), reason: '' });
      // The server learns the same code from the client's CONNECTION_CLOSE.
      expect(peerError(pair.srv)).toEqual(local);
      expect(quiche_conn_is_draining(pair.srv)).toBe(true);
    } finally {
      pair.free();
    }
  });

  it('fails when the certificate does not cover the server name', () => {
    const pair = verifiedPair({ serverName: 'example.com' });
    try {
      pair.pump();
      expect(pair.recvErrors.client).toContain(QUICHE_ERR_TLS_FAIL);
      expect(localError(pair.client)?.code).toBe(CRYPTO_ERROR(TLS_ALERT.bad_certificate));
      expect(quiche_conn_is_established(pair.client)).toBe(false);
    } finally {
      pair.free();
    }
  });

  it('fails on the server when no application protocol is shared', () => {
    const pair = new Pair({
      client: { verifyCa: certs.caCert, alpn: ['proto-a'] },
      server: { identity: certs, alpn: ['proto-b'] },
    });
    try {
      pair.pump();
      expect(pair.recvErrors.server).toContain(QUICHE_ERR_TLS_FAIL);
      const local = localError(pair.srv);
      expect(local).toEqual({
        isApp: false,
        code: CRYPTO_ERROR(TLS_ALERT.no_application_protocol),
        reason: '',
      });
      expect(peerError(pair.client)).toEqual(local);
    } finally {
      pair.free();
    }
  });
});

describe('session resumption', () => {
  it('resumes with the session bytes of a previous connection', () => {
    const serverConfig = makeConfig({ identity: certs });
    let session: Uint8Array;
    const first = verifiedPair({ sharedServerConfig: serverConfig });
    try {
      first.pump();
      session = borrowed(quiche_conn_session, first.client);
      expect(session.length).toBeGreaterThan(0);
      expect(quiche_conn_is_resumed(first.client)).toBe(false);
    } finally {
      first.free();
    }
    const second = verifiedPair({
      sharedServerConfig: serverConfig,
      beforeFirstSend: (client) => expect(quiche_conn_set_session(client, session, session.length)).toBe(0),
    });
    try {
      second.pump();
      expect(quiche_conn_is_established(second.client)).toBe(true);
      expect(quiche_conn_is_resumed(second.client)).toBe(true);
      expect(quiche_conn_is_resumed(second.srv)).toBe(true);
    } finally {
      second.free();
      quiche_config_free(serverConfig);
    }
  });

  it('rejects session bytes that are not a session', () => {
    const pair = verifiedPair({
      beforeFirstSend: (client) => {
        const junk = new Uint8Array(64).fill(7);
        expect(quiche_conn_set_session(client, junk, junk.length)).toBeLessThan(0);
      },
    });
    pair.free();
  });
});
