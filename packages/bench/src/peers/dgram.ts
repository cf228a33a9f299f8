/**
 * Raw `node:dgram`: the floor for UDP in Node. No reliability, no crypto.
 *
 * - `bulk`: the client blasts 1350-byte datagrams (K sockets for K streams);
 *   the server counts what it receives; mbps is what the server received per
 *   second between its first and last datagram.
 * - `rr`: 32-byte ping-pong.
 * - `dgram`: like bulk, with --count datagrams of --size bytes.
 *
 * Control messages ("done" and the server's JSON answer) are retried, since
 * UDP may drop them too.
 *
 * @module
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { type Peer, payload, type ServerHandle, sleep, split, withTimeout } from '../lifecycle.js';
import {
  type BulkResult,
  DGRAM_BULK_SIZE,
  type DgramResult,
  HOST,
  latencySummary,
  type PeerOptions,
  type PeerResult,
  RR_SIZE,
  round3,
  type Scenario,
} from '../protocol.js';
import { answer, type CountAnswer, clientSeconds, dgramResult, newDgramCounter } from './dgram-count.js';

const DONE = Buffer.from('done');
const BUFFER_BYTES = 4 * 1024 * 1024;

function isDone(msg: Buffer): boolean {
  return msg.length === DONE.length && msg.equals(DONE);
}

async function bindSocket(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: 'udp4',
    recvBufferSize: BUFFER_BYTES,
    sendBufferSize: BUFFER_BYTES,
  });
  socket.bind(port, HOST);
  await once(socket, 'listening');
  return socket;
}

async function server(scenario: Scenario, opts: PeerOptions): Promise<ServerHandle> {
  const socket = await bindSocket(opts.port);
  const counter = newDgramCounter();
  const peers = new Set<string>();
  socket.on('error', () => undefined);
  socket.on('message', (msg, rinfo) => {
    if (scenario === 'rr') {
      socket.send(msg, rinfo.port, rinfo.address);
      return;
    }
    if (isDone(msg)) {
      void answer(counter).then((text) => socket.send(text, rinfo.port, rinfo.address));
      return;
    }
    peers.add(`${rinfo.address}:${rinfo.port}`);
    counter.count(msg.length);
  });
  return {
    port: socket.address().port,
    connections: () => peers.size,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

async function clientSocket(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: 'udp4',
    recvBufferSize: BUFFER_BYTES,
    sendBufferSize: BUFFER_BYTES,
  });
  socket.connect(port, HOST);
  await once(socket, 'connect');
  // A send without callback reports failure here (e.g. ECONNREFUSED once the
  // server is gone); the "done" exchange then fails with a bounded error.
  socket.on('error', () => undefined);
  return socket;
}

/** Sends `count` copies of `msg` as fast as libuv takes them (a callback awaited every batch). */
async function blast(socket: dgram.Socket, msg: Buffer, count: number): Promise<void> {
  const BATCH = 64;
  for (let sent = 0; sent < count; ) {
    const n = Math.min(BATCH, count - sent);
    for (let i = 0; i < n - 1; i++) socket.send(msg);
    await new Promise<void>((resolve, reject) => socket.send(msg, (err) => (err ? reject(err) : resolve())));
    sent += n;
  }
}

/** Sends "done" until the server answers (bounded). */
async function askCount(socket: dgram.Socket): Promise<CountAnswer> {
  const reply = new Promise<CountAnswer>((resolve) => {
    socket.on('message', (msg) => {
      try {
        resolve(JSON.parse(msg.toString('utf8')) as CountAnswer);
      } catch {
        // not the answer
      }
    });
  });
  let got: CountAnswer | undefined;
  void reply.then((a) => {
    got = a;
  });
  for (let attempt = 0; attempt < 50 && got === undefined; attempt++) {
    socket.send(DONE);
    await Promise.race([reply, sleep(200)]);
  }
  if (got === undefined) throw new Error('the server never answered "done"');
  return got;
}

async function bulk(opts: PeerOptions): Promise<BulkResult> {
  const sockets = await Promise.all(Array.from({ length: opts.streams }, () => clientSocket(opts.port)));
  try {
    const msg = payload(DGRAM_BULK_SIZE);
    const total = Math.ceil(opts.bytes / DGRAM_BULK_SIZE);
    const shares = split(total, sockets.length);
    await Promise.all(sockets.map((s, i) => blast(s, msg, shares[i] ?? 0)));
    const answer = await askCount(sockets[0] as dgram.Socket);
    const seconds = answer.seconds;
    return {
      bytes: answer.bytes,
      streams: opts.streams,
      seconds: round3(seconds),
      mbps: seconds > 0 ? round3(answer.bytes / 1e6 / seconds) : 0,
      sentBytes: total * DGRAM_BULK_SIZE,
      loss: round3(1 - answer.received / total),
    };
  } finally {
    for (const s of sockets) s.close();
  }
}

async function rr(opts: PeerOptions): Promise<PeerResult> {
  const socket = await clientSocket(opts.port);
  try {
    const msg = payload(RR_SIZE, 0x62);
    let wake: (() => void) | null = null;
    socket.on('message', () => {
      const w = wake;
      wake = null;
      w?.();
    });
    const samples: number[] = [];
    for (let i = 0; i < opts.count; i++) {
      const t = performance.now();
      let ok = false;
      for (let attempt = 0; attempt < 5 && !ok; attempt++) {
        const reply = new Promise<void>((resolve) => {
          wake = resolve;
        });
        socket.send(msg);
        ok = await withTimeout(reply, 500, 'echo').then(
          () => true,
          () => false,
        );
      }
      if (!ok) throw new Error(`no echo for request ${i} after 5 attempts`);
      samples.push((performance.now() - t) * 1000);
    }
    return latencySummary(samples);
  } finally {
    socket.close();
  }
}

async function datagrams(opts: PeerOptions): Promise<DgramResult> {
  const socket = await clientSocket(opts.port);
  try {
    const t0 = performance.now();
    await blast(socket, payload(opts.size, 0x63), opts.count);
    const a = await askCount(socket);
    return dgramResult(opts.count, a.received, clientSeconds(t0, performance.now(), a));
  } finally {
    socket.close();
  }
}

export const dgramPeer: Peer = {
  server,
  client(scenario, opts) {
    switch (scenario) {
      case 'bulk':
        return bulk(opts);
      case 'rr':
        return rr(opts);
      case 'dgram':
        return datagrams(opts);
      default:
        throw new Error(`dgram: ${scenario} is not supported`);
    }
  },
};
