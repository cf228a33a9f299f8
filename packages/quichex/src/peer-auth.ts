/**
 * Whether to trust the peer, decided once its handshake is complete (as
 * node:tls does): its chain is verified against the trust store, then a
 * client checks the server's identity. The outcome is reported with
 * node:tls's codes, and fails the connection unless `rejectUnauthorized`
 * is off.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls';
import * as q from '@quichex/ffi';
import * as s from './core/scratch.js';
import { QuicError } from './errors.js';
import type { Trust } from './trust-store.js';

/**
 * Checks that `cert` belongs to `hostname`; returns an Error to reject it.
 * Called on clients after the chain verified (node:tls's signature, with
 * node:crypto's `X509Certificate`).
 */
export type CheckServerIdentity = (hostname: string, cert: X509Certificate) => Error | undefined;

/** What a connection knows about its peer's certificate once the handshake completed. */
export interface PeerAuthorization {
  /** Whether the peer's certificate verified (and, on clients, matched the name). */
  readonly authorized: boolean;
  /** Why not, with node:tls's codes; `null` when authorized or when no certificate was asked for. */
  readonly authorizationError: string | null;
  /** The peer's certificates as DER, leaf first (empty when it sent none). */
  readonly chain: readonly Uint8Array[];
  /** Set when the connection must fail. */
  readonly rejection: Rejection | null;
}

/** Why and how a connection fails when its peer's certificate was rejected. */
export interface Rejection {
  /** What the connection fails with (`connect()` rejects with it on clients). */
  readonly error: QuicError;
  /** The TLS alert sent in the CONNECTION_CLOSE (as CRYPTO_ERROR 0x100 + alert). */
  readonly alert: number;
}

/** Decides about the peer of a connection whose handshake just completed. */
export type Authorizer = (conn: q.QuicheConn) => PeerAuthorization;

/** A server that asked for no certificate: nothing to decide. */
export const NOT_REQUESTED: PeerAuthorization = Object.freeze({
  authorized: false,
  authorizationError: null,
  chain: Object.freeze([]) as readonly Uint8Array[],
  rejection: null,
});

/** node:tls's own check, on node:crypto's certificate class. */
export const defaultCheckServerIdentity: CheckServerIdentity = (hostname, cert) =>
  nodeCheckServerIdentity(hostname, cert.toLegacyObject() as PeerCertificate);

/** What node:tls reports when the client sent no certificate (it asks OpenSSL for the issuer of nothing). */
const NO_CERTIFICATE = 'UNABLE_TO_GET_ISSUER_CERT';

// TLS alerts (RFC 8446 §6) for the CONNECTION_CLOSE of a rejected peer, as BoringSSL picks them.
const ALERT_BAD_CERTIFICATE = 42;
const ALERT_CERTIFICATE_REVOKED = 44;
const ALERT_CERTIFICATE_EXPIRED = 45;
const ALERT_UNKNOWN_CA = 48;
const ALERT_CERTIFICATE_REQUIRED = 116;
const ALERTS: Readonly<Record<string, number>> = {
  CERT_HAS_EXPIRED: ALERT_CERTIFICATE_EXPIRED,
  CERT_NOT_YET_VALID: ALERT_CERTIFICATE_EXPIRED,
  CERT_REVOKED: ALERT_CERTIFICATE_REVOKED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ALERT_UNKNOWN_CA,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ALERT_UNKNOWN_CA,
  DEPTH_ZERO_SELF_SIGNED_CERT: ALERT_UNKNOWN_CA,
  SELF_SIGNED_CERT_IN_CHAIN: ALERT_UNKNOWN_CA,
  CERT_UNTRUSTED: ALERT_UNKNOWN_CA,
};

const depthOut = new Int32Array(1);
// BoringSSL's codes for a leaf that does not name the host or address asked for.
const HOSTNAME_MISMATCH = 62;
const IP_ADDRESS_MISMATCH = 64;

/** The peer's certificates as DER, leaf first. */
export function readPeerChain(conn: q.QuicheConn): Uint8Array[] {
  const chain: Uint8Array[] = [];
  for (let i = 0; i < 32 && q.quichex_conn_peer_cert_at(conn, i, s.ptrOut, s.lenOut); i++) {
    chain.push(q.readBorrowed(s.ptrOut, s.lenOut));
  }
  return chain;
}

/** How a failed chain verification is described: node:tls's code and BoringSSL's sentence. */
function describeCode(code: number): { error: string; detail: string } {
  return {
    error: q.quichex_verify_error_name(code) ?? `X509_V_ERR_${code}`,
    detail: q.quichex_verify_error_string(code) ?? 'certificate verification failed',
  };
}

function decide(
  chain: readonly Uint8Array[],
  failure: { error: string; detail: string; cause?: unknown; alert?: number } | null,
  reject: boolean,
  whose: string,
): PeerAuthorization {
  if (failure === null) return { authorized: true, authorizationError: null, chain, rejection: null };
  const alert = failure.alert ?? ALERTS[failure.error] ?? ALERT_BAD_CERTIFICATE;
  const rejection = reject
    ? {
        alert,
        error: new QuicError(
          'QUICHE_ERR_TLS_FAIL',
          `the certificate of ${whose} was rejected: ${failure.detail} (${failure.error})`,
          {
            authorizationError: failure.error,
            cause: failure.cause,
            type: 'transport',
            errorCode: 0x100n + BigInt(alert),
          },
        ),
      }
    : null;
  return { authorized: false, authorizationError: failure.error, chain, rejection };
}

/**
 * A client's decision about the server: the chain against `trust`, then
 * `checkServerIdentity(hostname, leaf)` (whose Error, or exception, is the
 * rejection's `cause`). With the default check, BoringSSL matches the name
 * during the chain verification, and only a mismatch asks node:tls (whose
 * verdict and error are final): making an `X509Certificate` costs more than
 * the rest of the decision.
 */
export function authorizeServer(
  conn: q.QuicheConn,
  policy: {
    readonly trust: Trust;
    readonly reject: boolean;
    readonly hostname: string;
    readonly checkServerIdentity: CheckServerIdentity;
  },
): PeerAuthorization {
  const chain = readPeerChain(conn);
  const byDefault = policy.checkServerIdentity === defaultCheckServerIdentity;
  const name = byDefault ? Buffer.from(policy.hostname) : null;
  const code = q.quichex_conn_verify_peer(conn, policy.trust.handle, true, name, name?.length ?? 0, depthOut);
  const whose = policy.hostname;
  if (code === -1 || chain.length === 0) {
    return decide(
      chain,
      { error: NO_CERTIFICATE, detail: 'the server sent no certificate' },
      policy.reject,
      whose,
    );
  }
  const nameMismatch = byDefault && (code === HOSTNAME_MISMATCH || code === IP_ADDRESS_MISMATCH);
  if (code !== 0 && !nameMismatch) return decide(chain, describeCode(code), policy.reject, whose);
  if (code === 0 && byDefault) return decide(chain, null, policy.reject, whose);
  let outcome: unknown;
  try {
    outcome = policy.checkServerIdentity(policy.hostname, new X509Certificate(chain[0]!));
  } catch (err) {
    outcome = err instanceof Error ? err : new Error(String(err));
  }
  if (outcome === undefined || outcome === null) return decide(chain, null, policy.reject, whose);
  const err = outcome instanceof Error ? outcome : new Error(String(outcome));
  const codeOf = (err as NodeJS.ErrnoException).code;
  return decide(
    chain,
    { error: typeof codeOf === 'string' ? codeOf : err.message, detail: err.message, cause: err },
    policy.reject,
    whose,
  );
}

/** A server's decision about a client that was asked for a certificate. */
export function authorizeClient(
  conn: q.QuicheConn,
  policy: { readonly trust: Trust; readonly reject: boolean },
): PeerAuthorization {
  const code = q.quichex_conn_verify_peer(conn, policy.trust.handle, false, null, 0, depthOut);
  if (code === -1) {
    const failure = { error: NO_CERTIFICATE, detail: 'no certificate', alert: ALERT_CERTIFICATE_REQUIRED };
    return decide([], failure, policy.reject, 'the client');
  }
  const chain = readPeerChain(conn);
  return decide(chain, code === 0 ? null : describeCode(code), policy.reject, 'the client');
}
