/**
 * Stateless Retry (address validation). The high-level client must follow a
 * Retry to a working connection; on the wire, a raw quiche client (made with
 * @quichex/ffi, sending from a plain UDP socket) shows what the listener
 * answers: a Retry whose token comes back in the next Initial, an Initial
 * when Retry is off, and nothing at all for forged or misplaced tokens.
 */
import { randomBytes } from 'node:crypto';
import * as q from '@quichex/ffi';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, connect, type Listener, listen } from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { echo, header, RawClient, UdpPeer } from './support/net.js';

const { INITIAL, RETRY } = q.QuichePacketType;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(retry: boolean): Promise<{ listener: Listener; accepted: Connection[] }> {
  const accepted: Connection[] = [];
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config: serverConfig(),
    retry,
    onConnection: (conn) => {
      accepted.push(conn);
      return echoStreams(conn);
    },
  });
  cleanups.push(() => listener.close({ timeoutMs: 1000 }));
  return { listener, accepted };
}

async function udpPeer(): Promise<UdpPeer> {
  const peer = await UdpPeer.open();
  cleanups.push(() => peer.close());
  return peer;
}

function rawClient(peer: UdpPeer, serverPort: number): RawClient {
  const client = new RawClient(peer.port, serverPort);
  cleanups.push(() => client.free());
  return client;
}

/** The client's first datagram: its Initial. */
function firstInitial(client: RawClient): Buffer {
  const [initial] = client.drain();
  if (!initial) throw new Error('the raw client sent nothing');
  const h = header(initial);
  expect(h).toMatchObject({ rc: 0, type: INITIAL, version: q.QUICHE_PROTOCOL_VERSION });
  return initial;
}

/**
 * Sends a fresh tokenless Initial from `peer` and waits for the listener's
 * Retry. Datagrams from one socket are handled in order, so once this
 * returns, everything `peer` sent before has been processed.
 */
async function barrier(peer: UdpPeer, serverPort: number): Promise<void> {
  const probe = new RawClient(peer.port, serverPort);
  try {
    await peer.send(firstInitial(probe), serverPort);
    for (let i = 0; i < 16; i++) {
      if (header(await peer.next()).type === RETRY) return;
    }
    throw new Error('no Retry answered the probe');
  } finally {
    probe.free();
  }
}

/** A QUIC v1 Initial (long header) with the given token and a junk, padded payload. */
function forgedInitial(token: Uint8Array): Buffer {
  const varint = (n: number): Buffer => {
    if (n < 64) return Buffer.from([n]);
    if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
    throw new RangeError('too long');
  };
  const dcid = randomBytes(16);
  const scid = randomBytes(16);
  const head = Buffer.concat([
    Buffer.from([0xc3, 0, 0, 0, 1, dcid.length]),
    dcid,
    Buffer.from([scid.length]),
    scid,
    varint(token.length),
    token,
  ]);
  const payloadLen = 1200 - head.length - 2;
  return Buffer.concat([head, varint(payloadLen), randomBytes(payloadLen)]);
}

describe('retry: true', () => {
  it('a client follows the Retry and echoes', async () => {
    const { listener, accepted } = await server(true);
    const conn = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    try {
      expect(await echo(conn, 'after retry')).toBe('after retry');
      expect(accepted).toHaveLength(1);
      const info = accepted[0]!.info();
      expect(info).toMatchObject({
        isServer: true,
        established: true,
        alpn: 'test',
        remotePort: conn.localAddress.port,
      });
    } finally {
      await conn.close();
    }
  });

  it('answers a tokenless Initial with a Retry whose token returns in the next Initial', async () => {
    const { listener } = await server(true);
    const port = listener.address().port;
    const peer = await udpPeer();
    const client = rawClient(peer, port);
    const initial = firstInitial(client);
    const first = header(initial);
    expect(first.token.length).toBe(0);

    await peer.send(initial, port);
    const retry = await peer.next();
    const r = header(retry);
    expect(r).toMatchObject({ rc: 0, type: RETRY, version: q.QUICHE_PROTOCOL_VERSION });
    expect(r.dcid).toEqual(first.scid); // addressed to the client's CID
    expect(r.scid.length).toBe(16);
    expect(r.scid).not.toEqual(first.dcid); // a new server CID
    expect(r.token.length).toBeGreaterThan(0);
    // Retry is stateless: nothing exists on the server yet.
    expect(listener.connections.size).toBe(0);

    // quiche's client accepts the Retry (its integrity tag checks out) and retries with the token.
    expect(client.receive(retry)).toBeGreaterThanOrEqual(0);
    const second = firstInitial(client);
    const s = header(second);
    expect(s.token).toEqual(r.token);
    expect(s.dcid).toEqual(r.scid);

    // The same Initial from another address is dropped: the token is bound to the client's address.
    const elsewhere = await udpPeer();
    await elsewhere.send(second, port);
    await barrier(elsewhere, port);
    expect(listener.connections.size).toBe(0);

    // From the right address it is accepted: the server answers with its Initial, from the Retry's CID.
    peer.clear();
    await peer.send(second, port);
    const reply = header(await peer.next());
    expect(reply).toMatchObject({ rc: 0, type: INITIAL });
    expect(reply.scid).toEqual(r.scid);
    expect(reply.dcid).toEqual(first.scid);
    expect(listener.connections.size).toBe(1);
  });

  it('drops Initials with forged tokens without creating a connection', async () => {
    const { listener } = await server(true);
    const port = listener.address().port;
    const peer = await udpPeer();
    const odcid = randomBytes(16);
    const issued = Buffer.alloc(8);
    issued.writeBigUInt64BE(BigInt(Date.now()));
    const forgeries = [
      randomBytes(1),
      randomBytes(41),
      randomBytes(200),
      // Shaped like a real token (time, ODCID, MAC) but with a made-up MAC.
      Buffer.concat([issued, Buffer.from([16]), odcid, randomBytes(16)]),
    ];
    for (const token of forgeries) {
      const packet = forgedInitial(token);
      // quiche itself sees a well-formed Initial carrying that token.
      expect(header(packet)).toMatchObject({ rc: 0, type: INITIAL, version: 1, token });
      await peer.send(packet, port);
    }
    await barrier(peer, port);
    expect(listener.connections.size).toBe(0);
    // Garbage did not produce any answer either: the only datagram that arrived was the probe's Retry.
    await expect(peer.next(200)).rejects.toThrow(/no datagram/);

    // A real client still gets through.
    const conn = await connect({ host: '127.0.0.1', port, config: clientConfig(), serverName: 'localhost' });
    expect(await echo(conn, 'still fine')).toBe('still fine');
    await conn.close();
  });
});

describe('retry: false', () => {
  it('answers a tokenless Initial with an Initial straight away', async () => {
    const { listener } = await server(false);
    const port = listener.address().port;
    const peer = await udpPeer();
    const client = rawClient(peer, port);
    const initial = firstInitial(client);
    const first = header(initial);
    await peer.send(initial, port);
    const reply = header(await peer.next());
    expect(reply).toMatchObject({ rc: 0, type: INITIAL, version: q.QUICHE_PROTOCOL_VERSION });
    expect(reply.dcid).toEqual(first.scid);
    expect(listener.connections.size).toBe(1);
  });

  it('a client connects and echoes without a Retry', async () => {
    const { listener } = await server(false);
    const conn = await connect({
      host: '127.0.0.1',
      port: listener.address().port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    expect(await echo(conn, 'no retry')).toBe('no retry');
    await conn.close();
  });
});
