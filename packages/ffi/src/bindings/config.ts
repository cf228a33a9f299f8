/**
 * Transport configuration: `quiche_config_*`.
 *
 * @module
 */
import type { QuicheConfig } from '../handles.js';
import { bind } from '../native.js';

/**
 * Allocates a transport configuration for the given QUIC wire version; NULL on failure.
 * Free with `quiche_config_free`. Connections keep no reference, so it may go once accept/connect returned.
 */
export const quiche_config_new = bind<(version: number) => QuicheConfig | null>(
  'quiche_config *quiche_config_new(uint32_t version)',
);

/**
 * Loads the certificate chain this endpoint presents from a PEM file. Returns 0 or a negative QUICHE_ERR_*.
 * Only file paths are supported: write in-memory PEM to a private temporary file first.
 */
export const quiche_config_load_cert_chain_from_pem_file = bind<
  (config: QuicheConfig, path: string) => number
>('int quiche_config_load_cert_chain_from_pem_file(quiche_config *config, const char *path)');

/**
 * Loads the private key that matches the certificate chain from a PEM file.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_config_load_priv_key_from_pem_file = bind<(config: QuicheConfig, path: string) => number>(
  'int quiche_config_load_priv_key_from_pem_file(quiche_config *config, const char *path)',
);

/**
 * Adds the CA certificates of a PEM bundle file to the trust store used to verify the peer.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_config_load_verify_locations_from_file = bind<
  (config: QuicheConfig, path: string) => number
>('int quiche_config_load_verify_locations_from_file(quiche_config *config, const char *path)');

/**
 * Adds a directory of CA certificates (OpenSSL hashed-name layout) to the trust store for peer checks.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_config_load_verify_locations_from_directory = bind<
  (config: QuicheConfig, path: string) => number
>('int quiche_config_load_verify_locations_from_directory(quiche_config *config, const char *path)');

/**
 * Sets the TLS key-exchange groups to offer, best first, as a colon-separated list like `"X25519:P-256"`.
 * Returns 0, or a negative QUICHE_ERR_* code if BoringSSL rejects the list.
 */
export const quiche_config_set_curves_list = bind<(config: QuicheConfig, curves: string) => number>(
  'int quiche_config_set_curves_list(quiche_config *config, const char *curves)',
);

/**
 * Turns checking of the peer's certificate chain on or off.
 * Off by default, even for clients: a client must enable it (and load CA locations) to authenticate a server.
 */
export const quiche_config_verify_peer = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_verify_peer(quiche_config *config, bool v)',
);

/**
 * Turns GREASE on or off: reserved dummy values that keep peers tolerant of unknown extensions (default on).
 */
export const quiche_config_grease = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_grease(quiche_config *config, bool v)',
);

/** Turns path MTU discovery on or off (off by default); results surface as PMTU_UPDATED path events. */
export const quiche_config_discover_pmtu = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_discover_pmtu(quiche_config *config, bool v)',
);

/**
 * Lets connections export their TLS secrets; without it the per-connection keylog functions write nothing.
 */
export const quiche_config_log_keys = bind<(config: QuicheConfig) => void>(
  'void quiche_config_log_keys(quiche_config *config)',
);

/** Allows 0-RTT: a resuming client may send data before the handshake completes, and a server accepts it. */
export const quiche_config_enable_early_data = bind<(config: QuicheConfig) => void>(
  'void quiche_config_enable_early_data(quiche_config *config)',
);

/**
 * Sets the ALPN protocols to offer or accept, in wire format: names prefixed by their length (`encodeAlpn`).
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_config_set_application_protos = bind<
  (config: QuicheConfig, protos: Uint8Array, protosLen: number) => number
>('int quiche_config_set_application_protos(quiche_config *config, const void *protos, size_t protos_len)');

/**
 * Sets how many times the bytes received a server may send to a not-yet-validated client address (default 3).
 */
export const quiche_config_set_max_amplification_factor = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_max_amplification_factor(quiche_config *config, size_t v)',
);

/** Sets the idle timeout advertised to the peer, in milliseconds; 0 (the default) means no idle timeout. */
export const quiche_config_set_max_idle_timeout = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_idle_timeout(quiche_config *config, uint64_t v)',
);

/** Sets the largest UDP payload this endpoint accepts, advertised as `max_udp_payload_size`. */
export const quiche_config_set_max_recv_udp_payload_size = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_max_recv_udp_payload_size(quiche_config *config, size_t v)',
);

/** Caps the size of the UDP payloads this endpoint sends (default 1200). */
export const quiche_config_set_max_send_udp_payload_size = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_max_send_udp_payload_size(quiche_config *config, size_t v)',
);

/**
 * Sets the connection-wide receive window advertised at the handshake, in bytes.
 * The default is 0, which lets the peer send no stream data at all.
 */
export const quiche_config_set_initial_max_data = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_data(quiche_config *config, uint64_t v)',
);

/**
 * Sets the initial receive window, in bytes, of each bidirectional stream this endpoint opens (default 0).
 */
export const quiche_config_set_initial_max_stream_data_bidi_local = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_initial_max_stream_data_bidi_local(quiche_config *config, uint64_t v)');

/** Sets the initial receive window, in bytes, of each bidirectional stream the peer opens (default 0). */
export const quiche_config_set_initial_max_stream_data_bidi_remote = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_initial_max_stream_data_bidi_remote(quiche_config *config, uint64_t v)');

/** Sets the initial receive window, in bytes, of each unidirectional stream the peer opens (default 0). */
export const quiche_config_set_initial_max_stream_data_uni = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_initial_max_stream_data_uni(quiche_config *config, uint64_t v)');

/** Sets how many bidirectional streams the peer may open before it needs more credit (default 0). */
export const quiche_config_set_initial_max_streams_bidi = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_initial_max_streams_bidi(quiche_config *config, uint64_t v)');

/** Sets how many unidirectional streams the peer may open before it needs more credit (default 0). */
export const quiche_config_set_initial_max_streams_uni = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_initial_max_streams_uni(quiche_config *config, uint64_t v)');

/**
 * Sets the exponent this endpoint uses to scale the ACK Delay field it sends, and advertises it (default 3).
 */
export const quiche_config_set_ack_delay_exponent = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_ack_delay_exponent(quiche_config *config, uint64_t v)',
);

/**
 * Sets the longest time, in milliseconds, this endpoint may hold back an acknowledgement, and advertises it.
 */
export const quiche_config_set_max_ack_delay = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_ack_delay(quiche_config *config, uint64_t v)',
);

/** Advertises that the peer must not move this connection to another address on its own initiative. */
export const quiche_config_set_disable_active_migration = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_set_disable_active_migration(quiche_config *config, bool v)',
);

/**
 * Picks the congestion controller by name: `"reno"`, `"cubic"` or `"bbr2"` (alias `"bbr2_gcongestion"`).
 * Returns 0, or a negative QUICHE_ERR_* code for an unknown name. Safer than the enum-based setter.
 */
export const quiche_config_set_cc_algorithm_name = bind<(config: QuicheConfig, algo: string) => number>(
  'int quiche_config_set_cc_algorithm_name(quiche_config *config, const char *algo)',
);

/** Sets the starting congestion window, counted in full-size packets (default 10). */
export const quiche_config_set_initial_congestion_window_packets = bind<
  (config: QuicheConfig, packets: number) => void
>('void quiche_config_set_initial_congestion_window_packets(quiche_config *config, size_t packets)');

/**
 * Picks the congestion controller by `QuicheCcAlgorithm` value.
 * Only 0, 1 and 4 are valid: quiche reads the int as a Rust enum, so any other value is undefined behaviour.
 */
export const quiche_config_set_cc_algorithm = bind<(config: QuicheConfig, algo: number) => void>(
  'void quiche_config_set_cc_algorithm(quiche_config *config, int algo)',
);

/** Turns HyStart++ (an earlier, gentler exit from slow start) on or off; on by default. */
export const quiche_config_enable_hystart = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_enable_hystart(quiche_config *config, bool v)',
);

/** Turns packet pacing on or off (on by default); the intended send time is reported in `send_info.at`. */
export const quiche_config_enable_pacing = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_enable_pacing(quiche_config *config, bool v)',
);

/** Turns on or off CUBIC's correction for resuming after an application-idle period (on by default). */
export const quiche_config_set_enable_cubic_idle_restart_fix = bind<
  (config: QuicheConfig, v: boolean) => void
>('void quiche_config_set_enable_cubic_idle_restart_fix(quiche_config *config, bool v)');

/** Obsolete and ignored: the behaviour it used to toggle is now always on. Kept so old callers still link. */
export const quiche_config_set_use_initial_max_data_as_flow_control_win = bind<
  (config: QuicheConfig, v: boolean) => void
>('void quiche_config_set_use_initial_max_data_as_flow_control_win(quiche_config *config, bool v)');

/** Caps the pacing rate, in bytes per second. */
export const quiche_config_set_max_pacing_rate = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_pacing_rate(quiche_config *config, uint64_t v)',
);

/**
 * Turns DATAGRAM frame support (RFC 9221) on or off and sets how many datagrams each of the
 * receive and send queues may hold.
 */
export const quiche_config_enable_dgram = bind<
  (config: QuicheConfig, enabled: boolean, recvQueueLen: number, sendQueueLen: number) => void
>(
  'void quiche_config_enable_dgram(quiche_config *config, bool enabled, size_t recv_queue_len, size_t send_queue_len)',
);

/** Sets the largest size, in bytes, that auto-tuning may grow the connection-level receive window to. */
export const quiche_config_set_max_connection_window = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_max_connection_window(quiche_config *config, uint64_t v)');

/** Sets the largest size, in bytes, that auto-tuning may grow a stream-level receive window to. */
export const quiche_config_set_max_stream_window = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_stream_window(quiche_config *config, uint64_t v)',
);

/**
 * Sets how many peer-issued connection IDs this endpoint is willing to hold at once (advertised to the peer).
 */
export const quiche_config_set_active_connection_id_limit = bind<
  (config: QuicheConfig, v: number | bigint) => void
>('void quiche_config_set_active_connection_id_limit(quiche_config *config, uint64_t v)');

/**
 * Sets the stateless reset token a server advertises in its transport parameters.
 * Reads exactly 16 bytes and takes no length: a shorter buffer makes quiche read past its end.
 */
export const quiche_config_set_stateless_reset_token = bind<(config: QuicheConfig, v: Uint8Array) => void>(
  'void quiche_config_set_stateless_reset_token(quiche_config *config, const void *v)',
);

/** When on, the connection avoids using one destination CID on more than one path. */
export const quiche_config_set_disable_dcid_reuse = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_set_disable_dcid_reuse(quiche_config *config, bool v)',
);

/**
 * Sets the key that encrypts and decrypts TLS session tickets (servers); BoringSSL wants exactly 48 bytes.
 * Returns 0 or a negative QUICHE_ERR_* code.
 */
export const quiche_config_set_ticket_key = bind<
  (config: QuicheConfig, key: Uint8Array, keyLen: number) => number
>('int quiche_config_set_ticket_key(quiche_config *config, const void *key, size_t key_len)');

/** Releases a configuration; call exactly once. Connections already created from it keep working. */
export const quiche_config_free = bind<(config: QuicheConfig) => void>(
  'void quiche_config_free(quiche_config *config)',
);

/**
 * Sets how many probes path-MTU discovery sends before giving up on a size.
 * Exported by libquiche but not declared in quiche.h.
 */
export const quiche_config_set_pmtud_max_probes = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_pmtud_max_probes(quiche_config *config, uint8_t v)',
);
