/**
 * The server's front door: the stateless answers an Initial packet from an
 * unknown client can get (version negotiation, Retry), token checks, and the
 * quiche connection for one that is admitted. Which answer an Initial gets
 * is the listener's admission policy (`admission.ts`).
 *
 * @module
 */
import * as q from '@quichex/ffi';
import { type Config, kHandle } from '../config.js';
import { ConnCore } from '../core/conn-core.js';
import * as s from '../core/scratch.js';
import type { KeylogSink } from '../keylog.js';
import { attachLogs } from '../logging.js';
import type { RetryTokens } from '../retry.js';
import { CID_LEN, type CidRouter, type LongHeader } from './cid-router.js';
import { ConnectionDriver } from './conn-driver.js';
import { randomSlice } from './random-pool.js';
import { toSockaddr, type UdpSocket } from './udp-socket.js';

/** Settings of an {@link Acceptor}. */
export interface AcceptorOptions {
  readonly config: Config;
  readonly retry: RetryTokens;
  readonly logs: { qlogDir?: string; keylogFile?: string };
  readonly keepAliveMs: number | null;
}

/** Answers Initials from unknown clients on one socket; the listener's admission policy says which answer. */
export class Acceptor {
  readonly #socket: UdpSocket;
  readonly #router: CidRouter<ConnectionDriver>;
  readonly #options: AcceptorOptions;

  constructor(socket: UdpSocket, router: CidRouter<ConnectionDriver>, options: AcceptorOptions) {
    this.#socket = socket;
    this.#router = router;
    this.#options = options;
  }

  /** Answers an unsupported version with version negotiation (never more bytes than it received). */
  negotiateVersion(hdr: LongHeader, packetLen: number, address: string, port: number): void {
    const { scid, dcid } = hdr;
    this.#reply(address, port, packetLen, (out) =>
      q.quiche_negotiate_version(
        scid.length ? scid : s.EMPTY,
        scid.length,
        dcid,
        dcid.length,
        out,
        out.length,
      ),
    );
  }

  /** Sends a stateless Retry with an address-bound token. */
  sendRetry(hdr: LongHeader, packetLen: number, address: string, port: number): void {
    const { scid, dcid } = hdr;
    const retryScid = randomSlice(CID_LEN);
    const token = this.#options.retry.mint(dcid, address, port);
    this.#reply(address, port, packetLen, (out) =>
      q.quiche_retry(
        scid.length ? scid : s.EMPTY,
        scid.length,
        dcid,
        dcid.length,
        retryScid,
        CID_LEN,
        token,
        token.length,
        hdr.version,
        out,
        out.length,
      ),
    );
  }

  /**
   * The original DCID if the Initial carries a valid Retry token of ours;
   * `null` without a token; `false` for a token that does not verify
   * (forged, expired, truncated, or from another address).
   */
  verifyToken(hdr: LongHeader, address: string, port: number): Uint8Array | null | false {
    if (hdr.token.length === 0) return null;
    const odcid = this.#options.retry.verify(hdr.token, address, port);
    // After a Retry the client's DCID is our Retry SCID.
    return odcid !== null && hdr.dcid.length === CID_LEN ? odcid : false;
  }

  /**
   * Creates the server connection for an admitted Initial (its first packet
   * not fed yet). `odcid` is the original DCID from a verified Retry token.
   * Returns the driver and the client's original DCID key (routed until the
   * handshake completes), or `null` when quiche refused.
   */
  create(
    hdr: LongHeader,
    address: string,
    port: number,
    odcid: Uint8Array | null,
    keylog?: KeylogSink,
  ): { driver: ConnectionDriver; odcidKey: string | null } | null {
    const socket = this.#socket;
    // After a Retry the client already uses the CID we chose (its DCID now).
    const newScid = odcid ? Buffer.from(hdr.dcid) : randomSlice(CID_LEN);
    const { config, logs } = this.#options;
    config.prepareFor('server', keylog !== undefined || logs.keylogFile !== undefined);
    const peerSa = toSockaddr(address, port, socket.isV6);
    const handle = q.quiche_accept(
      newScid,
      CID_LEN,
      odcid,
      odcid ? odcid.length : 0,
      socket.localSockaddr.buf,
      socket.localSockaddr.len,
      peerSa.buf,
      peerSa.len,
      config[kHandle],
    );
    if (handle === null) return null;
    const detachKeylog = attachLogs(handle, logs, 'server', keylog);
    const core = new ConnCore(handle, {
      isServer: true,
      dgramEnabled: config.dgram.enabled,
      earlyData: config.earlyData,
      authorize: config.authorizerFor('server', ''),
    });
    const peer = { family: address.includes(':') ? 'IPv6' : 'IPv4', address, port } as const;
    const driver = new ConnectionDriver(core, socket, peer, {
      router: this.#router,
      keepAliveMs: this.#options.keepAliveMs,
      peerSockaddr: peerSa,
    });
    this.#router.add(driver, newScid.toString('latin1'));
    // Until the handshake completes a client without Retry still uses its own DCID.
    const odcidKey = odcid ? null : hdr.dcidKey;
    if (odcidKey !== null) this.#router.add(driver, odcidKey);
    if (detachKeylog) driver.onReleased(detachKeylog);
    return { driver, odcidKey };
  }

  /** Sends a stateless reply, never larger than the packet it answers (no amplification). */
  #reply(address: string, port: number, limit: number, write: (out: Buffer) => number): void {
    const out = this.#socket.takeBuffer();
    const n = write(out);
    if (n > 0 && n <= limit) this.#socket.send(out, n, port, address);
    else this.#socket.giveBack(out);
  }
}
