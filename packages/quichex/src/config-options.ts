/**
 * The options object of `Config`: its shape, its names, and how it maps
 * onto the setters.
 *
 * @module
 */
import type { Config } from './config.js';
import type { CheckServerIdentity } from './peer-auth.js';
import { describe } from './validate.js';

/** Congestion control algorithms quiche implements. */
export type CcAlgorithm = 'reno' | 'cubic' | 'bbr2';

/** PEM material given in memory. */
export type Pem = string | Uint8Array;

/** The certificate chain and key presented for one server name (see {@link ConfigOptions.sni}). */
export interface ServerNameIdentity {
  /** Certificate chain, leaf first, as PEM. */
  cert: Pem;
  /** Private key as PEM. */
  key: Pem;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string | Uint8Array;
}

/**
 * Every option of {@link Config}. Each maps to one setter; units are
 * milliseconds for times and bytes for sizes. quichex's defaults (which
 * differ from quiche's all-zero flow control) are listed per option.
 */
export interface ConfigOptions {
  /** QUIC version to use (default: QUIC v1, `QUICHE_PROTOCOL_VERSION`). */
  version?: number;
  /** ALPN protocol names, in preference order. Required to connect or listen. */
  alpn?: readonly string[];
  /** Idle timeout in ms; 0 disables it (default 30 000). */
  maxIdleTimeout?: number;
  /** Largest UDP payload accepted, 1200..65527 (default 65527). */
  maxRecvUdpPayloadSize?: number;
  /** Largest UDP payload sent, 1200..65527 (default 1350). */
  maxSendUdpPayloadSize?: number;
  /** Connection-level flow control window in bytes (default 10 MiB). */
  initialMaxData?: number | bigint;
  /** Per-stream window for locally opened bidi streams (default 1 MiB). */
  initialMaxStreamDataBidiLocal?: number | bigint;
  /** Per-stream window for peer-opened bidi streams (default 1 MiB). */
  initialMaxStreamDataBidiRemote?: number | bigint;
  /** Per-stream window for peer-opened uni streams (default 1 MiB). */
  initialMaxStreamDataUni?: number | bigint;
  /** Bidi streams the peer may open (default 100). */
  initialMaxStreamsBidi?: number | bigint;
  /** Uni streams the peer may open (default 100). */
  initialMaxStreamsUni?: number | bigint;
  /** ACK delay exponent, 0..20 (quiche default 3). */
  ackDelayExponent?: number;
  /** Max ACK delay in ms, 0..16383 (quiche default 25). */
  maxAckDelay?: number;
  /** Forbid the peer from migrating (default false). */
  disableActiveMigration?: boolean;
  /**
   * Congestion control (default: `'bbr2'` for clients, the one quiche paces
   * with; `'cubic'` for servers, see `Config.ccAlgorithmFor`).
   */
  ccAlgorithm?: CcAlgorithm;
  /** Initial congestion window in packets, 1..1000 (quiche default 10). */
  initialCongestionWindowPackets?: number;
  /** HyStart++ slow-start exit (quiche default true). */
  hystart?: boolean;
  /** Packet pacing (quiche default true). */
  pacing?: boolean;
  /** Pacing rate cap in bytes/s, at least 125 000 (default unlimited; rounded up to whole Mbit/s). */
  maxPacingRate?: number | bigint;
  /** Cubic's idle-restart fix (quiche default true). */
  cubicIdleRestartFix?: boolean;
  /** DATAGRAM frames: `true`, or queue lengths (default off; queues 1000). */
  dgram?: boolean | DgramQueues;
  /** Cap on the auto-tuned connection window (bytes). */
  maxConnectionWindow?: number | bigint;
  /** Cap on the auto-tuned stream window (bytes). */
  maxStreamWindow?: number | bigint;
  /** Connection IDs we accept from the peer, 2..1000 (default 8; it also bounds the paths quiche keeps). */
  activeConnectionIdLimit?: number;
  /** 16-byte stateless reset token. */
  statelessResetToken?: Uint8Array;
  /** Never reuse a destination CID on a new path. */
  disableDcidReuse?: boolean;
  /** Session ticket key (48 bytes for BoringSSL), to share resumption across servers. */
  ticketKey?: Uint8Array;
  /** TLS key-exchange groups, e.g. `"X25519:P-256"`. */
  curvesList?: string;
  /**
   * Older name of `rejectUnauthorized`; on a server, `true` also sets
   * `requestCert` unless that is given.
   */
  verifyPeer?: boolean;
  /**
   * Fail a connection whose peer's certificate does not verify (default
   * `true`, as node:tls). Clients always check the server's chain and name;
   * servers check a client's certificate when `requestCert` asked for one.
   * With `false` the connection goes on, and `conn.info().authorized` and
   * `authorizationError` say what was wrong.
   */
  rejectUnauthorized?: boolean;
  /**
   * (Servers) Ask clients for a certificate (default `false`). With
   * `rejectUnauthorized` (the default) a client that sends none, or one
   * that does not verify against `ca`, fails its handshake.
   */
  requestCert?: boolean;
  /**
   * (Clients) Checks that the server's certificate is for the name
   * connected to (`serverName`, else `host`), after its chain verified:
   * return an Error to reject it (it becomes the `cause` of the failure).
   * Default: node:tls's `checkServerIdentity`.
   */
  checkServerIdentity?: CheckServerIdentity;
  /** Send GREASE values (quiche default true). */
  grease?: boolean;
  /** Path-MTU discovery (default false). */
  discoverPmtu?: boolean;
  /** PMTU probes per size before giving up, 1..255. */
  pmtudMaxProbes?: number;
  /** Write TLS secrets to the keylog (see `SSLKEYLOGFILE`). */
  logKeys?: boolean;
  /** Allow 0-RTT early data. */
  earlyData?: boolean;
  /** Anti-amplification factor for unvalidated peers, 1..255 (quiche default 3). */
  maxAmplificationFactor?: number;
  /** Certificate chain: a PEM file path (leaf first, then intermediates). */
  certChainFile?: string;
  /** Private key: a PEM file path. */
  privKeyFile?: string;
  /** Trusted CAs: a PEM file path (replaces Node's default trust, as `ca` does). */
  caFile?: string;
  /** Trusted CAs: every PEM file of a directory. */
  caDirectory?: string;
  /** Certificate chain as PEM text or bytes: the leaf, then the intermediates to send. */
  cert?: Pem;
  /** Private key as PEM text or bytes, loaded in memory (it never touches the disk). */
  key?: Pem;
  /** Passphrase of an encrypted `key`/`privKeyFile`. */
  passphrase?: string | Uint8Array;
  /**
   * Trusted CAs as PEM text or bytes, or a list of them. Given (or
   * `caFile`/`caDirectory`), they replace the default trust: Node's root
   * certificates plus `NODE_EXTRA_CA_CERTS`, as in node:tls.
   */
  ca?: Pem | readonly Pem[];
  /**
   * (Servers) A certificate and key per server name, chosen by the
   * client's SNI: `{ 'example.com': { cert, key }, '*.example.net': … }`.
   * An exact name wins over a wildcard (one label); other names get the
   * top-level `cert`/`key`, or fail the handshake without them.
   */
  sni?: Readonly<Record<string, ServerNameIdentity>>;
}

/** Queue lengths of the DATAGRAM extension. */
export interface DgramQueues {
  /** Received datagrams kept until read (1..1 000 000, default 1000); beyond it the oldest are dropped. */
  recvQueueLen?: number;
  /** Datagrams waiting to be sent (1..1 000 000, default 1000); beyond it `sendDatagram` throws. */
  sendQueueLen?: number;
}

/** The DATAGRAM settings of a {@link Config}. */
export interface DgramSettings {
  /** Whether DATAGRAM frames are enabled. */
  enabled: boolean;
  /** See {@link DgramQueues.recvQueueLen}. */
  recvQueueLen: number;
  /** See {@link DgramQueues.sendQueueLen}. */
  sendQueueLen: number;
}

export const OPTION_NAMES: readonly (keyof ConfigOptions)[] = [
  'version',
  'alpn',
  'maxIdleTimeout',
  'maxRecvUdpPayloadSize',
  'maxSendUdpPayloadSize',
  'initialMaxData',
  'initialMaxStreamDataBidiLocal',
  'initialMaxStreamDataBidiRemote',
  'initialMaxStreamDataUni',
  'initialMaxStreamsBidi',
  'initialMaxStreamsUni',
  'ackDelayExponent',
  'maxAckDelay',
  'disableActiveMigration',
  'ccAlgorithm',
  'initialCongestionWindowPackets',
  'hystart',
  'pacing',
  'maxPacingRate',
  'cubicIdleRestartFix',
  'dgram',
  'maxConnectionWindow',
  'maxStreamWindow',
  'activeConnectionIdLimit',
  'statelessResetToken',
  'disableDcidReuse',
  'ticketKey',
  'curvesList',
  'verifyPeer',
  'rejectUnauthorized',
  'requestCert',
  'checkServerIdentity',
  'grease',
  'discoverPmtu',
  'pmtudMaxProbes',
  'logKeys',
  'earlyData',
  'maxAmplificationFactor',
  'certChainFile',
  'privKeyFile',
  'caFile',
  'caDirectory',
  'cert',
  'key',
  'passphrase',
  'ca',
  'sni',
];

/** Applies every option through its setter, after rejecting unknown ones by name. */
export function applyOptions(config: Config, o: ConfigOptions): void {
  const known = new Set<string>(OPTION_NAMES);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new TypeError(`unknown Config option ${JSON.stringify(k)}`);
  }
  if (o.alpn !== undefined) config.setApplicationProtos(o.alpn);
  if (o.maxIdleTimeout !== undefined) config.setMaxIdleTimeout(o.maxIdleTimeout);
  if (o.maxRecvUdpPayloadSize !== undefined) config.setMaxRecvUdpPayloadSize(o.maxRecvUdpPayloadSize);
  if (o.maxSendUdpPayloadSize !== undefined) config.setMaxSendUdpPayloadSize(o.maxSendUdpPayloadSize);
  if (o.initialMaxData !== undefined) config.setInitialMaxData(o.initialMaxData);
  if (o.initialMaxStreamDataBidiLocal !== undefined)
    config.setInitialMaxStreamDataBidiLocal(o.initialMaxStreamDataBidiLocal);
  if (o.initialMaxStreamDataBidiRemote !== undefined)
    config.setInitialMaxStreamDataBidiRemote(o.initialMaxStreamDataBidiRemote);
  if (o.initialMaxStreamDataUni !== undefined) config.setInitialMaxStreamDataUni(o.initialMaxStreamDataUni);
  if (o.initialMaxStreamsBidi !== undefined) config.setInitialMaxStreamsBidi(o.initialMaxStreamsBidi);
  if (o.initialMaxStreamsUni !== undefined) config.setInitialMaxStreamsUni(o.initialMaxStreamsUni);
  if (o.ackDelayExponent !== undefined) config.setAckDelayExponent(o.ackDelayExponent);
  if (o.maxAckDelay !== undefined) config.setMaxAckDelay(o.maxAckDelay);
  if (o.disableActiveMigration !== undefined) config.setDisableActiveMigration(o.disableActiveMigration);
  if (o.ccAlgorithm !== undefined) config.setCcAlgorithm(o.ccAlgorithm);
  if (o.initialCongestionWindowPackets !== undefined)
    config.setInitialCongestionWindowPackets(o.initialCongestionWindowPackets);
  if (o.hystart !== undefined) config.enableHystart(o.hystart);
  if (o.pacing !== undefined) config.enablePacing(o.pacing);
  if (o.maxPacingRate !== undefined) config.setMaxPacingRate(o.maxPacingRate);
  if (o.cubicIdleRestartFix !== undefined) config.setEnableCubicIdleRestartFix(o.cubicIdleRestartFix);
  if (o.dgram !== undefined) {
    if (typeof o.dgram === 'boolean') config.enableDgram(o.dgram);
    else if (o.dgram !== null && typeof o.dgram === 'object') config.enableDgram(true, o.dgram);
    else
      throw new TypeError(
        `dgram must be a boolean or { recvQueueLen, sendQueueLen }, got ${describe(o.dgram)}`,
      );
  }
  if (o.maxConnectionWindow !== undefined) config.setMaxConnectionWindow(o.maxConnectionWindow);
  if (o.maxStreamWindow !== undefined) config.setMaxStreamWindow(o.maxStreamWindow);
  if (o.activeConnectionIdLimit !== undefined) config.setActiveConnectionIdLimit(o.activeConnectionIdLimit);
  if (o.statelessResetToken !== undefined) config.setStatelessResetToken(o.statelessResetToken);
  if (o.disableDcidReuse !== undefined) config.setDisableDcidReuse(o.disableDcidReuse);
  if (o.ticketKey !== undefined) config.setTicketKey(o.ticketKey);
  if (o.curvesList !== undefined) config.setCurvesList(o.curvesList);
  if (o.verifyPeer !== undefined) config.verifyPeer(o.verifyPeer);
  if (o.rejectUnauthorized !== undefined) config.setRejectUnauthorized(o.rejectUnauthorized);
  if (o.requestCert !== undefined) config.setRequestCert(o.requestCert);
  if (o.checkServerIdentity !== undefined) config.setCheckServerIdentity(o.checkServerIdentity);
  if (o.grease !== undefined) config.grease(o.grease);
  if (o.discoverPmtu !== undefined) config.discoverPmtu(o.discoverPmtu);
  if (o.pmtudMaxProbes !== undefined) config.setPmtudMaxProbes(o.pmtudMaxProbes);
  if (o.logKeys) config.logKeys();
  if (o.earlyData) config.enableEarlyData();
  if (o.maxAmplificationFactor !== undefined) config.setMaxAmplificationFactor(o.maxAmplificationFactor);
  if (o.passphrase !== undefined) config.setPassphrase(o.passphrase);
  if (o.certChainFile !== undefined) config.loadCertChainFromPemFile(o.certChainFile);
  if (o.privKeyFile !== undefined) config.loadPrivKeyFromPemFile(o.privKeyFile);
  if (o.caFile !== undefined) config.loadVerifyLocationsFromFile(o.caFile);
  if (o.caDirectory !== undefined) config.loadVerifyLocationsFromDirectory(o.caDirectory);
  if (o.cert !== undefined) config.loadCertChainFromPem(o.cert);
  if (o.key !== undefined) config.loadPrivKeyFromPem(o.key);
  if (o.ca !== undefined) config.loadVerifyLocationsFromPem(o.ca);
  if (o.sni !== undefined) {
    if (o.sni === null || typeof o.sni !== 'object')
      throw new TypeError(`sni must be an object of { cert, key } by server name, got ${describe(o.sni)}`);
    for (const [name, identity] of Object.entries(o.sni)) config.addServerName(name, identity);
  }
}
