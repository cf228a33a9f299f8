/**
 * One bad peer or one bad handler must never take down the listener or
 * another connection: garbage datagrams, throwing and rejecting handlers, a
 * throwing event listener, a full listener, and clients speaking an unknown
 * QUIC version.
 */
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import * as q from '@quichex/ffi';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Connection,
  connect,
  HANDLER_ERROR_CODE,
  type Listener,
  type ListenOptions,
  listen,
  type PathEvent,
  QuicError,
} from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { echo, header, RawClient, UdpPeer, until, within } from './support/net.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(options: Partial<ListenOptions> = {}): Promise<Listener> {
  const l = await listen({
    host: '127.0.0.1',
    port: 0,
    config: serverConfig(),
    onConnection: (conn) => echoStreams(conn),
    ...options,
  });
  cleanups.push(() => l.close({ timeoutMs: 2000 }));
  return l;
}

async function client(l: Listener, options: { version?: number } = {}): Promise<Connection> {
  const conn = await connect({
    host: '127.0.0.1',
    port: l.address().port,
    config: clientConfig(options),
    serverName: 'localhost',
  });
  cleanups.push(() => conn.close());
  return conn;
}

/** What a failed connection attempt rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return within(
    promise.then(
      (conn) => {
        if (conn && typeof conn === 'object' && 'destroy' in conn) (conn as Connection).destroy();
        throw new Error('expected a rejection');
      },
      (err: unknown) => err,
    ),
    8000,
    'the connection attempt to fail',
  );
}

/** One random datagram of 1..1500 bytes; `kind` picks its shape. */
function garbage(kind: number, serverCid: Buffer): Buffer {
  const d = randomBytes(1 + randomInt(1500));
  if (d.length < 8) return d;
  switch (kind) {
    case 1: // long header, QUIC v1: mostly an "Initial" with plausible CID lengths
      d[0] = 0xc0 | (d[0]! & 0x3f);
      d.writeUInt32BE(q.QUICHE_PROTOCOL_VERSION, 1);
      d[5] = 8 + randomInt(13);
      if (d.length > 6 + d[5]!) d[6 + d[5]!] = randomInt(21);
      break;
    case 2: // long header, an unknown version (a reserved one, or random)
      d[0] = 0xc0 | (d[0]! & 0x3f);
      d.writeUInt32BE(randomInt(2) === 0 ? 0x1a2a3a4a : randomInt(0xffffffff), 1);
      d[5] = randomInt(21);
      break;
    case 3: // short header aimed at the live connection's CID: reaches quiche, fails to decrypt
      if (d.length > 1 + serverCid.length) {
        d[0] = 0x40 | (d[0]! & 0x3f);
        serverCid.copy(d, 1);
      }
      break;
    default: // anything at all
  }
  return d;
}

describe('garbage', () => {
  it('survives 10 000 random datagrams: the live connection keeps echoing and new ones still connect', async () => {
    const serverSides: Connection[] = [];
    const l = await server({
      onConnection: (conn) => {
        serverSides.push(conn);
        return echoStreams(conn);
      },
    });
    const port = l.address().port;
    const live = await client(l);
    expect(await echo(live, 'before')).toBe('before');
    await until(() => serverSides.length === 1, 5000, 'the server connection');
    // quiche's trace id is its source connection ID in hex: the DCID the client sends to.
    const serverCid = Buffer.from(serverSides[0]!.info().traceId, 'hex');
    expect(serverCid.length).toBe(16);

    const junk = await UdpPeer.open();
    cleanups.push(() => junk.close());
    const sent = [0, 0, 0, 0];
    for (let batch = 0; batch < 100; batch++) {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        const kind = randomInt(4);
        sent[kind]!++;
        sends.push(junk.send(garbage(kind, serverCid), port));
      }
      await Promise.all(sends);
      // Let the listener read this batch before the next one.
      await new Promise((resolve) => setImmediate(resolve));
      junk.clear(); // version negotiation answers to the junk socket
    }
    expect(sent.reduce((a, b) => a + b)).toBe(10_000);
    expect(Math.min(...sent)).toBeGreaterThan(0);
    // Unauthenticated junk (short headers aimed at its CID, from another port) must not
    // move the live connection's idea of its peer.
    expect(serverSides[0]!.remoteAddress.port).toBe(live.localAddress.port);

    expect(live.isClosed).toBe(false);
    expect(await echo(live, 'after')).toBe('after');
    const fresh = await client(l);
    expect(await echo(fresh, 'new')).toBe('new');
    // The live connection still knows its real peer.
    await until(() => serverSides.length === 2, 5000, 'the second server connection');
    expect(serverSides[0]!.remoteAddress.port).toBe(live.localAddress.port);
    // Half-open connections that junk "Initials" created do not linger.
    await until(() => l.connections.size === 2, 15_000, 'junk connections to go away');
  });
});

/**
 * A UDP relay on loopback standing in for a NAT: the client talks to its front
 * socket; it forwards to the server from one of two back sockets, and
 * {@link Nat.rebind} switches to the other (a new public port).
 */
class Nat {
  readonly #front = dgram.createSocket('udp4');
  readonly #backs = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  #active = 0;
  #clientPort = 0;

  private constructor(readonly serverPort: number) {
    this.#front.on('message', (msg, rinfo) => {
      this.#clientPort = rinfo.port;
      this.#backs[this.#active]!.send(msg, serverPort, '127.0.0.1');
    });
    for (const back of this.#backs) {
      back.on('message', (msg) => {
        if (this.#clientPort !== 0) this.#front.send(msg, this.#clientPort, '127.0.0.1');
      });
    }
  }

  static async open(serverPort: number): Promise<Nat> {
    const nat = new Nat(serverPort);
    for (const s of [nat.#front, ...nat.#backs])
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return nat;
  }

  get port(): number {
    return this.#front.address().port;
  }

  /** The port the server currently sees the client on. */
  get publicPort(): number {
    return this.#backs[this.#active]!.address().port;
  }

  rebind(): void {
    this.#active = 1 - this.#active;
  }

  close(): void {
    for (const s of [this.#front, ...this.#backs]) s.close();
  }
}

describe('peer address', () => {
  it('follows a NAT rebinding once quiche reports the migration', async () => {
    const serverSides: Connection[] = [];
    const events: PathEvent[] = [];
    const l = await server({
      onConnection: (conn) => {
        serverSides.push(conn);
        conn.on('path', (ev) => events.push(ev));
        return echoStreams(conn);
      },
    });
    const nat = await Nat.open(l.address().port);
    cleanups.push(() => nat.close());
    const conn = await connect({
      host: '127.0.0.1',
      port: nat.port,
      config: clientConfig(),
      serverName: 'localhost',
    });
    cleanups.push(() => conn.close());
    expect(await echo(conn, 'before')).toBe('before');
    await until(() => serverSides.length === 1, 5000, 'the server connection');
    const srv = serverSides[0]!;
    const firstPort = nat.publicPort;
    expect(srv.remoteAddress.port).toBe(firstPort);

    nat.rebind();
    expect(nat.publicPort).not.toBe(firstPort);
    expect(await echo(conn, 'after')).toBe('after');
    await until(() => events.some((e) => e.type === 'peer-migrated'), 5000, 'the peer-migrated event');
    const migrated = events.find((e) => e.type === 'peer-migrated')!;
    expect(migrated.peer?.port).toBe(nat.publicPort);
    expect(srv.remoteAddress.port).toBe(nat.publicPort);
    expect(srv.info().remotePort).toBe(nat.publicPort);
    expect(await echo(conn, 'settled')).toBe('settled');
  });
});

describe('failing handlers', () => {
  it('an onConnection that throws closes only its connection, with HANDLER_ERROR_CODE', async () => {
    let n = 0;
    const l = await server({
      onConnection: (conn) => {
        if (n++ === 1) throw new Error('handler bug');
        return echoStreams(conn);
      },
    });
    const first = await client(l);
    expect(await echo(first, 'one')).toBe('one');
    const bad = await client(l);
    const info = await within(bad.closed, 5000, 'the failed connection to close');
    expect(info).toMatchObject({
      errorCode: HANDLER_ERROR_CODE,
      type: 'application',
      local: false,
      code: 'ERR_QUIC_APPLICATION_CLOSED',
    });
    expect(HANDLER_ERROR_CODE).toBe(1n);
    expect(await echo(first, 'still one')).toBe('still one');
    const third = await client(l);
    expect(await echo(third, 'three')).toBe('three');
  });

  it('an onConnection whose promise rejects closes only its connection, with HANDLER_ERROR_CODE', async () => {
    let n = 0;
    const l = await server({
      onConnection: async (conn) => {
        if (n++ === 1) {
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('async handler bug');
        }
        await echoStreams(conn);
      },
    });
    const first = await client(l);
    expect(await echo(first, 'one')).toBe('one');
    const bad = await client(l);
    const info = await within(bad.closed, 5000, 'the failed connection to close');
    expect(info).toMatchObject({ errorCode: HANDLER_ERROR_CODE, type: 'application', local: false });
    expect(await echo(first, 'still one')).toBe('still one');
    const third = await client(l);
    expect(await echo(third, 'three')).toBe('three');
  });

  it('a "stream" listener that throws destroys only its connection', async () => {
    let n = 0;
    const serverSides: Connection[] = [];
    const l = await server({
      onConnection: (conn) => {
        serverSides.push(conn);
        if (n++ === 1) {
          conn.on('stream', () => {
            throw new Error('listener bug');
          });
        }
        return echoStreams(conn);
      },
    });
    const first = await client(l);
    expect(await echo(first, 'one')).toBe('one');
    const bad = await client(l);
    const stream = await bad.openStream();
    await stream.end('boom');
    // The echo may or may not get out before the destroy: only the close matters here.
    await within(stream.readAll(), 5000, 'the read to settle').catch(() => undefined);
    const info = await within(bad.closed, 5000, 'the failed connection to close');
    // destroy(err) sends INTERNAL_ERROR (transport code 1).
    expect(info).toMatchObject({ local: false, type: 'transport', errorCode: 1n });
    expect(serverSides[1]!.closeInfo).toMatchObject({ code: 'ERR_QUIC_DESTROYED', local: true });
    expect(await echo(first, 'still one')).toBe('still one');
    const third = await client(l);
    expect(await echo(third, 'three')).toBe('three');
  });
});

describe('maxConnections', () => {
  it('refuses a client beyond the limit with ERR_QUIC_CONNECTION_REFUSED; the first keeps working', async () => {
    const l = await server({ maxConnections: 1 });
    const first = await client(l);
    expect(await echo(first, 'first')).toBe('first');
    const err = await rejection(client(l));
    expect(err).toBeInstanceOf(QuicError);
    expect(err).toMatchObject({
      code: 'ERR_QUIC_CONNECTION_REFUSED',
      remote: true,
      type: 'transport',
      errorCode: 2n,
    });
    expect(await echo(first, 'first again')).toBe('first again');
    // A freed slot is usable again.
    await first.close();
    await until(() => l.connections.size === 0, 5000, 'the first connection to go away');
    const next = await client(l);
    expect(await echo(next, 'next')).toBe('next');
  });
});

describe('version negotiation', () => {
  const RESERVED = 0xbabababa;

  it('answers an Initial of an unknown version with a Version Negotiation packet', async () => {
    const l = await server();
    const peer = await UdpPeer.open();
    cleanups.push(() => peer.close());
    const raw = new RawClient(peer.port, l.address().port, { version: RESERVED });
    cleanups.push(() => raw.free());
    const [initial] = raw.drain();
    expect(initial).toBeDefined();
    const sent = header(initial!);
    expect(sent).toMatchObject({ rc: 0, version: RESERVED });
    await peer.send(initial!, l.address().port);
    const vn = await peer.next();
    const h = header(vn);
    expect(h).toMatchObject({ rc: 0, type: q.QuichePacketType.VERSION_NEGOTIATION, version: 0 });
    expect(h.dcid).toEqual(sent.scid);
    expect(h.scid).toEqual(sent.dcid);
    // QUIC v1 is among the versions offered.
    expect(vn.subarray(7 + h.dcid.length + h.scid.length).includes(Buffer.from([0, 0, 0, 1]))).toBe(true);
    // Version negotiation is stateless.
    expect(l.connections.size).toBe(0);
  });

  it('a client configured for an unknown version follows Version Negotiation and connects', async () => {
    const l = await server();
    const conn = await client(l, { version: RESERVED });
    expect(await echo(conn, 'negotiated')).toBe('negotiated');
  });
});
