/**
 * The server's front door: what an Initial packet from an unknown client
 * gets. Unknown versions get version negotiation; with Retry on, a client
 * without a valid token gets a stateless Retry; everyone else gets a quiche
 * connection (refused with CONNECTION_REFUSED when the listener is full).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import { type Config, kHandle } from '../config.js';
import { ConnCore } from '../core/conn-core.js';
import * as s from '../core/scratch.js';
import { attachLogs } from '../logging.js';
import type { RetryTokens } from '../retry.js';
import { CID_LEN, type CidRouter, type LongHeader } from './cid-router.js';
import { ConnectionDriver } from './conn-driver.js';
import { toSockaddr, type UdpSocket } from './udp-socket.js';

const debug = debuglog('quichex');

/** Settings of an {@link Acceptor}. */
export interface AcceptorOptions {
  readonly config: Config;
  readonly retry: RetryTokens | null;
  readonly logs: { qlogDir?: string; keylogFile?: string };
  readonly keepAliveMs: number | null;
}

/** Creates server connections for new clients on one socket. */
export class Acceptor {
  readonly #socket: UdpSocket;
  readonly #router: CidRouter<ConnectionDriver>;
  readonly #options: AcceptorOptions;

  constructor(socket: UdpSocket, router: CidRouter<ConnectionDriver>, options: AcceptorOptions) {
    this.#socket = socket;
    this.#router = router;
    this.#options = options;
  }

  /**
   * Answers an Initial from an unknown client. Returns the new connection's
   * driver (its first packet not fed yet) and the client's original DCID key
   * (routed until the handshake completes), or `null` when no connection was
   * created (version negotiation, Retry, bad token, quiche refused).
   */
  accept(
    hdr: LongHeader,
    address: string,
    port: number,
  ): { driver: ConnectionDriver; odcidKey: string | null } | null {
    const socket = this.#socket;
    const { scid, dcid } = hdr;
    if (!q.quiche_version_is_supported(hdr.version)) {
      this.#reply(address, port, (out) =>
        q.quiche_negotiate_version(
          scid.length ? scid : s.EMPTY,
          scid.length,
          dcid,
          dcid.length,
          out,
          out.length,
        ),
      );
      return null;
    }
    if (dcid.length < 8) return null; // RFC 9000 §7.2: a client's first DCID has at least 8 bytes

    const retry = this.#options.retry;
    let odcid: Uint8Array | null = null;
    let newScid: Uint8Array;
    if (retry) {
      if (hdr.token.length === 0) {
        const retryScid = randomBytes(CID_LEN);
        const token = retry.mint(dcid, address, port);
        this.#reply(address, port, (out) =>
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
        return null;
      }
      odcid = retry.verify(hdr.token, address, port);
      if (odcid === null || dcid.length !== CID_LEN) {
        debug('invalid retry token from %s:%d', address, port);
        return null;
      }
      newScid = Uint8Array.from(dcid);
    } else {
      newScid = randomBytes(CID_LEN);
    }

    const { config, logs } = this.#options;
    config.prepareFor('server', logs.keylogFile !== undefined);
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
    attachLogs(handle, logs, 'server');
    const core = new ConnCore(handle, { isServer: true, dgramEnabled: config.dgram.enabled });
    const peer = { family: address.includes(':') ? 'IPv6' : 'IPv4', address, port } as const;
    const driver = new ConnectionDriver(core, socket, peer, {
      router: this.#router,
      keepAliveMs: this.#options.keepAliveMs,
    });
    this.#router.add(driver, Buffer.from(newScid).toString('latin1'));
    // Until the handshake completes a client without Retry still uses its own DCID.
    const odcidKey = retry ? null : hdr.dcidKey;
    if (odcidKey !== null) this.#router.add(driver, odcidKey);
    return { driver, odcidKey };
  }

  #reply(address: string, port: number, write: (out: Buffer) => number): void {
    const out = this.#socket.takeBuffer();
    const n = write(out);
    if (n > 0) this.#socket.send(out, n, port, address);
    else this.#socket.giveBack(out);
  }
}
