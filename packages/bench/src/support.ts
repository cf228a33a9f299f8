/**
 * Which JS peer runs which scenario, known to both the peers and the
 * orchestrator (which then spawns nothing for an n/a cell).
 *
 * @module
 */
import type { Impl, Scenario } from './protocol.js';

/** Why `impl` cannot run `scenario`, or `null` when it can. */
export function unsupported(impl: Impl, scenario: Scenario, newStream: boolean): string | null {
  switch (impl) {
    case 'dgram':
      if (scenario === 'handshake' || scenario === 'idle') return 'raw UDP has no connections';
      if (scenario === 'rr' && newStream) return 'raw UDP has no streams';
      return null;
    case 'tls':
      if (scenario === 'dgram') return 'TCP has no datagrams';
      if (scenario === 'rr' && newStream) return 'TLS over TCP has no streams';
      return null;
    case 'matrixai':
      return scenario === 'dgram' ? '@matrixai/quic exposes no DATAGRAM API' : null;
    case 'native':
      return scenario === 'idle' ? 'the native harness measures transfers, not idle connections' : null;
    default:
      return null;
  }
}
