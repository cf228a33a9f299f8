/**
 * Pacing on the wire: a client whose pacing rate is capped uploads over real
 * UDP, and every datagram quiche produced is matched with the moment it
 * left the socket. None may leave earlier than its pacing time minus the
 * quantum, and a GSO run leaves as one unit whose every datagram was due.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnCore } from '../src/core/conn-core.js';
import { PACING_QUANTUM_MS } from '../src/driver/transmit.js';
import { UdpSocket } from '../src/driver/udp-socket.js';
import { connect, listen } from '../src/index.js';
import { useCleanups } from './support/cleanups.js';
import { clientConfig, serverConfig } from './support/fixtures.js';

const cleanups = useCleanups();

/** What the client's send loop did, in order. */
interface Trace {
  /** Pacing time of each datagram the client's quiche produced. */
  due: number[];
  /** Each send on the client's socket: when, and how many datagrams. */
  sends: Array<{ at: number; count: number }>;
}

let trace: Trace;
const originals = {
  send: ConnCore.prototype.send,
  socketSend: UdpSocket.prototype.send,
  sendBatch: UdpSocket.prototype.sendBatch,
};

beforeEach(() => {
  trace = { due: [], sends: [] };
  // Observe the real send loop: only the client's side (a client core, a connected socket).
  ConnCore.prototype.send = function (this: ConnCore, out, max) {
    const n = originals.send.call(this, out, max);
    if (n > 0 && !this.isServer) trace.due.push(this.sentAt());
    return n;
  };
  UdpSocket.prototype.send = function (this: UdpSocket, buf, len, port, address) {
    if (this.connected) trace.sends.push({ at: performance.now(), count: 1 });
    originals.socketSend.call(this, buf, len, port, address);
  };
  UdpSocket.prototype.sendBatch = function (this: UdpSocket, sender, len, segment, port, address, to) {
    if (this.connected && len > 0)
      trace.sends.push({ at: performance.now(), count: Math.ceil(len / segment) });
    originals.sendBatch.call(this, sender, len, segment, port, address, to);
  };
});

afterEach(() => {
  Object.assign(ConnCore.prototype, { send: originals.send });
  Object.assign(UdpSocket.prototype, { send: originals.socketSend, sendBatch: originals.sendBatch });
});

/** The send time of each datagram, in production order. */
function leftAt(t: Trace): number[] {
  const out: number[] = [];
  for (const s of t.sends) for (let i = 0; i < s.count; i++) out.push(s.at);
  return out;
}

const RATE = 2_000_000; // bytes/s: slow enough that quiche spaces packets by more than the quantum
const BYTES = 600_000;

async function pacedUpload(gso: boolean): Promise<{ seconds: number }> {
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config: serverConfig(),
    gso,
    onConnection: async (conn) => {
      for await (const s of conn.streams()) void s.readAll().then(() => s.end('ok'));
    },
  });
  cleanups.push(() => listener.close());
  const conn = await connect({
    host: '127.0.0.1',
    port: listener.address().port,
    config: clientConfig({ maxPacingRate: RATE }),
    serverName: 'localhost',
    gso,
  });
  cleanups.push(() => conn.close());
  expect(conn.info().pacing).toBe('user-space');
  const stream = await conn.openStream();
  const started = performance.now();
  await stream.end(new Uint8Array(BYTES));
  expect(Buffer.from(await stream.readAll({ signal: AbortSignal.timeout(20_000) })).toString()).toBe('ok');
  return { seconds: (performance.now() - started) / 1000 };
}

describe('pacing', () => {
  for (const gso of [true, false]) {
    it(`sends no datagram before its pacing time (within the quantum), gso: ${gso}`, async () => {
      const { seconds } = await pacedUpload(gso);
      const sent = leftAt(trace);
      // Every datagram produced left, in order (nothing held back at the end).
      expect(sent.length).toBe(trace.due.length);
      let early = 0;
      let heldBack = 0;
      let previousSend = 0;
      for (let i = 0; i < sent.length; i++) {
        const due = trace.due[i] as number;
        if ((sent[i] as number) < due - PACING_QUANTUM_MS) early++;
        // Held: produced after the previous send, yet due well after it.
        if (due > previousSend + PACING_QUANTUM_MS && i > 0) heldBack++;
        previousSend = sent[i] as number;
      }
      expect(early).toBe(0);
      // The check is not vacuous: quiche spaced the packets and the loop waited for them.
      expect(heldBack).toBeGreaterThan(20);
      expect(seconds).toBeGreaterThan((0.5 * BYTES) / (RATE * 1.25));
      const runs = trace.sends.filter((s) => s.count > 1);
      if (gso) expect(runs.length).toBeGreaterThan(0);
      else expect(runs.length).toBe(0);
    });
  }

  it('paces clients by default, and servers only when given bbr2', async () => {
    for (const server of [{}, { ccAlgorithm: 'bbr2' as const }]) {
      const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig(server) });
      cleanups.push(() => listener.close());
      const accepted = listener.accept();
      const conn = await connect({
        host: '127.0.0.1',
        port: listener.address().port,
        config: clientConfig(),
        serverName: 'localhost',
      });
      const serverSide = await accepted;
      expect(conn.info().pacing).toBe('user-space');
      expect(serverSide?.info().pacing).toBe(server.ccAlgorithm === 'bbr2' ? 'user-space' : 'none');
      await conn.close();
    }
  });

  it('reports no pacing when the congestion control does not pace', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    cleanups.push(() => listener.close());
    for (const options of [{ ccAlgorithm: 'cubic' as const }, { pacing: false }]) {
      const conn = await connect({
        host: '127.0.0.1',
        port: listener.address().port,
        config: clientConfig(options),
        serverName: 'localhost',
      });
      expect(conn.info().pacing).toBe('none');
      await conn.close();
    }
  });
});
