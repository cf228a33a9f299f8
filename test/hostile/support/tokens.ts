/**
 * Getting a genuine Retry token out of a `retry: true` server without
 * letting it create a connection: a raw client follows the Retry, and its
 * token-bearing Initial is captured instead of sent.
 */
import { initialToken, LongType, longType, RawPeer } from './raw.js';

/** A captured token-bearing Initial and the client (and port) it was minted for. */
export interface Captured {
  /** The client's first datagram after the Retry: an Initial carrying our token. */
  packet: Buffer;
  token: Buffer;
  /** The peer it was minted for (free it when done); its primary socket is the token's address. */
  peer: RawPeer;
  /** When the Retry arrived (the token was minted just before). */
  mintedAt: number;
}

/** Runs a raw client to a Retry and captures (without sending) its next Initial; at most `ms`. */
export async function captureTokenInitial(serverPort: number, ms = 5000): Promise<Captured> {
  let mintedAt = 0;
  let held: Buffer | null = null;
  const peer = await RawPeer.open(serverPort, {
    timers: false,
    inbound: (p) => {
      if (longType(p) !== LongType.Retry) return null;
      mintedAt = Date.now();
      return p;
    },
    outbound: (p) => {
      const token = initialToken(p);
      if (token === null || token.length === 0) return true;
      held ??= p;
      return false;
    },
  });
  const deadline = Date.now() + ms;
  while (held === null) {
    if (Date.now() > deadline) {
      peer.free();
      throw new Error(`no Retry (or no token-bearing Initial) within ${ms} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const packet: Buffer = held;
  return { packet, token: initialToken(packet)!, peer, mintedAt };
}
