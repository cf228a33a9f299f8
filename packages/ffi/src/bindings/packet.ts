/**
 * Packet header parsing, connection creation, version negotiation and Retry.
 *
 * @module
 */
import type { Pointer, QuicheConfig, QuicheConn } from '../handles.js';
import { bind } from '../native.js';

/**
 * Parses a datagram's header without decrypting it: version, type (`QuichePacketType`), SCID, DCID, token.
 * `dcil` is the DCID length to assume for short headers; each length array holds a capacity in, a length out.
 * Returns 0, a negative QUICHE_ERR_* code if unparseable, or -1 when a CID or token buffer is too small.
 */
export const quiche_header_info = bind<
  (
    buf: Uint8Array,
    bufLen: number,
    dcil: number,
    version: Uint32Array,
    type: Uint8Array,
    scid: Uint8Array,
    scidLen: BigUint64Array,
    dcid: Uint8Array,
    dcidLen: BigUint64Array,
    token: Uint8Array,
    tokenLen: BigUint64Array,
  ) => number
>(
  'int quiche_header_info(const void *buf, size_t buf_len, size_t dcil, void *version, void *type, void *scid, void *scid_len, void *dcid, void *dcid_len, void *token, void *token_len)',
);

/**
 * Creates the server side of a connection from a client's first packet; NULL on failure.
 * `odcid` is the original DCID from a Retry token (null without Retry); sockaddr lengths must be 16 or 28.
 * Free the result with `quiche_conn_free`.
 */
export const quiche_accept = bind<
  (
    scid: Uint8Array,
    scidLen: number,
    odcid: Uint8Array | null,
    odcidLen: number,
    local: Uint8Array,
    localLen: number,
    peer: Uint8Array,
    peerLen: number,
    config: QuicheConfig,
  ) => QuicheConn | null
>(
  'quiche_conn *quiche_accept(const void *scid, size_t scid_len, const void *odcid, size_t odcid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, quiche_config *config)',
);

/**
 * Creates the client side of a connection, ready to send its first Initial; NULL on failure.
 * `serverName` drives SNI and certificate name checks (may be null); sockaddr lengths must be 16 or 28.
 * Free the result with `quiche_conn_free`.
 */
export const quiche_connect = bind<
  (
    serverName: string | null,
    scid: Uint8Array,
    scidLen: number,
    local: Uint8Array,
    localLen: number,
    peer: Uint8Array,
    peerLen: number,
    config: QuicheConfig,
  ) => QuicheConn | null
>(
  'quiche_conn *quiche_connect(const char *server_name, const void *scid, size_t scid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, quiche_config *config)',
);

/**
 * Builds a Version Negotiation reply to a client; pass the SCID and DCID as parsed from its packet.
 * Returns the packet length or a negative QUICHE_ERR_* code.
 */
export const quiche_negotiate_version = bind<
  (
    scid: Uint8Array,
    scidLen: number,
    dcid: Uint8Array,
    dcidLen: number,
    out: Uint8Array,
    outLen: number,
  ) => number
>(
  'ssize_t quiche_negotiate_version(const void *scid, size_t scid_len, const void *dcid, size_t dcid_len, void *out, size_t out_len)',
);

/**
 * Builds a Retry packet giving the client `token` and the new server CID `newScid`; `scid`/`dcid` as parsed.
 * Returns the packet length or a negative QUICHE_ERR_* code. quiche does not check tokens: authenticate them.
 */
export const quiche_retry = bind<
  (
    scid: Uint8Array,
    scidLen: number,
    dcid: Uint8Array,
    dcidLen: number,
    newScid: Uint8Array,
    newScidLen: number,
    token: Uint8Array,
    tokenLen: number,
    version: number,
    out: Uint8Array,
    outLen: number,
  ) => number
>(
  'ssize_t quiche_retry(const void *scid, size_t scid_len, const void *dcid, size_t dcid_len, const void *new_scid, size_t new_scid_len, const void *token, size_t token_len, uint32_t version, void *out, size_t out_len)',
);

/** Whether this quiche build speaks the given QUIC wire version. */
export const quiche_version_is_supported = bind<(version: number) => boolean>(
  'bool quiche_version_is_supported(uint32_t version)',
);

/**
 * Creates a connection around a caller-supplied BoringSSL `SSL*`; NULL on failure.
 * Unusable from JS: the library keeps its BoringSSL symbols hidden, so there is no way to create that `SSL*`.
 */
export const quiche_conn_new_with_tls = bind<
  (
    scid: Uint8Array,
    scidLen: number,
    odcid: Uint8Array | null,
    odcidLen: number,
    local: Uint8Array,
    localLen: number,
    peer: Uint8Array,
    peerLen: number,
    config: QuicheConfig,
    ssl: Pointer | null,
    isServer: boolean,
  ) => QuicheConn | null
>(
  'quiche_conn *quiche_conn_new_with_tls(const void *scid, size_t scid_len, const void *odcid, size_t odcid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, const quiche_config *config, void *ssl, bool is_server)',
);

/**
 * Client variant of `quiche_conn_new_with_tls` that also chooses the initial DCID; NULL on failure.
 * Needs the same unobtainable `SSL*`; always NULL unless quiche was built with `custom-client-dcid`.
 */
export const quiche_conn_new_with_tls_and_client_dcid = bind<
  (
    scid: Uint8Array,
    scidLen: number,
    dcid: Uint8Array,
    dcidLen: number,
    local: Uint8Array,
    localLen: number,
    peer: Uint8Array,
    peerLen: number,
    config: QuicheConfig,
    ssl: Pointer | null,
  ) => QuicheConn | null
>(
  'quiche_conn *quiche_conn_new_with_tls_and_client_dcid(const void *scid, size_t scid_len, const void *dcid, size_t dcid_len, const void *local, socklen_t local_len, const void *peer, socklen_t peer_len, const quiche_config *config, void *ssl)',
);
