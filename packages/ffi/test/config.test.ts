/**
 * quiche_config_* setters that report errors, checked against real files
 * and real BoringSSL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeAlpn,
  QUICHE_PROTOCOL_VERSION,
  type QuicheConfig,
  QuicheError,
  quiche_config_free,
  quiche_config_load_cert_chain_from_pem_file,
  quiche_config_load_priv_key_from_pem_file,
  quiche_config_load_verify_locations_from_file,
  quiche_config_new,
  quiche_config_set_application_protos,
  quiche_config_set_cc_algorithm_name,
  quiche_config_set_curves_list,
  quiche_config_set_ticket_key,
} from '../src/index.js';
import { generateTestCerts, type TestCerts } from './support/certs.js';

const { QUICHE_ERR_TLS_FAIL, QUICHE_ERR_CONGESTION_CONTROL } = QuicheError;

let certs: TestCerts;
beforeAll(() => {
  certs = generateTestCerts();
});
afterAll(() => certs?.cleanup());

let config: QuicheConfig | null = null;
afterEach(() => {
  if (config !== null) quiche_config_free(config);
  config = null;
});

function fresh(): QuicheConfig {
  config = quiche_config_new(QUICHE_PROTOCOL_VERSION);
  expect(config).not.toBeNull();
  expect(typeof config).toBe('bigint');
  return config!;
}

describe('quiche_config', () => {
  it('loads a PEM certificate chain, key and CA file', () => {
    const c = fresh();
    expect(quiche_config_load_cert_chain_from_pem_file(c, certs.cert)).toBe(0);
    expect(quiche_config_load_priv_key_from_pem_file(c, certs.key)).toBe(0);
    expect(quiche_config_load_verify_locations_from_file(c, certs.caCert)).toBe(0);
  });

  it('reports TLS_FAIL for missing or non-PEM files', () => {
    const c = fresh();
    expect(quiche_config_load_cert_chain_from_pem_file(c, '/nonexistent/cert.pem')).toBe(QUICHE_ERR_TLS_FAIL);
    expect(quiche_config_load_priv_key_from_pem_file(c, '/nonexistent/key.pem')).toBe(QUICHE_ERR_TLS_FAIL);
    expect(quiche_config_load_verify_locations_from_file(c, '/nonexistent/ca.pem')).toBe(QUICHE_ERR_TLS_FAIL);
    // A certificate is not a private key.
    expect(quiche_config_load_priv_key_from_pem_file(c, certs.cert)).toBe(QUICHE_ERR_TLS_FAIL);
  });

  it('accepts known congestion control names and rejects others', () => {
    const c = fresh();
    for (const name of ['reno', 'cubic', 'bbr2'])
      expect(quiche_config_set_cc_algorithm_name(c, name), name).toBe(0);
    expect(quiche_config_set_cc_algorithm_name(c, 'warp-speed')).toBe(QUICHE_ERR_CONGESTION_CONTROL);
  });

  it('accepts known curve lists and rejects unknown curves', () => {
    const c = fresh();
    expect(quiche_config_set_curves_list(c, 'X25519:P-256')).toBe(0);
    expect(quiche_config_set_curves_list(c, 'no-such-curve')).toBe(QUICHE_ERR_TLS_FAIL);
  });

  it('accepts a 48-byte ticket key and rejects other lengths', () => {
    const c = fresh();
    const key = new Uint8Array(48).fill(3);
    expect(quiche_config_set_ticket_key(c, key, key.length)).toBe(0);
    expect(quiche_config_set_ticket_key(c, key, 5)).toBe(QUICHE_ERR_TLS_FAIL);
  });

  it('takes ALPN in wire format', () => {
    const c = fresh();
    const alpn = encodeAlpn(['h3', 'hq-interop']);
    expect(Array.from(alpn.subarray(0, 3))).toEqual([2, 0x68, 0x33]);
    expect(quiche_config_set_application_protos(c, alpn, alpn.length)).toBe(0);
  });
});
