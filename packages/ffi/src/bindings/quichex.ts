/**
 * Functions of quichex's own libquiche glue (`vendor/quiche/src`, declared
 * in `quichex.h` next to `quiche.h`), for what quiche's C API lacks: the
 * 0-RTT outcome, TLS material from memory, SNI identities, client
 * certificate modes, verification of the peer's chain with X.509 codes,
 * the peer's whole chain and key log lines by callback. Named `quichex_*`
 * so they never collide with quiche's.
 *
 * Functions that can fail take an `err` buffer (`char *`, `err_len`
 * bytes) that receives a NUL-terminated message; read it with
 * {@link readErrorBuffer}.
 *
 * @module
 */
import type { Pointer, QuicheConn, QuichexTls, QuichexTrust } from '../handles.js';
import { bind } from '../native.js';

/**
 * Why 0-RTT early data was or was not used on this connection, as
 * BoringSSL's `ssl_early_data_reason_t` (see {@link EarlyDataReason}).
 */
export const quichex_conn_early_data_reason = bind<(conn: QuicheConn) => number>(
  'uint32_t quichex_conn_early_data_reason(const quiche_conn *conn)',
);

/** Values of {@link quichex_conn_early_data_reason} (BoringSSL's `ssl_early_data_reason_t`). */
export const EarlyDataReason = {
  /** Not known yet (handshake not finished) or not applicable. */
  UNKNOWN: 0,
  /** 0-RTT is disabled on this side. */
  DISABLED: 1,
  /** Early data was offered and accepted. */
  ACCEPTED: 2,
  /** The negotiated TLS version does not allow 0-RTT. */
  PROTOCOL_VERSION: 3,
  /** The server declined early data. */
  PEER_DECLINED: 4,
  /** The client offered no session. */
  NO_SESSION_OFFERED: 5,
  /** The session was not resumed. */
  SESSION_NOT_RESUMED: 6,
  /** The session does not allow early data. */
  UNSUPPORTED_FOR_SESSION: 7,
  /** A HelloRetryRequest was needed. */
  HELLO_RETRY_REQUEST: 8,
  /** The ALPN differs from the session's. */
  ALPN_MISMATCH: 9,
  /** Channel ID was negotiated. */
  CHANNEL_ID: 10,
  /** The ticket's age was implausible. */
  TICKET_AGE_SKEW: 12,
  /** The server's QUIC transport parameters changed. */
  QUIC_PARAMETER_MISMATCH: 13,
  /** The ALPS settings differ. */
  ALPS_MISMATCH: 14,
} as const;

/**
 * Creates a quiche config for QUIC `version` on a TLS context that the
 * returned handle configures (identities, server names, verify mode). The
 * config goes to `configOut[0]`; free it with `quiche_config_free`, and the
 * handle with {@link quichex_tls_free}, in either order. Returns `null`
 * (message in `err`) on failure.
 */
export const quichex_tls_new = bind<
  (version: number, configOut: BigUint64Array, err: Uint8Array, errLen: number) => QuichexTls | null
>('quichex_tls *quichex_tls_new(uint32_t version, void *config_out, char *err, size_t err_len)');

/** Frees a handle from {@link quichex_tls_new}; its config and connections keep working. */
export const quichex_tls_free = bind<(tls: QuichexTls) => void>('void quichex_tls_free(quichex_tls *tls)');

/**
 * Sets the identity this side presents: a PEM certificate chain (leaf
 * first) and a PEM private key, decrypted with `passphrase` when encrypted
 * (`null` for none). Checks that the key matches the leaf. Returns 0, or -1
 * with a message in `err`.
 */
export const quichex_tls_set_identity = bind<
  (
    tls: QuichexTls,
    cert: Uint8Array,
    certLen: number,
    key: Uint8Array,
    keyLen: number,
    passphrase: Uint8Array | null,
    passphraseLen: number,
    err: Uint8Array,
    errLen: number,
  ) => number
>(
  'int quichex_tls_set_identity(quichex_tls *tls, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len, const uint8_t *passphrase, size_t passphrase_len, char *err, size_t err_len)',
);

/**
 * Adds an identity for one server name (`host.example` or `*.example`, one
 * label), chosen by the client's SNI; an exact name wins over a wildcard,
 * and an unknown name gets the default identity (or an `unrecognized_name`
 * alert without one). Returns 0, or -1 with a message in `err`.
 */
export const quichex_tls_add_server_name = bind<
  (
    tls: QuichexTls,
    name: Uint8Array,
    nameLen: number,
    cert: Uint8Array,
    certLen: number,
    key: Uint8Array,
    keyLen: number,
    passphrase: Uint8Array | null,
    passphraseLen: number,
    err: Uint8Array,
    errLen: number,
  ) => number
>(
  'int quichex_tls_add_server_name(quichex_tls *tls, const uint8_t *name, size_t name_len, const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len, const uint8_t *passphrase, size_t passphrase_len, char *err, size_t err_len)',
);

/**
 * Whether connections made afterwards ask the peer for a certificate (see
 * {@link TlsVerifyMode}). The chain is accepted as sent whatever the mode;
 * verify it with {@link quichex_conn_verify_peer}. Returns 0, or -1 for a
 * bad mode.
 */
export const quichex_tls_set_verify = bind<(tls: QuichexTls, mode: number) => number>(
  'int quichex_tls_set_verify(quichex_tls *tls, uint32_t mode)',
);

/** Modes of {@link quichex_tls_set_verify}. */
export const TlsVerifyMode = {
  /** Ask for no certificate (a server's default). */
  NONE: 0,
  /** Ask for one (a client always receives the server's). */
  REQUEST: 1,
  /** Ask, and fail the handshake when the peer sends none. */
  REQUIRE: 2,
} as const;

/** Trusted certificates from PEM text; `null` (message in `err`) when it holds none or is malformed. */
export const quichex_trust_new = bind<
  (pem: Uint8Array, pemLen: number, err: Uint8Array, errLen: number) => QuichexTrust | null
>('quichex_trust *quichex_trust_new(const uint8_t *pem, size_t pem_len, char *err, size_t err_len)');

/** Frees a trust store from {@link quichex_trust_new}. */
export const quichex_trust_free = bind<(trust: QuichexTrust) => void>(
  'void quichex_trust_free(quichex_trust *trust)',
);

/**
 * Verifies the peer's certificate chain against `trust`, for a TLS server
 * certificate when `peerIsServer` (else a client certificate), and with a
 * `name` (host name or IP address; `null` for none) that the leaf is for
 * it: 0 when it verifies, an `X509_V_ERR_*` code when not (62
 * `HOSTNAME_MISMATCH`, 64 `IP_ADDRESS_MISMATCH` for the name), -1 when the
 * peer sent no certificate. The depth the code concerns goes to `depthOut[0]`.
 */
export const quichex_conn_verify_peer = bind<
  (
    conn: QuicheConn,
    trust: QuichexTrust,
    peerIsServer: boolean,
    name: Uint8Array | null,
    nameLen: number,
    depthOut: Int32Array | null,
  ) => number
>(
  'int quichex_conn_verify_peer(const quiche_conn *conn, const quichex_trust *trust, bool peer_is_server, const uint8_t *name, size_t name_len, void *depth_out)',
);

/** The name of an `X509_V_ERR_*` code without the prefix (`'CERT_HAS_EXPIRED'`), or `null`. */
export const quichex_verify_error_name = bind<(code: number) => string | null>(
  'const char *quichex_verify_error_name(int code)',
);

/** BoringSSL's sentence for an `X509_V_ERR_*` code (`'certificate has expired'`). */
export const quichex_verify_error_string = bind<(code: number) => string | null>(
  'const char *quichex_verify_error_string(int code)',
);

/**
 * Points `out[0]`/`outLen[0]` at the DER of the peer's certificate number
 * `index` (0: leaf); `false` when there is none. Borrowed: copy it (see
 * `readBorrowed`) before the next call into quiche.
 */
export const quichex_conn_peer_cert_at = bind<
  (conn: QuicheConn, index: number, out: BigUint64Array, outLen: BigUint64Array) => boolean
>('bool quichex_conn_peer_cert_at(const quiche_conn *conn, size_t index, void *out, void *out_len)');

/**
 * Hands this connection's TLS key log lines to `callback` (from
 * `registerKeylogCallback`) with `ctx`. The config needs
 * `quiche_config_log_keys`. `false` for a null connection or callback.
 */
export const quichex_conn_set_keylog_callback = bind<
  (conn: QuicheConn, callback: Pointer, ctx: number) => boolean
>('bool quichex_conn_set_keylog_callback(quiche_conn *conn, quichex_keylog_cb *callback, uint32_t ctx)');

/** The NUL-terminated message a failed `quichex_*` call wrote into `err`. */
export function readErrorBuffer(err: Uint8Array): string {
  const end = err.indexOf(0);
  return Buffer.from(err.subarray(0, end < 0 ? err.length : end)).toString('utf8');
}
