/**
 * What the interop runner runs: the peers (how to start each role, whether
 * it is installed) and the cases (files, flags, network impairments through
 * the relay, and the checks beyond the files' SHA-256).
 *
 * @module
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RelayCounters, RelayOptions } from './relay.js';
import { type ClientFlags, contractSide, ngtcp2Side, quichexH3Side, type Side } from './sides.js';

/** The repository root: the nearest directory above this file with the monorepo's package.json (works from dist/ too). */
function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && readFileSync(pkg, 'utf8').includes('"quichex-monorepo"')) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the quichex repository root');
    dir = up;
  }
}

export const REPO_ROOT = findRepoRoot();
const PEERS_DIR = path.join(REPO_ROOT, 'test/interop/peers');
const KiB = 1024;
const MiB = 1024 * KiB;

/** The quichex cache dir the installers use. */
export function cacheDir(): string {
  return process.env.QUICHEX_CACHE ?? path.join(homedir(), '.cache', 'quichex');
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** quichex's role in a cell: `client` = quichex client → peer server. */
export type Role = 'client' | 'server';

/** One implementation the matrix runs against. */
export interface PeerDef {
  readonly name: string;
  /** Which quichex driver talks to it: hq-interop, or HTTP/3 for h3-only peers. */
  readonly protocol: 'hq' | 'h3';
  /** How to start it. */
  readonly side: Side;
}

const node = process.execPath;
const quichexDist = path.join(REPO_ROOT, 'packages/quichex/dist/index.js');

function quichexUnavailable(script: string): () => string | null {
  return () => {
    if (!existsSync(script)) return `missing ${path.relative(REPO_ROOT, script)}`;
    if (!existsSync(quichexDist)) return 'quichex is not built: run `npm run build`';
    return null;
  };
}

const QUICHEX_HQ = path.join(PEERS_DIR, 'quichex', 'driver.mjs');
const QUICHEX_H3 = path.join(PEERS_DIR, 'quichex', 'h3.mjs');
const quichexHq = contractSide('quichex', (role) => [node, QUICHEX_HQ, role], quichexUnavailable(QUICHEX_HQ));
const quichexH3 = quichexH3Side(QUICHEX_H3, quichexUnavailable(QUICHEX_H3));

/** quichex's own side, for a peer speaking `protocol`. */
export function quichexSide(protocol: 'hq' | 'h3'): Side {
  return protocol === 'hq' ? quichexHq : quichexH3;
}

const INSTALL = 'run `bash scripts/install-interop-peers.sh`';

function binary(file: string, how: string): () => string | null {
  return () => (executable(file) ? null : `no ${file}: ${INSTALL} (${how})`);
}

export const PEERS: readonly PeerDef[] = [
  { name: 'quichex', protocol: 'hq', side: quichexHq },
  {
    name: 'aioquic',
    protocol: 'hq',
    side: contractSide(
      'aioquic',
      (role) => [aioquicPython(), path.join(PEERS_DIR, 'aioquic_peer.py'), `interop-${role}`],
      () => (existsSync(aioquicPython()) ? null : `no python with aioquic at ${aioquicPython()}: ${INSTALL}`),
    ),
  },
  {
    name: 'quic-go',
    protocol: 'hq',
    side: contractSide(
      'quic-go',
      (role) => [path.join(cacheDir(), 'bin', 'quicgo-peer'), role],
      binary(path.join(cacheDir(), 'bin', 'quicgo-peer'), 'builds test/interop/peers/quic-go with Go'),
    ),
  },
  {
    name: 'quinn',
    protocol: 'hq',
    side: contractSide(
      'quinn',
      (role) => [path.join(cacheDir(), 'bin', 'quinn-peer'), role],
      binary(path.join(cacheDir(), 'bin', 'quinn-peer'), 'builds test/interop/peers/quinn with cargo'),
    ),
  },
  { name: 'ngtcp2', protocol: 'h3', side: ngtcp2Side(path.join(PEERS_DIR, 'ngtcp2.mjs')) },
];

/** The python the aioquic driver runs with. */
export function aioquicPython(): string {
  return process.env.QUICHEX_AIOQUIC_PYTHON ?? path.join(cacheDir(), 'venv-aioquic', 'bin', 'python');
}

// -- cases ------------------------------------------------------------------------

/** What a cell produced, for a case's own check. */
export interface Outcome {
  /** The client's stdout lines. */
  client: string[];
  /** The server's stdout lines. */
  server: string[];
  relay: RelayCounters | null;
  /** Which side quichex was. */
  role: Role;
}

/** A check's verdict; `null` from a check means pass. */
export interface Verdict {
  status: 'fail' | 'unsupported';
  reason: string;
}

export interface CaseDef {
  readonly name: string;
  /** One line for INTEROP.md. */
  readonly description: string;
  /** Sizes of the files to serve; the client fetches all of them. */
  readonly files?: readonly number[];
  /** Client options of the driver contract. */
  readonly client?: ClientFlags;
  /** The server requires a Retry round-trip. */
  readonly retry?: boolean;
  /** One side offers or accepts ChaCha20-Poly1305 only (quichex cannot restrict itself). */
  readonly chacha20?: boolean;
  /** Address family of the run (default 127.0.0.1). */
  readonly host?: '127.0.0.1' | '::1';
  /** Put the relay in front of the server with these options. */
  readonly relay?: Omit<RelayOptions, 'server'>;
  /** Serve a certificate chain large enough that the server's first flight exceeds 3× the client's. */
  readonly bigCert?: boolean;
  /** Client timeout (default 60 s). */
  readonly timeoutMs?: number;
  /** The case's own verdict (files were already verified). */
  readonly check?: (o: Outcome) => Verdict | null;
  /** Never run: why quichex cannot take part. */
  readonly unsupported?: string;
  /** Runs in-process instead of through the drivers (datagram). */
  readonly special?: 'datagram';
  /** Only against these peers. */
  readonly peers?: readonly string[];
}

/** The last stdout line starting with `key ` (its rest), or null. */
export function lineValue(lines: readonly string[], key: string): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line === key) return '';
    if (line.startsWith(`${key} `)) return line.slice(key.length + 1).trim();
  }
  return null;
}

/** A check for a `KEY value` result line: `want` passes, `unsupported…` is unsupported. */
function expectLine(key: string, ...want: string[]): (o: Outcome) => Verdict | null {
  return (o) => {
    const v = lineValue(o.client, key);
    if (v === null) return { status: 'fail', reason: `the client printed no ${key} line` };
    if (want.includes(v.split(/\s+/)[0]!)) return null;
    if (/^unsupported\b/i.test(v)) return { status: 'unsupported', reason: `client: ${key} ${v}` };
    return { status: 'fail', reason: `client: ${key} ${v} (expected ${want.join(' or ')})` };
  };
}

/** Rate of the relay's bottleneck for cases that need a transfer of predictable length. */
const PACED_RATE = 2 * MiB;
/** A paced transfer: 4 MiB at 2 MiB/s takes about 2 s. */
const PACED_FILES = [4 * MiB];
const PACED_MS = (4 * MiB * 1000) / PACED_RATE;
const paced = { rateBytesPerSec: PACED_RATE, maxQueueBytes: 256 * KiB };

const SMALL = [1 * KiB];

export const CASES: readonly CaseDef[] = [
  {
    name: 'handshake',
    description: 'one small file over a fresh connection',
    files: [4 * KiB],
  },
  {
    name: 'transfer',
    description:
      'several files (1 KiB … 3 MiB, 6 MiB in all) concurrently on one connection, default windows',
    files: [1 * KiB, 512 * KiB, 2 * MiB, 3 * MiB, 64 * KiB],
  },
  {
    name: 'multiplexing',
    description: '2000 tiny files, one stream each (more than the server allows at once)',
    files: Array.from({ length: 2000 }, (_, i) => 32 + ((i * 37) % 480)),
    client: { maxStreamsWait: true },
    timeoutMs: 90_000,
  },
  {
    name: 'retry',
    description: 'the server sends a Retry; the relay sees it on the wire',
    files: [4 * KiB],
    retry: true,
    relay: {},
    check: (o) =>
      o.relay && o.relay.retries > 0 ? null : { status: 'fail', reason: 'no Retry packet seen' },
  },
  {
    name: 'resumption',
    description: 'a second connection resumes the first one’s TLS session (RESUMED true)',
    files: [4 * KiB, 16 * KiB, 32 * KiB],
    client: { resume: true },
    check: expectLine('RESUMED', 'true'),
  },
  {
    name: 'zerortt',
    description: 'the second connection sends its requests as 0-RTT data (ZERO_RTT accepted)',
    files: [4 * KiB, 16 * KiB, 32 * KiB],
    client: { zeroRtt: true },
    check: expectLine('ZERO_RTT', 'accepted'),
  },
  {
    name: 'transferloss',
    description: '2 % random loss each way during a 2 MiB transfer',
    files: [1 * MiB, 1 * MiB],
    relay: { toServer: { loss: 0.02 }, toClient: { loss: 0.02 } },
    check: (o) =>
      o.relay && o.relay.toClient.droppedLoss > 0
        ? null
        : { status: 'fail', reason: 'the relay dropped nothing' },
  },
  {
    name: 'handshakeloss',
    description: '30 % loss each way, a 1 KiB file',
    files: SMALL,
    relay: { toServer: { loss: 0.3 }, toClient: { loss: 0.3 } },
    timeoutMs: 60_000,
  },
  {
    name: 'blackhole',
    description: 'everything dropped for 2 s in the middle of a paced 4 MiB transfer',
    files: PACED_FILES,
    relay: {
      toServer: { blackhole: [[PACED_MS * 0.3, PACED_MS * 0.3 + 2000]] },
      toClient: { ...paced, blackhole: [[PACED_MS * 0.3, PACED_MS * 0.3 + 2000]] },
    },
    timeoutMs: 60_000,
    check: (o) =>
      o.relay && o.relay.dropped > 0 ? null : { status: 'fail', reason: 'the blackhole dropped nothing' },
  },
  {
    name: 'longrtt',
    description: '375 ms each way (750 ms RTT), 1 MiB',
    files: [512 * KiB, 512 * KiB],
    relay: { toServer: { delayMs: 375 }, toClient: { delayMs: 375 } },
    timeoutMs: 120_000,
  },
  {
    name: 'handshakecorruption',
    description: '30 % of datagrams get a flipped byte each way, a 1 KiB file',
    files: SMALL,
    relay: { toServer: { corrupt: 0.3 }, toClient: { corrupt: 0.3 } },
  },
  {
    name: 'transfercorruption',
    description: '3 % of datagrams get a flipped byte each way during a 2 MiB transfer',
    files: [1 * MiB, 1 * MiB],
    relay: { toServer: { corrupt: 0.03 }, toClient: { corrupt: 0.03 } },
  },
  {
    name: 'ipv6',
    description: 'a transfer over ::1',
    files: [4 * KiB, 1 * MiB],
    host: '::1',
  },
  {
    name: 'rebind-port',
    description: 'NAT rebinding: the client’s source port changes at 30 % and 60 % of a paced transfer',
    files: PACED_FILES,
    relay: { toClient: paced, rebindPortAt: [PACED_MS * 0.3, PACED_MS * 0.6] },
    timeoutMs: 20_000,
    check: (o) =>
      o.relay && o.relay.rebinds >= 2 ? null : { status: 'fail', reason: 'the relay did not rebind twice' },
  },
  {
    name: 'rebind-addr',
    description: 'NAT rebinding to a new source address (127.0.0.2, .3) at 30 % and 60 % of a paced transfer',
    files: PACED_FILES,
    relay: { toClient: paced, rebindAddrAt: [PACED_MS * 0.3, PACED_MS * 0.6] },
    timeoutMs: 20_000,
    check: (o) =>
      o.relay && o.relay.rebinds >= 2 ? null : { status: 'fail', reason: 'the relay did not rebind twice' },
  },
  {
    name: 'connectionmigration',
    description: 'the client moves to a new local port mid-transfer (active migration, MIGRATED true)',
    files: PACED_FILES,
    client: { migrate: true },
    relay: { toClient: paced },
    check: expectLine('MIGRATED', 'true'),
  },
  {
    name: 'keyupdate',
    description: 'the client initiates a key update mid-transfer (KEY_UPDATE initiated)',
    files: [2 * MiB, 2 * MiB],
    client: { keyUpdate: true },
    // The contract names only the failure line; drivers say `initiated` or `true`.
    check: expectLine('KEY_UPDATE', 'initiated', 'true'),
  },
  {
    name: 'amplificationlimit',
    description:
      'with a ~9 KB certificate chain, the server sends at most 3× what it received before the client’s first Handshake packet',
    files: SMALL,
    bigCert: true,
    relay: {},
    check: (o) => {
      const sample = o.relay?.amplification[0];
      if (!sample?.validated) return { status: 'fail', reason: 'no client Handshake packet seen' };
      const ratio = sample.serverBytes / sample.clientBytes;
      const detail = `server sent ${sample.serverBytes} B for ${sample.clientBytes} B (${ratio.toFixed(2)}×) before validation`;
      if (ratio > 3) return { status: 'fail', reason: detail };
      return null;
    },
  },
  {
    name: 'chacha20',
    description: 'the peer offers (as client) or accepts (as server) only TLS_CHACHA20_POLY1305_SHA256',
    files: [4 * KiB, 1 * MiB],
    chacha20: true,
  },
  {
    name: 'ecn',
    description: 'ECN marks on the wire',
    unsupported: 'node:dgram can neither set nor read ECN bits',
  },
  {
    name: 'v2',
    description: 'QUIC version 2 (RFC 9369)',
    unsupported: 'quiche has no QUIC v2',
  },
  {
    name: 'datagram',
    description: 'DATAGRAM frames (RFC 9221) echoed both ways (aioquic’s echo peer; not part of hq-interop)',
    special: 'datagram',
    peers: ['aioquic'],
  },
];

/** The cases `npm run interop` runs without `--full`. */
export const CI_CASES: readonly string[] = [
  'handshake',
  'transfer',
  'multiplexing',
  'retry',
  'resumption',
  'zerortt',
  'transferloss',
  'rebind-port',
  'datagram',
];

/** A failure that is understood and not quichex's to fix: reported as FAIL*, not counted in the exit code. */
export interface KnownIssue {
  case: string;
  /** Only when this side is the server / client (by side name). */
  server?: string;
  client?: string;
  reason: string;
}

const OLD_PATH_STALL =
  'what a quiche 0.30 server had sent to the old port before a NAT rebinding is sometimes never ' +
  'retransmitted, so the transfer waits for the idle timeout (intermittent, about 1 run in 10-30). ' +
  '(quiche also keeps at most active_connection_id_limit paths and never frees the one a rebinding ' +
  'leaves behind; quichex now defaults that limit to 8, which removed the other, systematic stall.)';

export const KNOWN_ISSUES: readonly KnownIssue[] = [
  { case: 'rebind-port', server: 'quichex', reason: OLD_PATH_STALL },
  { case: 'rebind-addr', server: 'quichex', reason: OLD_PATH_STALL },
];
