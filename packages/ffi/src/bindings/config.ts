/**
 * Transport configuration: `quiche_config_*`.
 *
 * @module
 */
import type { QuicheConfig } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_config_new */
export const quiche_config_new = bind<(version: number) => QuicheConfig | null>(
  'quiche_config *quiche_config_new(uint32_t version)',
);

/** TODO quiche_config_load_cert_chain_from_pem_file */
export const quiche_config_load_cert_chain_from_pem_file = bind<(config: QuicheConfig, path: string) => number>(
  'int quiche_config_load_cert_chain_from_pem_file(quiche_config *config, const char *path)',
);

/** TODO quiche_config_load_priv_key_from_pem_file */
export const quiche_config_load_priv_key_from_pem_file = bind<(config: QuicheConfig, path: string) => number>(
  'int quiche_config_load_priv_key_from_pem_file(quiche_config *config, const char *path)',
);

/** TODO quiche_config_load_verify_locations_from_file */
export const quiche_config_load_verify_locations_from_file = bind<(config: QuicheConfig, path: string) => number>(
  'int quiche_config_load_verify_locations_from_file(quiche_config *config, const char *path)',
);

/** TODO quiche_config_load_verify_locations_from_directory */
export const quiche_config_load_verify_locations_from_directory = bind<(config: QuicheConfig, path: string) => number>(
  'int quiche_config_load_verify_locations_from_directory(quiche_config *config, const char *path)',
);

/** TODO quiche_config_set_curves_list */
export const quiche_config_set_curves_list = bind<(config: QuicheConfig, curves: string) => number>(
  'int quiche_config_set_curves_list(quiche_config *config, const char *curves)',
);

/** TODO quiche_config_verify_peer */
export const quiche_config_verify_peer = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_verify_peer(quiche_config *config, bool v)',
);

/** TODO quiche_config_grease */
export const quiche_config_grease = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_grease(quiche_config *config, bool v)',
);

/** TODO quiche_config_discover_pmtu */
export const quiche_config_discover_pmtu = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_discover_pmtu(quiche_config *config, bool v)',
);

/** TODO quiche_config_log_keys */
export const quiche_config_log_keys = bind<(config: QuicheConfig) => void>(
  'void quiche_config_log_keys(quiche_config *config)',
);

/** TODO quiche_config_enable_early_data */
export const quiche_config_enable_early_data = bind<(config: QuicheConfig) => void>(
  'void quiche_config_enable_early_data(quiche_config *config)',
);

/** TODO quiche_config_set_application_protos */
export const quiche_config_set_application_protos = bind<(config: QuicheConfig, protos: Uint8Array, protosLen: number) => number>(
  'int quiche_config_set_application_protos(quiche_config *config, const void *protos, size_t protos_len)',
);

/** TODO quiche_config_set_max_amplification_factor */
export const quiche_config_set_max_amplification_factor = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_max_amplification_factor(quiche_config *config, size_t v)',
);

/** TODO quiche_config_set_max_idle_timeout */
export const quiche_config_set_max_idle_timeout = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_idle_timeout(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_max_recv_udp_payload_size */
export const quiche_config_set_max_recv_udp_payload_size = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_max_recv_udp_payload_size(quiche_config *config, size_t v)',
);

/** TODO quiche_config_set_max_send_udp_payload_size */
export const quiche_config_set_max_send_udp_payload_size = bind<(config: QuicheConfig, v: number) => void>(
  'void quiche_config_set_max_send_udp_payload_size(quiche_config *config, size_t v)',
);

/** TODO quiche_config_set_initial_max_data */
export const quiche_config_set_initial_max_data = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_data(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_initial_max_stream_data_bidi_local */
export const quiche_config_set_initial_max_stream_data_bidi_local = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_stream_data_bidi_local(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_initial_max_stream_data_bidi_remote */
export const quiche_config_set_initial_max_stream_data_bidi_remote = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_stream_data_bidi_remote(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_initial_max_stream_data_uni */
export const quiche_config_set_initial_max_stream_data_uni = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_stream_data_uni(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_initial_max_streams_bidi */
export const quiche_config_set_initial_max_streams_bidi = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_streams_bidi(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_initial_max_streams_uni */
export const quiche_config_set_initial_max_streams_uni = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_initial_max_streams_uni(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_ack_delay_exponent */
export const quiche_config_set_ack_delay_exponent = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_ack_delay_exponent(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_max_ack_delay */
export const quiche_config_set_max_ack_delay = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_ack_delay(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_disable_active_migration */
export const quiche_config_set_disable_active_migration = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_set_disable_active_migration(quiche_config *config, bool v)',
);

/** TODO quiche_config_set_cc_algorithm_name */
export const quiche_config_set_cc_algorithm_name = bind<(config: QuicheConfig, algo: string) => number>(
  'int quiche_config_set_cc_algorithm_name(quiche_config *config, const char *algo)',
);

/** TODO quiche_config_set_initial_congestion_window_packets */
export const quiche_config_set_initial_congestion_window_packets = bind<(config: QuicheConfig, packets: number) => void>(
  'void quiche_config_set_initial_congestion_window_packets(quiche_config *config, size_t packets)',
);

/** TODO quiche_config_set_cc_algorithm */
export const quiche_config_set_cc_algorithm = bind<(config: QuicheConfig, algo: number) => void>(
  'void quiche_config_set_cc_algorithm(quiche_config *config, int algo)',
);

/** TODO quiche_config_enable_hystart */
export const quiche_config_enable_hystart = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_enable_hystart(quiche_config *config, bool v)',
);

/** TODO quiche_config_enable_pacing */
export const quiche_config_enable_pacing = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_enable_pacing(quiche_config *config, bool v)',
);

/** TODO quiche_config_set_enable_cubic_idle_restart_fix */
export const quiche_config_set_enable_cubic_idle_restart_fix = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_set_enable_cubic_idle_restart_fix(quiche_config *config, bool v)',
);

/** TODO quiche_config_set_use_initial_max_data_as_flow_control_win */
export const quiche_config_set_use_initial_max_data_as_flow_control_win = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_set_use_initial_max_data_as_flow_control_win(quiche_config *config, bool v)',
);

/** TODO quiche_config_set_max_pacing_rate */
export const quiche_config_set_max_pacing_rate = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_pacing_rate(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_enable_dgram */
export const quiche_config_enable_dgram = bind<(config: QuicheConfig, enabled: boolean, recvQueueLen: number, sendQueueLen: number) => void>(
  'void quiche_config_enable_dgram(quiche_config *config, bool enabled, size_t recv_queue_len, size_t send_queue_len)',
);

/** TODO quiche_config_set_max_connection_window */
export const quiche_config_set_max_connection_window = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_connection_window(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_max_stream_window */
export const quiche_config_set_max_stream_window = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_max_stream_window(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_active_connection_id_limit */
export const quiche_config_set_active_connection_id_limit = bind<(config: QuicheConfig, v: number | bigint) => void>(
  'void quiche_config_set_active_connection_id_limit(quiche_config *config, uint64_t v)',
);

/** TODO quiche_config_set_stateless_reset_token */
export const quiche_config_set_stateless_reset_token = bind<(config: QuicheConfig, v: Uint8Array) => void>(
  'void quiche_config_set_stateless_reset_token(quiche_config *config, const void *v)',
);

/** TODO quiche_config_set_disable_dcid_reuse */
export const quiche_config_set_disable_dcid_reuse = bind<(config: QuicheConfig, v: boolean) => void>(
  'void quiche_config_set_disable_dcid_reuse(quiche_config *config, bool v)',
);

/** TODO quiche_config_set_ticket_key */
export const quiche_config_set_ticket_key = bind<(config: QuicheConfig, key: Uint8Array, keyLen: number) => number>(
  'int quiche_config_set_ticket_key(quiche_config *config, const void *key, size_t key_len)',
);

/** TODO quiche_config_free */
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
