/**
 * The TLS half of a `Config`: the BoringSSL context quiche's config runs on
 * (made by quichex's glue, so that certificates and keys load from memory),
 * this side's identities, the trust store, and the policy that decides
 * about the peer after its handshake.
 *
 * @module
 */
import * as q from '@quichex/ffi';
import {
  type Authorizer,
  authorizeClient,
  authorizeServer,
  type CheckServerIdentity,
  defaultCheckServerIdentity,
  NOT_REQUESTED,
} from './peer-auth.js';
import { nodeDefaultTrust, Trust } from './trust-store.js';

const ERR_LEN = 512;

/** A certificate chain and its key, as PEM bytes. */
export interface IdentityPem {
  readonly cert: Uint8Array;
  readonly key: Uint8Array;
  readonly passphrase: Uint8Array | null;
}

/** An identity as the glue's arguments: each buffer followed by its length. */
function identityArgs(id: IdentityPem): [Uint8Array, number, Uint8Array, number, Uint8Array | null, number] {
  return [id.cert, id.cert.length, id.key, id.key.length, id.passphrase, id.passphrase?.length ?? 0];
}

/** Reports a failed glue call as a TypeError naming the option. */
function check(option: string, rc: number, err: Uint8Array): void {
  if (rc < 0) throw new TypeError(`${option}: ${q.readErrorBuffer(err)}`);
}

export class TlsContext {
  readonly handle: q.QuichexTls;
  /** The quiche config made on this context. */
  readonly config: q.QuicheConfig;
  #identity = false;
  #serverNames = 0;
  #trust: Trust | null = null;
  #caPem: Uint8Array[] = [];
  /** Ask clients for a certificate (servers); `undefined`: not set. */
  requestCert: boolean | undefined;
  /** Fail the connection of a peer whose certificate does not verify; `undefined`: not set. */
  rejectUnauthorized: boolean | undefined;
  /** The older option: `rejectUnauthorized`, and on servers `requestCert` too, unless those are set. */
  verifyPeer: boolean | undefined;
  checkServerIdentity: CheckServerIdentity = defaultCheckServerIdentity;
  #mode = -1;

  /** Throws a RangeError when quiche does not know `version`. */
  constructor(version: number) {
    const out = new BigUint64Array(1);
    const err = new Uint8Array(ERR_LEN);
    const handle = q.quichex_tls_new(version, out, err, err.length);
    if (handle === null) throw new RangeError(`version: ${q.readErrorBuffer(err)}`);
    this.handle = handle;
    this.config = out[0] as q.QuicheConfig;
  }

  /** Whether this side has a certificate to present (a default one, or one per server name). */
  get hasIdentity(): boolean {
    return this.#identity || this.#serverNames > 0;
  }

  /** Sets the default identity (a server's, or a client's certificate). */
  setIdentity(option: string, id: IdentityPem): void {
    const err = new Uint8Array(ERR_LEN);
    check(option, q.quichex_tls_set_identity(this.handle, ...identityArgs(id), err, err.length), err);
    this.#identity = true;
  }

  /** Adds the identity for one server name (or `*.wildcard`). */
  addServerName(option: string, name: string, id: IdentityPem): void {
    const err = new Uint8Array(ERR_LEN);
    const n = Buffer.from(name, 'utf8');
    check(
      option,
      q.quichex_tls_add_server_name(this.handle, n, n.length, ...identityArgs(id), err, err.length),
      err,
    );
    this.#serverNames++;
  }

  /** Adds trusted certificates; together they replace Node's default trust. */
  addCa(option: string, pem: Uint8Array): void {
    this.#trust = new Trust(option, Buffer.concat([...this.#caPem, pem]));
    this.#caPem.push(pem, Buffer.from('\n'));
  }

  /** The trust store in force: the `ca` given, else Node's default. */
  get trust(): Trust {
    return this.#trust ?? nodeDefaultTrust();
  }

  /** Whether a connection fails when the peer's certificate does not verify. */
  get rejects(): boolean {
    return this.rejectUnauthorized ?? this.verifyPeer ?? true;
  }

  /** Whether a server asks clients for certificates. */
  get requestsCert(): boolean {
    return this.requestCert ?? this.verifyPeer ?? false;
  }

  /** Sets what connections of `role` created next ask of the peer. */
  prepareFor(role: 'client' | 'server'): void {
    const mode =
      role === 'client'
        ? q.TlsVerifyMode.REQUEST
        : !this.requestsCert
          ? q.TlsVerifyMode.NONE
          : this.rejects
            ? q.TlsVerifyMode.REQUIRE
            : q.TlsVerifyMode.REQUEST;
    if (mode === this.#mode) return;
    q.quichex_tls_set_verify(this.handle, mode);
    this.#mode = mode;
  }

  /**
   * The decision about the peer of a connection of `role`, taken when its
   * handshake completes; `hostname` is what a client checks the server's
   * certificate against.
   */
  authorizerFor(role: 'client' | 'server', hostname: string): Authorizer {
    const reject = this.rejects;
    if (role === 'client') {
      const policy = { trust: this.trust, reject, hostname, checkServerIdentity: this.checkServerIdentity };
      return (conn) => authorizeServer(conn, policy);
    }
    if (!this.requestsCert) return () => NOT_REQUESTED;
    const policy = { trust: this.trust, reject };
    return (conn) => authorizeClient(conn, policy);
  }

  /** Frees the context handle (quiche's config is freed by the Config; the trust store when collected). */
  free(): void {
    q.quichex_tls_free(this.handle);
  }
}
