/**
 * `Config`: a quiche transport configuration, built from an options object
 * and/or chainable setters (one per `quiche_config_*` setter).
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import * as q from '@quichex/ffi';
import {
  applyOptions,
  type CcAlgorithm,
  type ConfigOptions,
  type DgramQueues,
  type DgramSettings,
  type Pem,
  type ServerNameIdentity,
} from './config-options.js';
import { QuicError } from './errors.js';
import type { Authorizer, CheckServerIdentity } from './peer-auth.js';
import { passphraseBytes, pemBytes, pemList, readPemDirectory, readPemFile } from './pem.js';
import { track } from './resources.js';
import { TlsContext } from './tls-context.js';
import { checkBool, checkInt, checkString, describe } from './validate.js';

export type {
  CcAlgorithm,
  ConfigOptions,
  DgramQueues,
  DgramSettings,
  Pem,
  ServerNameIdentity,
} from './config-options.js';
export type { CheckServerIdentity } from './peer-auth.js';

/** Symbol through which the engine reaches a Config's native handle. */
export const kHandle: unique symbol = Symbol('quichex.config.handle');

const registry = new FinalizationRegistry<{ config: q.QuicheConfig; tls: TlsContext }>((held) => {
  q.quiche_config_free(held.config);
  held.tls.free();
  track('configs', -1);
});

const U62 = (1n << 62n) - 1n;

/**
 * A QUIC transport configuration. One `Config` can serve any number of
 * connections; quiche copies what it needs when a connection is created.
 *
 * @example
 * ```ts
 * const server = new Config({ alpn: ['echo'], cert: certPem, key: keyPem })
 *   .setInitialMaxStreamsBidi(1000)
 *   .setCcAlgorithm('bbr2');
 * const client = new Config({ alpn: ['echo'], ca: caPem });
 * ```
 */
export class Config {
  #handle: q.QuicheConfig | null;
  readonly #tls: TlsContext;
  /** The halves of this side's identity, until both are given. */
  #certPem: Uint8Array | null = null;
  #keyPem: Uint8Array | null = null;
  #passphrase: Uint8Array | null = null;
  #alpn: readonly string[] = [];
  #dgram = { enabled: false, recvQueueLen: 1000, sendQueueLen: 1000 };
  #maxSendUdpPayloadSize = 1350;
  #maxIdleTimeout = 30_000;
  #earlyData = false;
  #logKeys = false;
  /** Set by the user, or `null`: then chosen per role when a connection is created. */
  #ccAlgorithm: CcAlgorithm | null = null;
  /** The role quiche's congestion control was last set for (when the user chose none). */
  #ccRole: 'client' | 'server' | null = null;
  #pacing = true;

  /**
   * Creates a configuration; every option is validated before anything is
   * set (TypeError/RangeError naming the option).
   */
  constructor(options: ConfigOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    const version =
      options.version === undefined
        ? q.QUICHE_PROTOCOL_VERSION
        : (checkInt('version', options.version, 0, 0xffffffff) as number);
    // quiche's config on a TLS context our glue keeps a handle to.
    this.#tls = new TlsContext(version);
    this.#handle = this.#tls.config;
    track('configs', 1);
    registry.register(this, { config: this.#handle, tls: this.#tls }, this);
    try {
      // quiche's own defaults leave flow control at zero; these make a
      // fresh Config usable for real transfers.
      this.setMaxIdleTimeout(30_000)
        .setMaxSendUdpPayloadSize(1350)
        .setInitialMaxData(10 * 1024 * 1024)
        .setInitialMaxStreamDataBidiLocal(1024 * 1024)
        .setInitialMaxStreamDataBidiRemote(1024 * 1024)
        .setInitialMaxStreamDataUni(1024 * 1024)
        .setInitialMaxStreamsBidi(100)
        .setInitialMaxStreamsUni(100)
        // quiche keeps at most this many paths and never frees the one a NAT
        // rebinding leaves behind: with quiche's default of 2, a second
        // rebinding is silently dropped. 8 leaves room for several.
        .setActiveConnectionIdLimit(8);
      applyOptions(this, options);
    } catch (err) {
      this.free();
      throw err;
    }
  }

  get #h(): q.QuicheConfig {
    if (this.#handle === null) throw new QuicError('ERR_QUIC_DESTROYED', 'this Config has been freed');
    return this.#handle;
  }

  /** The TLS context, once checked that this Config was not freed. */
  get #live(): TlsContext {
    if (this.#handle === null) throw new QuicError('ERR_QUIC_DESTROYED', 'this Config has been freed');
    return this.#tls;
  }

  /** @internal The native handle, for the engine. */
  get [kHandle](): q.QuicheConfig {
    return this.#h;
  }

  /**
   * The congestion control connections of `role` use: the one set with
   * `ccAlgorithm`, else `'bbr2'` for clients and `'cubic'` for servers.
   * quiche 0.30 paces only under bbr2, and bbr2 keeps socket buffers from
   * overflowing; but a quiche 0.30 server under bbr2 often never resends
   * what was in flight when a client's address changed (a NAT rebinding),
   * and the transfer stalls until the idle timeout, which cubic avoids.
   * See the performance guide.
   *
   * @example
   * ```ts
   * const config = new Config({ alpn: ['echo'] });
   * config.ccAlgorithmFor('client'); // 'bbr2'
   * config.ccAlgorithmFor('server'); // 'cubic'
   * config.pacedFor('client'); // true
   * ```
   */
  ccAlgorithmFor(role: 'client' | 'server'): CcAlgorithm {
    return this.#ccAlgorithm ?? (role === 'server' ? 'cubic' : 'bbr2');
  }

  /** Whether connections of `role` pace their packets (`pacing` on and bbr2; see {@link Config.ccAlgorithmFor}). */
  pacedFor(role: 'client' | 'server'): boolean {
    return this.#pacing && this.ccAlgorithmFor(role) === 'bbr2';
  }

  /** ALPN protocols set on this config. */
  get alpn(): readonly string[] {
    return this.#alpn;
  }

  /** Whether DATAGRAM frames are enabled, with the queue lengths. */
  get dgram(): Readonly<DgramSettings> {
    return this.#dgram;
  }

  /** Largest UDP payload this side sends. */
  get maxSendUdpPayloadSize(): number {
    return this.#maxSendUdpPayloadSize;
  }

  /** Idle timeout in ms (0: none). */
  get maxIdleTimeout(): number {
    return this.#maxIdleTimeout;
  }

  /** Whether 0-RTT early data was enabled. */
  get earlyData(): boolean {
    return this.#earlyData;
  }

  /** Whether a certificate chain and its key were loaded, or identities per server name (needed to listen). */
  get hasCertificate(): boolean {
    return this.#tls.hasIdentity;
  }

  /** Whether {@link Config.free} was called. */
  get freed(): boolean {
    return this.#handle === null;
  }

  /** Sets ALPN protocols (1..255 bytes each). */
  setApplicationProtos(protocols: readonly string[]): this {
    if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== 'string')) {
      throw new TypeError(`alpn must be an array of strings, got ${describe(protocols)}`);
    }
    if (protocols.length === 0) throw new RangeError('alpn must name at least one protocol');
    for (const [i, p] of protocols.entries()) {
      const bytes = Buffer.byteLength(p, 'utf8');
      if (bytes === 0 || bytes > 255) throw new RangeError(`alpn[${i}] must be 1..255 bytes, got ${bytes}`);
    }
    const wire = q.encodeAlpn(protocols);
    const rc = q.quiche_config_set_application_protos(this.#h, wire, wire.length);
    if (rc < 0) throw new RangeError(`alpn ${JSON.stringify(protocols)} was rejected by quiche (${rc})`);
    this.#alpn = Object.freeze([...protocols]);
    return this;
  }

  /** Sets the idle timeout in ms (0 disables it). */
  setMaxIdleTimeout(ms: number): this {
    q.quiche_config_set_max_idle_timeout(this.#h, checkInt('maxIdleTimeout', ms, 0, 2 ** 32));
    this.#maxIdleTimeout = ms;
    return this;
  }

  /** Sets the largest UDP payload accepted (1200..65527). */
  setMaxRecvUdpPayloadSize(bytes: number): this {
    q.quiche_config_set_max_recv_udp_payload_size(
      this.#h,
      checkInt('maxRecvUdpPayloadSize', bytes, 1200, 65527) as number,
    );
    return this;
  }

  /** Sets the largest UDP payload sent (1200..65527). */
  setMaxSendUdpPayloadSize(bytes: number): this {
    q.quiche_config_set_max_send_udp_payload_size(
      this.#h,
      checkInt('maxSendUdpPayloadSize', bytes, 1200, 65527) as number,
    );
    this.#maxSendUdpPayloadSize = bytes;
    return this;
  }

  /** Sets the connection flow-control window (bytes). */
  setInitialMaxData(bytes: number | bigint): this {
    q.quiche_config_set_initial_max_data(this.#h, checkInt('initialMaxData', bytes, 0, U62));
    return this;
  }

  /** Sets the window of locally opened bidi streams (bytes). */
  setInitialMaxStreamDataBidiLocal(bytes: number | bigint): this {
    q.quiche_config_set_initial_max_stream_data_bidi_local(
      this.#h,
      checkInt('initialMaxStreamDataBidiLocal', bytes, 0, U62),
    );
    return this;
  }

  /** Sets the window of peer-opened bidi streams (bytes). */
  setInitialMaxStreamDataBidiRemote(bytes: number | bigint): this {
    q.quiche_config_set_initial_max_stream_data_bidi_remote(
      this.#h,
      checkInt('initialMaxStreamDataBidiRemote', bytes, 0, U62),
    );
    return this;
  }

  /** Sets the window of peer-opened uni streams (bytes). */
  setInitialMaxStreamDataUni(bytes: number | bigint): this {
    q.quiche_config_set_initial_max_stream_data_uni(
      this.#h,
      checkInt('initialMaxStreamDataUni', bytes, 0, U62),
    );
    return this;
  }

  /** Sets how many bidi streams the peer may open. */
  setInitialMaxStreamsBidi(count: number | bigint): this {
    q.quiche_config_set_initial_max_streams_bidi(
      this.#h,
      checkInt('initialMaxStreamsBidi', count, 0, 1n << 60n),
    );
    return this;
  }

  /** Sets how many uni streams the peer may open. */
  setInitialMaxStreamsUni(count: number | bigint): this {
    q.quiche_config_set_initial_max_streams_uni(
      this.#h,
      checkInt('initialMaxStreamsUni', count, 0, 1n << 60n),
    );
    return this;
  }

  /** Sets the ACK delay exponent (0..20). */
  setAckDelayExponent(v: number): this {
    q.quiche_config_set_ack_delay_exponent(this.#h, checkInt('ackDelayExponent', v, 0, 20));
    return this;
  }

  /** Sets the max ACK delay in ms (0..16383). */
  setMaxAckDelay(ms: number): this {
    q.quiche_config_set_max_ack_delay(this.#h, checkInt('maxAckDelay', ms, 0, 16383));
    return this;
  }

  /** Forbids (or allows) active migration by the peer. */
  setDisableActiveMigration(v: boolean): this {
    q.quiche_config_set_disable_active_migration(this.#h, checkBool('disableActiveMigration', v));
    return this;
  }

  /** Chooses the congestion control algorithm. */
  setCcAlgorithm(algorithm: CcAlgorithm): this {
    if (algorithm !== 'reno' && algorithm !== 'cubic' && algorithm !== 'bbr2') {
      throw new RangeError(`ccAlgorithm must be 'reno', 'cubic' or 'bbr2', got ${describe(algorithm)}`);
    }
    // The by-name setter avoids passing a Rust enum by value (see the ffi notes).
    const rc = q.quiche_config_set_cc_algorithm_name(
      this.#h,
      algorithm === 'bbr2' ? 'bbr2_gcongestion' : algorithm,
    );
    if (rc < 0) throw new RangeError(`ccAlgorithm ${algorithm} is not supported by this libquiche (${rc})`);
    this.#ccAlgorithm = algorithm;
    return this;
  }

  /** Sets the initial congestion window in packets (1..1000). */
  setInitialCongestionWindowPackets(packets: number): this {
    q.quiche_config_set_initial_congestion_window_packets(
      this.#h,
      checkInt('initialCongestionWindowPackets', packets, 1, 1000) as number,
    );
    return this;
  }

  /** Enables or disables HyStart++. */
  enableHystart(v: boolean): this {
    q.quiche_config_enable_hystart(this.#h, checkBool('hystart', v));
    return this;
  }

  /** Enables or disables pacing. */
  enablePacing(v: boolean): this {
    q.quiche_config_enable_pacing(this.#h, checkBool('pacing', v));
    this.#pacing = v;
    return this;
  }

  /**
   * Caps the pacing rate, in bytes/s (at least 125 000, i.e. 1 Mbit/s). Only
   * `bbr2` paces; quiche 0.30 reads this setting in whole Mbit/s there, so
   * the cap is rounded up to a multiple of 125 000 bytes/s.
   */
  setMaxPacingRate(bytesPerSecond: number | bigint): this {
    const rate = BigInt(checkInt('maxPacingRate', bytesPerSecond, 125_000, (1n << 64n) - 1n));
    q.quiche_config_set_max_pacing_rate(this.#h, (rate + 124_999n) / 125_000n);
    return this;
  }

  /** Enables or disables cubic's idle-restart fix. */
  setEnableCubicIdleRestartFix(v: boolean): this {
    q.quiche_config_set_enable_cubic_idle_restart_fix(this.#h, checkBool('cubicIdleRestartFix', v));
    return this;
  }

  /** Deprecated in quiche and a no-op there; kept so every setter has a twin. */
  setUseInitialMaxDataAsFlowControlWin(v: boolean): this {
    q.quiche_config_set_use_initial_max_data_as_flow_control_win(
      this.#h,
      checkBool('useInitialMaxDataAsFlowControlWin', v),
    );
    return this;
  }

  /** Enables DATAGRAM frames, with receive and send queue lengths (1..1 000 000, default 1000). */
  enableDgram(enabled: boolean, queues: DgramQueues = {}): this {
    checkBool('dgram enabled', enabled);
    const recvQueueLen = checkInt('dgram.recvQueueLen', queues.recvQueueLen ?? 1000, 1, 1_000_000) as number;
    const sendQueueLen = checkInt('dgram.sendQueueLen', queues.sendQueueLen ?? 1000, 1, 1_000_000) as number;
    q.quiche_config_enable_dgram(this.#h, enabled, recvQueueLen, sendQueueLen);
    this.#dgram = { enabled, recvQueueLen, sendQueueLen };
    return this;
  }

  /** Caps the auto-tuned connection window (bytes). */
  setMaxConnectionWindow(bytes: number | bigint): this {
    q.quiche_config_set_max_connection_window(this.#h, checkInt('maxConnectionWindow', bytes, 0, U62));
    return this;
  }

  /** Caps the auto-tuned stream window (bytes). */
  setMaxStreamWindow(bytes: number | bigint): this {
    q.quiche_config_set_max_stream_window(this.#h, checkInt('maxStreamWindow', bytes, 0, U62));
    return this;
  }

  /** Sets how many connection IDs we accept from the peer (≥ 2). */
  setActiveConnectionIdLimit(count: number): this {
    q.quiche_config_set_active_connection_id_limit(
      this.#h,
      checkInt('activeConnectionIdLimit', count, 2, 1000),
    );
    return this;
  }

  /** Sets the 16-byte stateless reset token. */
  setStatelessResetToken(token: Uint8Array): this {
    if (!(token instanceof Uint8Array) || token.length !== 16) {
      throw new RangeError(`statelessResetToken must be a 16-byte Uint8Array, got ${describe(token)}`);
    }
    q.quiche_config_set_stateless_reset_token(this.#h, token);
    return this;
  }

  /** Never reuse a destination CID on a new path. */
  setDisableDcidReuse(v: boolean): this {
    q.quiche_config_set_disable_dcid_reuse(this.#h, checkBool('disableDcidReuse', v));
    return this;
  }

  /** Sets the session ticket key (1..255 bytes; 48 for BoringSSL's default). */
  setTicketKey(key: Uint8Array): this {
    if (!(key instanceof Uint8Array) || key.length === 0 || key.length > 255) {
      throw new RangeError(`ticketKey must be a Uint8Array of 1..255 bytes, got ${describe(key)}`);
    }
    const rc = q.quiche_config_set_ticket_key(this.#h, key, key.length);
    if (rc < 0) throw new RangeError(`ticketKey was rejected by quiche (${rc}); BoringSSL expects 48 bytes`);
    return this;
  }

  /** Sets the TLS key-exchange groups, e.g. `"X25519:P-256"`. */
  setCurvesList(curves: string): this {
    const rc = q.quiche_config_set_curves_list(this.#h, checkString('curvesList', curves));
    if (rc < 0) throw new RangeError(`curvesList ${JSON.stringify(curves)} was rejected by quiche (${rc})`);
    return this;
  }

  /**
   * The older name of {@link Config.setRejectUnauthorized}; on a server,
   * `true` also asks clients for a certificate unless
   * {@link Config.setRequestCert} said otherwise.
   */
  verifyPeer(v: boolean): this {
    this.#live.verifyPeer = checkBool('verifyPeer', v);
    return this;
  }

  /**
   * Whether a connection fails when the peer's certificate does not verify
   * (default `true`, as node:tls). Clients always check the server's
   * certificate; servers check a client's when they asked for one
   * ({@link Config.setRequestCert}). With `false` the connection goes on and
   * `conn.info().authorizationError` says what was wrong.
   */
  setRejectUnauthorized(v: boolean): this {
    this.#live.rejectUnauthorized = checkBool('rejectUnauthorized', v);
    return this;
  }

  /** (Servers) Ask clients for a certificate (default `false`). */
  setRequestCert(v: boolean): this {
    this.#live.requestCert = checkBool('requestCert', v);
    return this;
  }

  /**
   * (Clients) Replaces the check that the server's certificate is for the
   * name connected to, called after its chain verified; return an Error to
   * reject the certificate. The default is node:tls's `checkServerIdentity`.
   *
   * @example
   * ```ts
   * // Pin the server's certificate by its SHA-256 fingerprint.
   * config.setCheckServerIdentity((host, cert) =>
   *   cert.fingerprint256 === pinned ? undefined : new Error(`unexpected certificate for ${host}`),
   * );
   * ```
   */
  setCheckServerIdentity(fn: CheckServerIdentity): this {
    if (typeof fn !== 'function')
      throw new TypeError(`checkServerIdentity must be a function, got ${describe(fn)}`);
    this.#live.checkServerIdentity = fn;
    return this;
  }

  /** Turns GREASE on or off. */
  grease(v: boolean): this {
    q.quiche_config_grease(this.#h, checkBool('grease', v));
    return this;
  }

  /** Turns path-MTU discovery on or off. */
  discoverPmtu(v: boolean): this {
    q.quiche_config_discover_pmtu(this.#h, checkBool('discoverPmtu', v));
    return this;
  }

  /** Sets PMTU probes per size (1..255). */
  setPmtudMaxProbes(probes: number): this {
    q.quiche_config_set_pmtud_max_probes(this.#h, checkInt('pmtudMaxProbes', probes, 1, 255) as number);
    return this;
  }

  /** Enables writing TLS secrets for connections that set a keylog. */
  logKeys(): this {
    q.quiche_config_log_keys(this.#h);
    this.#logKeys = true;
    return this;
  }

  /** Enables 0-RTT early data. */
  enableEarlyData(): this {
    q.quiche_config_enable_early_data(this.#h);
    this.#earlyData = true;
    return this;
  }

  /** Sets the anti-amplification factor (1..255). */
  setMaxAmplificationFactor(factor: number): this {
    q.quiche_config_set_max_amplification_factor(
      this.#h,
      checkInt('maxAmplificationFactor', factor, 1, 255) as number,
    );
    return this;
  }

  /** Loads the certificate chain (leaf first) from a PEM file. */
  loadCertChainFromPemFile(file: string): this {
    return this.#setCert('certChainFile', readPemFile('certChainFile', file));
  }

  /** Loads the private key from a PEM file (decrypted with `passphrase` when it is encrypted). */
  loadPrivKeyFromPemFile(file: string, passphrase?: string | Uint8Array): this {
    return this.#setKey('privKeyFile', readPemFile('privKeyFile', file), passphrase);
  }

  /** Adds trusted CAs from a PEM file (together, the CAs given replace Node's default trust). */
  loadVerifyLocationsFromFile(file: string): this {
    this.#live.addCa('caFile', readPemFile('caFile', file));
    return this;
  }

  /** Adds trusted CAs from every PEM file of a directory. */
  loadVerifyLocationsFromDirectory(dir: string): this {
    this.#live.addCa('caDirectory', readPemDirectory('caDirectory', dir));
    return this;
  }

  /** Loads the certificate chain (leaf first, then intermediates) from PEM text or bytes, in memory. */
  loadCertChainFromPem(pem: Pem): this {
    return this.#setCert('cert', pemBytes('cert', pem));
  }

  /**
   * Loads the private key from PEM text or bytes, in memory: it never
   * touches the disk. An encrypted key needs its `passphrase`.
   */
  loadPrivKeyFromPem(pem: Pem, passphrase?: string | Uint8Array): this {
    return this.#setKey('key', pemBytes('key', pem), passphrase);
  }

  /** Adds trusted CAs from PEM text or bytes, or a list of them. */
  loadVerifyLocationsFromPem(pem: Pem | readonly Pem[]): this {
    this.#live.addCa('ca', pemList('ca', pem));
    return this;
  }

  /**
   * (Servers) Adds the certificate and key presented to clients that ask
   * for `name` (their SNI): a host name, or `*.example.com` for any one
   * label. An exact name wins over a wildcard; other clients get the
   * default `cert`/`key`.
   *
   * @example
   * ```ts
   * config.addServerName('api.example.com', { cert: apiCert, key: apiKey });
   * config.addServerName('*.example.com', { cert: wildCert, key: wildKey });
   * ```
   */
  addServerName(name: string, identity: ServerNameIdentity): this {
    checkString('sni name', name);
    if (identity === null || typeof identity !== 'object')
      throw new TypeError(`sni[${JSON.stringify(name)}] must be { cert, key }, got ${describe(identity)}`);
    const option = `sni[${JSON.stringify(name)}]`;
    this.#live.addServerName(option, name, {
      cert: pemBytes(`${option}.cert`, identity.cert),
      key: pemBytes(`${option}.key`, identity.key),
      passphrase: passphraseBytes(`${option}.passphrase`, identity.passphrase),
    });
    return this;
  }

  #setCert(option: string, pem: Uint8Array): this {
    void this.#live;
    try {
      new X509Certificate(pem); // the leaf, checked now even when the key comes later
    } catch (err) {
      throw new TypeError(`${option} is not a valid PEM certificate (${(err as Error).message})`);
    }
    this.#certPem = pem;
    this.#installIdentity(option);
    return this;
  }

  #setKey(option: string, pem: Uint8Array, passphrase: unknown): this {
    void this.#live;
    this.#keyPem = pem;
    this.#passphrase = passphraseBytes('passphrase', passphrase) ?? this.#passphrase;
    this.#installIdentity(option);
    return this;
  }

  /** Sets this side's identity once both its certificate and its key are known. */
  #installIdentity(option: string): void {
    if (this.#certPem === null || this.#keyPem === null) return;
    this.#live.setIdentity(option, { cert: this.#certPem, key: this.#keyPem, passphrase: this.#passphrase });
  }

  /** Sets the passphrase of an encrypted private key given before or after it. */
  setPassphrase(passphrase: string | Uint8Array): this {
    this.#passphrase = passphraseBytes('passphrase', passphrase);
    if (this.#keyPem !== null) this.#installIdentity('passphrase');
    return this;
  }

  /**
   * @internal Applies the role's defaults just before a connection is
   * created: whether to ask the peer for a certificate (clients always
   * receive one; servers ask with `requestCert`) and, unless set, bbr2
   * congestion control for clients and cubic for servers.
   */
  prepareFor(role: 'client' | 'server', keylog = false): void {
    if ((this.#certPem === null) !== (this.#keyPem === null)) {
      throw new TypeError(
        this.#certPem === null
          ? 'config has a private key but no certificate chain (cert/certChainFile)'
          : 'config has a certificate chain but no private key (key/privKeyFile)',
      );
    }
    this.#live.prepareFor(role);
    // quiche writes a connection's key log only when the config allows it.
    if (keylog && !this.#logKeys) this.logKeys();
    if (this.#ccAlgorithm === null && this.#ccRole !== role) {
      this.#ccRole = role;
      q.quiche_config_set_cc_algorithm_name(this.#h, role === 'server' ? 'cubic' : 'bbr2_gcongestion');
    }
  }

  /**
   * @internal How connections of `role` decide about their peer once the
   * handshake completed (`hostname`: what a client checks the server's
   * certificate against).
   */
  authorizerFor(role: 'client' | 'server', hostname: string): Authorizer {
    return this.#live.authorizerFor(role, hostname);
  }

  /** Frees the native config. Idempotent; later setters throw `ERR_QUIC_DESTROYED`. */
  free(): void {
    if (this.#handle === null) return;
    registry.unregister(this);
    q.quiche_config_free(this.#handle);
    this.#tls.free();
    track('configs', -1);
    this.#handle = null;
  }

  /** Same as {@link Config.free}. */
  [Symbol.dispose](): void {
    this.free();
  }
}
