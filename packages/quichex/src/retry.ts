/**
 * Stateless Retry tokens: authenticated (HMAC-SHA256 with a per-listener
 * key), bound to the client's address and port, and expiring.
 *
 * Layout: `issuedAtMs (8, BE) | odcidLen (1) | odcid | mac (16)`, where the
 * MAC covers the timestamp, the ODCID and the client address.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const MAC_LEN = 16;

/** Mints and verifies Retry tokens for one listener. */
export class RetryTokens {
  readonly #key = randomBytes(32);
  readonly #lifetimeMs: number;

  constructor(lifetimeMs = 10_000) {
    this.#lifetimeMs = lifetimeMs;
  }

  #mac(issued: Buffer, odcid: Uint8Array, address: string, port: number): Buffer {
    return createHmac('sha256', this.#key)
      .update(issued)
      .update(odcid)
      .update(`${address}|${port}`)
      .digest()
      .subarray(0, MAC_LEN);
  }

  /** A token for a client at `address:port` whose first Initial carried `odcid`. */
  mint(odcid: Uint8Array, address: string, port: number, now = Date.now()): Buffer {
    const issued = Buffer.alloc(8);
    issued.writeBigUInt64BE(BigInt(now));
    return Buffer.concat([
      issued,
      Buffer.from([odcid.length]),
      odcid,
      this.#mac(issued, odcid, address, port),
    ]);
  }

  /** The original DCID if `token` is ours, unexpired and for this address; otherwise `null`. */
  verify(token: Uint8Array, address: string, port: number, now = Date.now()): Uint8Array | null {
    if (token.length < 9 + MAC_LEN) return null;
    const buf = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    const odcidLen = buf[8]!;
    if (odcidLen > 20 || buf.length !== 9 + odcidLen + MAC_LEN) return null;
    const issued = buf.subarray(0, 8);
    const age = now - Number(issued.readBigUInt64BE());
    if (age < 0 || age > this.#lifetimeMs) return null;
    const odcid = buf.subarray(9, 9 + odcidLen);
    const mac = buf.subarray(9 + odcidLen);
    return timingSafeEqual(mac, this.#mac(issued, odcid, address, port)) ? Uint8Array.from(odcid) : null;
  }
}
