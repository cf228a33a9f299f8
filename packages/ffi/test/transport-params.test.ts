/**
 * `quiche_conn_peer_transport_params` returns what the peer configured, and
 * decodeTransportParams reads it despite quiche's layout defect: the Rust
 * struct behind `quiche_transport_params` is not `#[repr(C)]`, so its last
 * three fields are not where quiche.h puts them (TransportParamsActualOffset).
 */
import koffi from 'koffi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeTransportParams,
  type QuicheConn,
  quiche_config_set_ack_delay_exponent,
  quiche_config_set_active_connection_id_limit,
  quiche_config_set_disable_active_migration,
  quiche_config_set_max_ack_delay,
  quiche_config_set_max_recv_udp_payload_size,
  quiche_conn_peer_transport_params,
  StructSize,
  type TransportParams,
  TransportParamsActualOffset,
  TransportParamsType,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';
import { Pair } from './support/pair.js';

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.free();
});

/** Reads the peer's parameters into a buffer pre-filled with `fill` (to catch unwritten bytes). */
function peerParams(conn: QuicheConn, fill = 0xa5): { ok: boolean; buf: Uint8Array } {
  const buf = new Uint8Array(StructSize.quiche_transport_params).fill(fill);
  const ok = quiche_conn_peer_transport_params(conn, buf);
  return { ok, buf };
}

/** A server configured with values no default has. */
function distinctivePair(): Pair {
  const pair = new Pair({
    client: { verifyCa: certs.caCert },
    server: {
      identity: certs,
      idleTimeoutMs: 4321,
      maxData: 1_234_567,
      maxStreamDataBidiLocal: 111_111,
      maxStreamDataBidiRemote: 222_222,
      maxStreamDataUni: 333_333,
      maxStreamsBidi: 17,
      maxStreamsUni: 9,
      dgram: true,
      tweak: (config) => {
        quiche_config_set_max_recv_udp_payload_size(config, 1452);
        quiche_config_set_ack_delay_exponent(config, 5);
        quiche_config_set_max_ack_delay(config, 40);
        quiche_config_set_active_connection_id_limit(config, 5);
        quiche_config_set_disable_active_migration(config, true);
      },
    },
  });
  pairs.push(pair);
  return pair;
}

describe('peer transport parameters', () => {
  it('are unavailable before the peer has sent them', () => {
    const pair = distinctivePair();
    expect(peerParams(pair.client).ok).toBe(false);
  });

  it('are exactly what the server configured, every field', () => {
    const pair = distinctivePair();
    pair.pump();
    const { ok, buf } = peerParams(pair.client);
    expect(ok).toBe(true);
    const want: TransportParams = {
      peer_max_idle_timeout: 4321,
      peer_max_udp_payload_size: 1452,
      peer_initial_max_data: 1_234_567,
      peer_initial_max_stream_data_bidi_local: 111_111,
      peer_initial_max_stream_data_bidi_remote: 222_222,
      peer_initial_max_stream_data_uni: 333_333,
      peer_initial_max_streams_bidi: 17,
      peer_initial_max_streams_uni: 9,
      peer_ack_delay_exponent: 5,
      peer_max_ack_delay: 40,
      peer_disable_active_migration: true,
      peer_active_conn_id_limit: 5,
      // quiche advertises its fixed maximum DATAGRAM frame size when enabled.
      peer_max_datagram_frame_size: 65_536,
    };
    expect(decodeTransportParams(buf)).toEqual(want);
  });

  it('decode the opposite values too (migration allowed, no DATAGRAM support, default CID limit)', () => {
    const pair = new Pair({ client: { verifyCa: certs.caCert }, server: { identity: certs } });
    pairs.push(pair);
    pair.pump();
    const { ok, buf } = peerParams(pair.client, 0xff);
    expect(ok).toBe(true);
    expect(decodeTransportParams(buf)).toMatchObject({
      peer_disable_active_migration: false,
      peer_active_conn_id_limit: 2,
      peer_max_datagram_frame_size: null,
    });
  });

  it("are the client's on the server side", () => {
    const pair = new Pair({
      client: { verifyCa: certs.caCert, maxData: 7_654_321, maxStreamsUni: 3 },
      server: { identity: certs },
    });
    pairs.push(pair);
    // The server has them as soon as it has processed the client's Initial.
    const initial = pair.drain('client');
    pair.accept(initial[0]!);
    for (const pkt of initial) pair.deliver('server', pkt);
    const { ok, buf } = peerParams(pair.srv);
    expect(ok).toBe(true);
    expect(decodeTransportParams(buf)).toMatchObject({
      peer_initial_max_data: 7_654_321,
      peer_initial_max_streams_uni: 3,
    });
  });

  it('are laid out the way TransportParamsActualOffset says, not the way quiche.h says', () => {
    const pair = distinctivePair();
    pair.pump();
    const { buf } = peerParams(pair.client, 0xee);
    const view = new DataView(buf.buffer);
    expect(view.getBigUint64(TransportParamsActualOffset.peer_active_conn_id_limit, true)).toBe(5n);
    expect(view.getBigInt64(TransportParamsActualOffset.peer_max_datagram_frame_size, true)).toBe(65_536n);
    expect(buf[TransportParamsActualOffset.peer_disable_active_migration]).toBe(1);
    // Reading with the header's layout gets the last three fields wrong. If
    // this starts failing, quiche fixed its struct: update structs.ts.
    const headerView = koffi.decode(buf, TransportParamsType) as Record<string, unknown>;
    expect(koffi.offsetof(TransportParamsType, 'peer_active_conn_id_limit')).toBe(88);
    expect(headerView.peer_active_conn_id_limit).toBe(65_536);
    expect(headerView.peer_max_datagram_frame_size).not.toBe(65_536);
  });
});
