/**
 * Read-only views of a native connection: statistics, per-path statistics,
 * negotiated parameters and the TLS session, decoded into plain objects.
 *
 * @module
 */
import * as q from '@quichex/ffi';
import { earlyDataOutcome } from './close-info.js';
import * as s from './scratch.js';

type CamelCase<S> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
/** Connection statistics (quiche's `quiche_stats`, camelCased). */
export type ConnectionStats = { [K in keyof q.Stats as CamelCase<K>]: q.Stats[K] };
/** Per-path statistics (quiche's `quiche_path_stats`, camelCased; RTTs in ns). */
export type PathStats = { [K in keyof q.PathStats as CamelCase<K>]: q.PathStats[K] };
/** The peer's transport parameters (camelCased). */
export type PeerTransportParams = { [K in keyof q.TransportParams as CamelCase<K>]: q.TransportParams[K] };

/** What `Connection.info()` reports about the TLS and QUIC state (addresses are added by the connection). */
export interface NegotiatedInfo {
  /** Negotiated ALPN protocol ('' before the handshake). */
  readonly alpn: string;
  /** SNI server name (client: what it asked for; server: what the client sent). */
  readonly serverName: string | null;
  /** Whether the handshake completed. */
  readonly established: boolean;
  /** Whether the session was resumed from a ticket. */
  readonly resumed: boolean;
  /** Whether the connection is still in 0-RTT (early data before the handshake completed). */
  readonly inEarlyData: boolean;
  /**
   * What became of 0-RTT: `'accepted'`, `'rejected'` (the peer declined; data
   * was resent after the handshake), or `'none'` (not attempted or not known yet).
   */
  readonly earlyData: 'accepted' | 'rejected' | 'none';
  /** quiche's trace id, which also names qlog files. */
  readonly traceId: string;
  /** The transport parameters the peer announced, once known. */
  readonly peerTransportParams: PeerTransportParams | null;
}

/** `quiche_conn_stats`, decoded. */
export function readStats(conn: q.QuicheConn): ConnectionStats {
  s.statsBuf.fill(0);
  q.quiche_conn_stats(conn, s.statsBuf);
  return camel(q.decodeStats(s.statsBuf)) as ConnectionStats;
}

/** Packets lost so far (for the packet-loss diagnostics channel). */
export function readLost(conn: q.QuicheConn): number {
  s.statsBuf.fill(0);
  q.quiche_conn_stats(conn, s.statsBuf);
  return q.decodeStats(s.statsBuf).lost;
}

/** Statistics of every path, in quiche's order. */
export function readPathStats(conn: q.QuicheConn): PathStats[] {
  const out: PathStats[] = [];
  for (let i = 0; i < 64; i++) {
    s.pathStatsBuf.fill(0); // quiche never writes max_rtt
    if (q.quiche_conn_path_stats(conn, i, s.pathStatsBuf) < 0) break;
    out.push(camel(q.decodePathStats(s.pathStatsBuf)) as PathStats);
  }
  return out;
}

/** ALPN, SNI, resumption, 0-RTT outcome, trace id and the peer's transport parameters. */
export function readNegotiated(conn: q.QuicheConn): NegotiatedInfo {
  const text = (fn: (c: q.QuicheConn, o: BigUint64Array, l: BigUint64Array) => void): string => {
    s.lenOut[0] = 0n;
    fn(conn, s.ptrOut, s.lenOut);
    return Buffer.from(q.readBorrowed(s.ptrOut, s.lenOut)).toString('utf8');
  };
  s.paramsBuf.fill(0);
  const haveParams = q.quiche_conn_peer_transport_params(conn, s.paramsBuf);
  const sni = text(q.quiche_conn_server_name);
  return {
    alpn: text(q.quiche_conn_application_proto),
    serverName: sni === '' ? null : sni,
    established: q.quiche_conn_is_established(conn),
    resumed: q.quiche_conn_is_resumed(conn),
    inEarlyData: q.quiche_conn_is_in_early_data(conn),
    earlyData: earlyDataOutcome(q.quichex_conn_early_data_reason(conn)),
    traceId: text(q.quiche_conn_trace_id),
    peerTransportParams: haveParams
      ? (camel(q.decodeTransportParams(s.paramsBuf)) as PeerTransportParams)
      : null,
  };
}

/** The TLS session to resume with, or `null` before the server sent a ticket. */
export function readSession(conn: q.QuicheConn): Uint8Array | null {
  s.lenOut[0] = 0n;
  q.quiche_conn_session(conn, s.ptrOut, s.lenOut);
  return s.lenOut[0] === 0n ? null : q.readBorrowed(s.ptrOut, s.lenOut);
}

function camel(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}
