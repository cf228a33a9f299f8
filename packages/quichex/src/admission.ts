/**
 * Admission: how much state strangers may make a listener hold.
 *
 * An Initial from an unknown client costs a quiche connection (about 27 KiB
 * while it handshakes). Without a bound, one sender — or many spoofed source
 * addresses — could make a server hold any number of them. So:
 * - connections still in their handshake are bounded, overall
 *   (`maxHandshakes`) and per source address (`maxHandshakesPerAddress`);
 * - beyond `retryThreshold` half-open connections (or the per-address
 *   bound), an Initial without a token gets a stateless Retry: only a client
 *   that receives packets at its address comes back, and it costs no state;
 * - a handshake that has not completed after `handshakeTimeout` is dropped
 *   without another packet.
 * Refusing an Initial allocates nothing but what parsing its header needs.
 *
 * @module
 */
import { checkInt } from './validate.js';

/** How a listener answers an Initial packet from an unknown client. */
export type RetryMode = boolean | 'auto';

/** The admission settings of a listener (see `ListenOptions`). */
export interface AdmissionOptions {
  /** `true`: always Retry; `false`: never; `'auto'`: only under load (default). */
  retry?: RetryMode;
  /** Connections in their handshake at once; beyond, Initials are dropped (default 1024). */
  maxHandshakes?: number;
  /** Half-open connections per source address before its Initials need a Retry token (default 16). */
  maxHandshakesPerAddress?: number;
  /** With `retry: 'auto'`, half-open connections before every new client is asked to Retry (default 64). */
  retryThreshold?: number;
  /** Milliseconds a connection may take to complete its handshake (default 10 000). */
  handshakeTimeout?: number;
}

/** What the listener counts (see `Listener.stats()`). */
export interface ListenerStats {
  /** Connections in their handshake now. */
  handshaking: number;
  /** Initials that created a connection. */
  accepted: number;
  /** Retry packets sent. */
  retriesSent: number;
  /** Initials dropped: too many handshakes, a bad token, or the listener closing. */
  initialsRefused: number;
  /** Initials with a Retry token that did not verify (forged, expired, truncated, another address). */
  badTokens: number;
  /** Version negotiation packets sent. */
  versionNegotiations: number;
  /** Connections dropped because their handshake did not complete in time. */
  handshakeTimeouts: number;
}

/** The answer to an Initial from an unknown client. */
export type Verdict = 'accept' | 'retry' | 'refuse';

/** Counts half-open connections and decides what each new Initial gets. */
export class Admission {
  readonly retry: RetryMode;
  readonly maxHandshakes: number;
  readonly maxPerAddress: number;
  readonly retryThreshold: number;
  readonly handshakeTimeout: number;
  readonly #perAddress = new Map<string, number>();
  readonly stats: ListenerStats = {
    handshaking: 0,
    accepted: 0,
    retriesSent: 0,
    initialsRefused: 0,
    badTokens: 0,
    versionNegotiations: 0,
    handshakeTimeouts: 0,
  };

  constructor(options: AdmissionOptions) {
    const retry = options.retry ?? 'auto';
    if (retry !== true && retry !== false && retry !== 'auto')
      throw new TypeError(`retry must be true, false or 'auto', got ${JSON.stringify(retry)}`);
    this.retry = retry;
    this.maxHandshakes = checkInt('maxHandshakes', options.maxHandshakes ?? 1024, 1, 1_000_000) as number;
    this.maxPerAddress = checkInt(
      'maxHandshakesPerAddress',
      options.maxHandshakesPerAddress ?? 16,
      1,
      1_000_000,
    ) as number;
    this.retryThreshold = checkInt('retryThreshold', options.retryThreshold ?? 64, 0, 1_000_000) as number;
    this.handshakeTimeout = checkInt(
      'handshakeTimeout',
      options.handshakeTimeout ?? 10_000,
      1,
      3_600_000,
    ) as number;
  }

  /**
   * What an Initial from `address` gets. `validated`: it carried a Retry
   * token of ours that verified, so the address is real.
   */
  decide(address: string, validated: boolean): Verdict {
    const s = this.stats;
    if (s.handshaking >= this.maxHandshakes) return 'refuse';
    if (validated) return 'accept';
    const crowded = (this.#perAddress.get(address) ?? 0) >= this.maxPerAddress;
    if (this.retry === true) return 'retry';
    if (this.retry === 'auto' && (crowded || s.handshaking >= this.retryThreshold)) return 'retry';
    return crowded ? 'refuse' : 'accept';
  }

  /** A connection from `address` started its handshake; returns the function that ends it (once). */
  opened(address: string): () => void {
    this.stats.handshaking++;
    this.stats.accepted++;
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.stats.handshaking--;
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, n);
    };
  }

  /** Addresses with half-open connections (bounded by `maxHandshakes`). */
  get addresses(): number {
    return this.#perAddress.size;
  }
}
