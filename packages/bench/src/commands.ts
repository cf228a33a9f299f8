/**
 * Command lines of the peers: `node dist/peer.js <impl> ...` for the JS
 * implementations, and the native harness's own shape
 * (`quiche-bench <role> --scenario S ...`).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Impl, Scenario } from './protocol.js';

/** packages/bench */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root. */
export const REPO_ROOT = path.resolve(PACKAGE_DIR, '..', '..');
export const PEER_JS = path.join(PACKAGE_DIR, 'dist', 'peer.js');
/** The native harness (`QUICHEX_BENCH_NATIVE` overrides the path). */
export const NATIVE_BIN =
  process.env.QUICHEX_BENCH_NATIVE || path.join(PACKAGE_DIR, 'native', 'bin', 'quiche-bench');
export const NATIVE_MISSING = 'not built (run scripts/build-bench-native.sh)';

export interface Certs {
  cert: string;
  key: string;
}

export function nativeBuilt(): boolean {
  return existsSync(NATIVE_BIN);
}

/** The command line of one peer. */
export function peerCommand(
  impl: Impl,
  role: 'server' | 'client',
  scenario: Scenario,
  flags: string[],
  certs: Certs,
): string[] {
  const serverFlags = role === 'server' ? ['--cert', certs.cert, '--key', certs.key] : [];
  if (impl === 'native') return [NATIVE_BIN, role, '--scenario', scenario, ...flags, ...serverFlags];
  // --expose-gc: servers collect garbage before reporting their heap.
  return [process.execPath, '--expose-gc', PEER_JS, impl, role, scenario, ...flags, ...serverFlags];
}
