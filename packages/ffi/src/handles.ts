/**
 * Branded handle types for quiche's opaque objects.
 *
 * koffi 3 represents every pointer as a `bigint` and does not check pointer
 * types, so nothing at run time stops a `quiche_config *` from being passed
 * where a `quiche_conn *` is expected. The brands make that mistake a
 * compile-time error instead of a crash.
 *
 * @module
 */

declare const brand: unique symbol;

/** A native pointer tagged with the C type it points to. */
export type Handle<Name extends string> = bigint & {
  /** Compile-time tag naming the C type; it does not exist at run time. */
  readonly [brand]: Name;
};

/** `quiche_config *`: transport configuration, freed with `quiche_config_free`. */
export type QuicheConfig = Handle<'quiche_config'>;
/** `quiche_conn *`: one QUIC connection, freed with `quiche_conn_free`. */
export type QuicheConn = Handle<'quiche_conn'>;
/** `quiche_stream_iter *`: stream id iterator, freed with `quiche_stream_iter_free`. */
export type QuicheStreamIter = Handle<'quiche_stream_iter'>;
/** `quiche_connection_id_iter *`: connection id iterator, freed with `quiche_connection_id_iter_free`. */
export type QuicheConnectionIdIter = Handle<'quiche_connection_id_iter'>;
/** `quiche_path_event *`: one path event, freed with `quiche_path_event_free`. */
export type QuichePathEvent = Handle<'quiche_path_event'>;
/** `quiche_socket_addr_iter *`: peer address iterator, freed with `quiche_socket_addr_iter_free`. */
export type QuicheSocketAddrIter = Handle<'quiche_socket_addr_iter'>;
/** `quiche_h3_config *`: HTTP/3 configuration, freed with `quiche_h3_config_free`. */
export type QuicheH3Config = Handle<'quiche_h3_config'>;
/** `quiche_h3_conn *`: HTTP/3 connection state, freed with `quiche_h3_conn_free` (before its `quiche_conn`). */
export type QuicheH3Conn = Handle<'quiche_h3_conn'>;
/** `quiche_h3_event *`: one HTTP/3 event, freed with `quiche_h3_event_free`. */
export type QuicheH3Event = Handle<'quiche_h3_event'>;
/** A native `quiche_h3_header[]` (with its bytes), as {@link H3HeaderBlock} packs it; owned by its block. */
export type H3HeaderArray = Handle<'quiche_h3_header[]'>;

/** `quichex_tls *`: the TLS context of one config (quichex glue), freed with `quichex_tls_free`. */
export type QuichexTls = Handle<'quichex_tls'>;
/** `quichex_trust *`: trusted certificates (quichex glue), freed with `quichex_trust_free`. */
export type QuichexTrust = Handle<'quichex_trust'>;

/** Any raw native pointer (`void *`, `uint8_t *` held by C). */
export type Pointer = bigint;

/** A 64-bit unsigned value as koffi returns it: a `number` while it fits 2^53 − 1, a `bigint` beyond. */
export type U64 = number | bigint;
