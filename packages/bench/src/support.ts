/**
 * Which JS peer runs which scenario, known to both the peers and the
 * orchestrator (which then spawns nothing for an n/a cell).
 *
 * @module
 */
import { familyOf } from './families.js';
import type { Impl, Scenario } from './protocol.js';

/** The options of a case that decide whether an impl can run it. */
export interface CaseTraits {
  /** `rr --new-stream`. */
  newStream?: boolean;
  /** `--no-pacing`: quichex's Config options `pacing: false, ccAlgorithm: 'cubic'`. */
  noPacing?: boolean;
}

/** Why `impl` cannot run `scenario` with these traits, or `null` when it can. */
export function unsupported(impl: Impl, scenario: Scenario, traits: CaseTraits = {}): string | null {
  const { newStream = false, noPacing = false } = traits;
  if (!familyOf(scenario).impls.includes(impl)) {
    return scenario === 'http'
      ? 'an HTTP case: @quichex/h3, node:http2 and node:https only'
      : 'a transport case: the HTTP implementations run only the http scenario';
  }
  if (noPacing && impl !== 'quichex') {
    return impl === 'native'
      ? 'the native harness never paces (it sends as soon as quiche has a packet)'
      : 'a quichex-only case (its Config option pacing: false)';
  }
  switch (impl) {
    case 'dgram':
      if (scenario === 'handshake' || scenario === 'idle' || scenario === 'mixed')
        return 'raw UDP has no connections';
      if (scenario === 'rr' && newStream) return 'raw UDP has no streams';
      return null;
    case 'tls':
      if (scenario === 'dgram') return 'TCP has no datagrams';
      if (scenario === 'rr' && newStream) return 'TLS over TCP has no streams';
      return null;
    case 'matrixai':
      if (scenario === 'mixed')
        return 'not implemented: @matrixai/quic uploads at ~3 MB/s, too little to load the server';
      return scenario === 'dgram' ? '@matrixai/quic exposes no DATAGRAM API' : null;
    case 'native':
      return scenario === 'idle' ? 'the native harness measures transfers, not idle connections' : null;
    default:
      return null;
  }
}
