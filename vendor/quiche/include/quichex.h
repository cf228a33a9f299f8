/*
 * quichex's additions to quiche's C API, exported from the same libquiche
 * (vendor/quiche/src). Each function is documented in the Rust source next
 * to its definition; this header states the signatures for C callers and
 * for @quichex/ffi's coverage test.
 */
#ifndef QUICHEX_H
#define QUICHEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiche.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* A TLS context shared with one quiche_config. */
typedef struct quichex_tls quichex_tls;
/* A set of trusted certificates. */
typedef struct quichex_trust quichex_trust;

/* Why 0-RTT early data was or was not used (BoringSSL's ssl_early_data_reason_t). */
uint32_t quichex_conn_early_data_reason(const quiche_conn *conn);

/* A quiche_config (to *config_out) on a TLS context this handle configures; NULL and a message in err on failure. */
quichex_tls *quichex_tls_new(uint32_t version, quiche_config **config_out, char *err, size_t err_len);
void quichex_tls_free(quichex_tls *tls);

/* The identity this side presents: PEM chain (leaf first) and PEM key, decrypted with passphrase (NULL: none). 0 or -1. */
int quichex_tls_set_identity(quichex_tls *tls, const uint8_t *cert, size_t cert_len,
                             const uint8_t *key, size_t key_len,
                             const uint8_t *passphrase, size_t passphrase_len,
                             char *err, size_t err_len);

/* An identity for one server name ("host.example" or "*.example"), chosen by SNI. 0 or -1. */
int quichex_tls_add_server_name(quichex_tls *tls, const uint8_t *name, size_t name_len,
                                const uint8_t *cert, size_t cert_len,
                                const uint8_t *key, size_t key_len,
                                const uint8_t *passphrase, size_t passphrase_len,
                                char *err, size_t err_len);

/* 0: ask for no certificate, 1: ask, 2: ask and fail the handshake without one. 0 or -1. */
int quichex_tls_set_verify(quichex_tls *tls, uint32_t mode);

/* Trusted certificates from PEM; NULL and a message in err on failure. */
quichex_trust *quichex_trust_new(const uint8_t *pem, size_t pem_len, char *err, size_t err_len);
void quichex_trust_free(quichex_trust *trust);

/* Verifies the peer's chain, and the leaf's name when name is not NULL: 0, an X509_V_ERR_* code,
 * or -1 when the peer sent no certificate. */
int quichex_conn_verify_peer(const quiche_conn *conn, const quichex_trust *trust,
                             bool peer_is_server, const uint8_t *name, size_t name_len,
                             int *depth_out);

/* Name of an X509_V_ERR_* code without its prefix (NULL when unknown), and BoringSSL's sentence for it. */
const char *quichex_verify_error_name(int code);
const char *quichex_verify_error_string(int code);

/* DER of the peer's certificate number index (0: leaf). Borrowed from the connection. */
bool quichex_conn_peer_cert_at(const quiche_conn *conn, size_t index, const uint8_t **out, size_t *out_len);

/* Key log lines of this connection to callback(line, len, ctx); needs quiche_config_log_keys. */
bool quichex_conn_set_keylog_callback(quiche_conn *conn,
                                      void (*callback)(const uint8_t *line, size_t len, uint32_t ctx),
                                      uint32_t ctx);

#if defined(__cplusplus)
} /* extern C */
#endif

#endif /* QUICHEX_H */
