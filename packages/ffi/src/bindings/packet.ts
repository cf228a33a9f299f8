/**
 * Packet header parsing, connection creation, version negotiation and Retry.
 *
 * @module
 */
import type { QuicheConfig, QuicheConn, Pointer } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_header_info */
export const quiche_header_info = bind<(buf: Uint8Array, bufLen: number, dcil: number, version: Uint32Array, type: Uint8Array, scid: Uint8Array, scidLen: BigUint64Array, dcid: Uint8Array, dcidLen: BigUint64Array, token: Uint8Array, tokenLen: BigUint64Array) => number>(
  'int quiche_header_info(const void *buf, size_t buf_len, size_t dcil, void *version, void *type, void *scid, void *scid_len, void *dcid, void *dcid_len, void *token, void *token_len)',
);

/** TODO quiche_accept */
export const quiche_accept = bind<(scid: Uint8Array, scidLen: number, odcid: Uint8Array | null, odcidLen: number, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number, config: QuicheConfig) => QuicheConn | null>(
  'quiche_conn *quiche_accept(const void *scid, size_t scid_len, const void *odcid, size_t odcid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, quiche_config *config)',
);

/** TODO quiche_connect */
export const quiche_connect = bind<(serverName: string | null, scid: Uint8Array, scidLen: number, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number, config: QuicheConfig) => QuicheConn | null>(
  'quiche_conn *quiche_connect(const char *server_name, const void *scid, size_t scid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, quiche_config *config)',
);

/** TODO quiche_negotiate_version */
export const quiche_negotiate_version = bind<(scid: Uint8Array, scidLen: number, dcid: Uint8Array, dcidLen: number, out: Uint8Array, outLen: number) => number>(
  'ssize_t quiche_negotiate_version(const void *scid, size_t scid_len, const void *dcid, size_t dcid_len, void *out, size_t out_len)',
);

/** TODO quiche_retry */
export const quiche_retry = bind<(scid: Uint8Array, scidLen: number, dcid: Uint8Array, dcidLen: number, newScid: Uint8Array, newScidLen: number, token: Uint8Array, tokenLen: number, version: number, out: Uint8Array, outLen: number) => number>(
  'ssize_t quiche_retry(const void *scid, size_t scid_len, const void *dcid, size_t dcid_len, const void *new_scid, size_t new_scid_len, const void *token, size_t token_len, uint32_t version, void *out, size_t out_len)',
);

/** TODO quiche_version_is_supported */
export const quiche_version_is_supported = bind<(version: number) => boolean>(
  'bool quiche_version_is_supported(uint32_t version)',
);

/** TODO quiche_conn_new_with_tls */
export const quiche_conn_new_with_tls = bind<(scid: Uint8Array, scidLen: number, odcid: Uint8Array | null, odcidLen: number, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number, config: QuicheConfig, ssl: Pointer | null, isServer: boolean) => QuicheConn | null>(
  'quiche_conn *quiche_conn_new_with_tls(const void *scid, size_t scid_len, const void *odcid, size_t odcid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, const quiche_config *config, void *ssl, bool is_server)',
);

/** TODO quiche_conn_new_with_tls_and_client_dcid */
export const quiche_conn_new_with_tls_and_client_dcid = bind<(scid: Uint8Array, scidLen: number, dcid: Uint8Array, dcidLen: number, local: Uint8Array, localLen: number, peer: Uint8Array, peerLen: number, config: QuicheConfig, ssl: Pointer | null) => QuicheConn | null>(
  'quiche_conn *quiche_conn_new_with_tls_and_client_dcid(const void *scid, size_t scid_len, const void *dcid, size_t dcid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, const quiche_config *config, void *ssl)',
);
