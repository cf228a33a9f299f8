/**
 * Version negotiation and stateless answers, counted with raw UDP sockets
 * against a `listen()` with default options in a child process: what gets
 * an answer, and never more bytes back than the datagram that asked (no
 * amplification: a spoofed source gets at most what the attacker spent).
 *
 * Each datagram goes from a socket of its own, so every reply is
 * attributed to the datagram that caused it.
 *
 * What the RFCs ask, and this file pins:
 * - a datagram under 1200 bytes gets no answer and no state, whatever its
 *   version (RFC 9000 §5.2.2, §14.1);
 * - an unknown version is answered from the invariant header alone
 *   (RFC 8999 §6), so a QUIC v2 Initial gets a VN as a v1-shaped one does,
 *   whatever the length of its DCID.
 *
 * Memory bound: a stateless answer holds nothing: 10 000 unknown-version
 * Initials (12 MB) may grow the server's RSS by at most 20 MiB (~8-10 MiB
 * of which is the V8 young generation regrowing after the baseline GC) and
 * its heap by 5 MiB, and create no connection.
 */
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, MiB, mib, paced, report, serverIdentity, sleep, visit } from './support/common.js';
import { bindUdp, closeUdp, HOST, makeInitials } from './support/raw.js';
import { ServerProcess } from './support/server-process.js';

const GREASE_VERSION = 0x0a0a0a0a; // reserved for version negotiation (RFC 9000 §15)
const QUIC_V2 = 0x6b3343cf; // RFC 9369; quiche speaks v1 only
const RSS_BOUND = 20 * MiB;
const HEAP_BOUND = 5 * MiB;

let server: ServerProcess | null = null;
let sockets: dgram.Socket[] = [];

afterEach(() => {
  server?.kill();
  server = null;
  for (const s of sockets) closeUdp(s);
  sockets = [];
});

/** A copy of `packet` with another version (and first byte, when given). */
function reversion(packet: Buffer, version: number, first?: number): Buffer {
  const p = Buffer.from(packet);
  p.writeUInt32BE(version, 1);
  if (first !== undefined) p[0] = first;
  return p;
}

/** A long-header packet with the given CIDs, padded with random bytes (token length 0 for v1 parsers). */
function longPacket(version: number, dcid: Buffer, scid: Buffer, size: number): Buffer {
  const head = Buffer.concat([
    Buffer.from([0xc0, 0, 0, 0, 0, dcid.length]),
    dcid,
    Buffer.from([scid.length]),
    scid,
    Buffer.from([0x00, 0x44, 0xb0]), // token length 0, Length 1200
  ]);
  head.writeUInt32BE(version, 1);
  return Buffer.concat([head, randomBytes(Math.max(0, size - head.length))]).subarray(0, size);
}

/** `b` with its first byte set to `first`. */
function withFirst(b: Buffer, first: number): Buffer {
  b[0] = first;
  return b;
}

interface Probe {
  name: string;
  packets: Buffer[];
}

interface Answer {
  name: string;
  sentBytes: number;
  sent: number;
  replies: Buffer[];
  replyBytes: number;
  largestRatio: number;
}

/** Sends every datagram from a socket of its own and collects what came back within `ms`. */
async function probe(port: number, probes: Probe[], ms = 400): Promise<Answer[]> {
  const answers: Answer[] = [];
  const pending: Array<Promise<void>> = [];
  const ratios: Array<() => number> = [];
  for (const p of probes) {
    const answer: Answer = {
      name: p.name,
      sent: p.packets.length,
      sentBytes: p.packets.reduce((n, b) => n + b.length, 0),
      replies: [],
      replyBytes: 0,
      largestRatio: 0,
    };
    answers.push(answer);
    for (const packet of p.packets) {
      const socket = await bindUdp();
      sockets.push(socket);
      let largest = 0;
      socket.on('message', (m) => {
        answer.replies.push(m);
        largest = Math.max(largest, m.length);
      });
      ratios.push(() => {
        answer.largestRatio = Math.max(answer.largestRatio, largest / packet.length);
        return 0;
      });
      pending.push(new Promise((resolve) => socket.send(packet, port, HOST, () => resolve())));
    }
  }
  await Promise.all(pending);
  await sleep(ms);
  for (const r of ratios) r();
  for (const a of answers) a.replyBytes = a.replies.reduce((n, b) => n + b.length, 0);
  return answers;
}

describe('version negotiation and stateless answers', () => {
  it('answers an unknown version with a VN no larger than the packet; garbage and bad headers get nothing bigger than they are', async () => {
    const srv = await ServerProcess.start(serverIdentity());
    server = srv;
    const initial = makeInitials(1, srv.port)[0]!;
    const dcid = initial.subarray(6, 6 + initial[5]!);
    const scidAt = 6 + initial[5]!;
    const scid = initial.subarray(scidAt + 1, scidAt + 1 + initial[scidAt]!);
    const garbage = (n: number, min: number, max: number): Buffer[] =>
      Array.from({ length: n }, () => randomBytes(min + Math.floor(Math.random() * (max - min + 1))));

    const answers = await probe(srv.port, [
      { name: 'unknown version, 1200 bytes', packets: [reversion(initial, GREASE_VERSION)] },
      {
        name: 'unknown version, 20-byte CIDs, 1200 bytes',
        packets: [longPacket(GREASE_VERSION, randomBytes(20), randomBytes(20), 1200)],
      },
      {
        name: 'unknown version, 1199 bytes',
        packets: [reversion(initial, GREASE_VERSION).subarray(0, 1199)],
      },
      { name: 'unknown version, 60 bytes', packets: [reversion(initial, GREASE_VERSION).subarray(0, 60)] },
      { name: 'QUIC v2 Initial (type bits 01)', packets: [reversion(initial, QUIC_V2, 0xd0)] },
      {
        name: 'unknown version, DCID of 4 bytes',
        packets: [longPacket(GREASE_VERSION, randomBytes(4), randomBytes(8), 1200)],
      },
      { name: 'version 0 (a VN packet)', packets: [longPacket(0, randomBytes(16), randomBytes(8), 1200)] },
      { name: 'genuine Initial cut to 1000 bytes', packets: [initial.subarray(0, 1000)] },
      { name: 'genuine Initial cut to 100 bytes', packets: [initial.subarray(0, 100)] },
      {
        name: 'short header, unknown DCID',
        packets: garbage(50, 20, 1200).map((b) => withFirst(b, 0x40 | (b[0]! & 0x3f))),
      },
      { name: 'random bytes, 1..1199', packets: garbage(100, 1, 1199) },
      { name: 'random bytes, 1200..1500', packets: garbage(100, 1200, 1500) },
      {
        name: 'long-header random bytes, 1..1500',
        packets: garbage(100, 1, 1500).map((b) => withFirst(b, 0x80 | b[0]!)),
      },
    ]);
    const by = new Map(answers.map((a) => [a.name, a]));
    const s = await srv.sample();
    report('version negotiation', {
      answers: answers.map((a) => ({
        name: a.name,
        sent: a.sent,
        sentBytes: a.sentBytes,
        replies: a.replies.length,
        replyBytes: a.replyBytes,
      })),
      stats: s.stats,
    });

    // Never more bytes back than came in, for any datagram.
    for (const a of answers) {
      expect(a.largestRatio, a.name).toBeLessThanOrEqual(1);
      expect(a.replyBytes, a.name).toBeLessThanOrEqual(a.sentBytes);
      expect(a.replies.length, a.name).toBeLessThanOrEqual(a.sent);
    }
    // The real thing: one VN, version 0, CIDs swapped, offering QUIC v1.
    const vn = by.get('unknown version, 1200 bytes')!;
    expect(vn.replies).toHaveLength(1);
    const reply = vn.replies[0]!;
    expect(reply[0]! & 0x80).toBe(0x80);
    expect(reply.readUInt32BE(1)).toBe(0);
    expect(reply.subarray(6, 6 + reply[5]!).equals(scid)).toBe(true);
    const at = 6 + reply[5]!;
    expect(reply.subarray(at + 1, at + 1 + reply[at]!).equals(dcid)).toBe(true);
    const versions: number[] = [];
    for (let o = at + 1 + reply[at]!; o + 4 <= reply.length; o += 4) versions.push(reply.readUInt32BE(o));
    expect(versions).toContain(1);
    for (const name of [
      'unknown version, 20-byte CIDs, 1200 bytes',
      'QUIC v2 Initial (type bits 01)',
      'unknown version, DCID of 4 bytes',
    ])
      expect(by.get(name)!.replies, name).toHaveLength(1);
    // Nothing for what cannot start a connection, nor for anything under 1200 bytes.
    for (const name of [
      'unknown version, 1199 bytes',
      'unknown version, 60 bytes',
      'version 0 (a VN packet)',
      'short header, unknown DCID',
      'genuine Initial cut to 1000 bytes',
      'genuine Initial cut to 100 bytes',
      'random bytes, 1..1199',
    ])
      expect(by.get(name)!.replies, name).toHaveLength(0);
    // A cut Initial never reached quiche: no connection was created for it.
    expect(s.stats.accepted).toBe(0);
    // Nothing is kept for any of it.
    const settled = await srv.until((x) => x.connections === 0, 3000, 'no connection to remain');
    expect(settled.stats.handshaking).toBe(0);
    expect(settled.resources.connections).toBe(0);
  }, 30_000);

  it('10 000 unknown-version Initials in 1 s: at most one VN each, no bigger, no state, bounded memory; legit clients served', async () => {
    const srv = await ServerProcess.start(serverIdentity());
    server = srv;
    expect((await visit(srv.port, clientConfig(), 'warm')).echoed).toBe('warm');
    await srv.until((x) => x.connections === 0, 5000, 'the warm-up connection to close');
    const base = await srv.gc();
    await srv.peakReset();
    const template = reversion(makeInitials(1, srv.port)[0]!, GREASE_VERSION);
    const packets = Array.from({ length: 10_000 }, () => {
      const p = Buffer.from(template);
      randomBytes(16).copy(p, 6); // a fresh DCID each
      return p;
    });
    const socket = await bindUdp();
    sockets.push(socket);
    let replies = 0;
    let replyBytes = 0;
    let largest = 0;
    socket.on('message', (m) => {
      replies++;
      replyBytes += m.length;
      largest = Math.max(largest, m.length);
    });
    const flood = paced([socket], packets, srv.port, 1000);
    await sleep(400);
    const during = await visit(srv.port, clientConfig(), 'during');
    await flood;
    await sleep(300);
    const end = await srv.sample();
    report('version negotiation flood', {
      sent: packets.length,
      sentBytes: packets.length * template.length,
      replies,
      replyBytes,
      largestReply: largest,
      versionNegotiations: end.stats.versionNegotiations - base.stats.versionNegotiations,
      legitJoinMsDuring: Math.round(during.joinMs),
      peakRssGrowth: mib(end.peak.rss - base.rss),
      peakHeapGrowth: mib(end.peak.heapUsed - base.heapUsed),
    });

    expect(during.echoed).toBe('during');
    expect(replies).toBeLessThanOrEqual(packets.length);
    expect(replies).toBeGreaterThan(packets.length * 0.9); // loopback may drop a few under load
    expect(largest).toBeLessThanOrEqual(template.length);
    expect(end.stats.versionNegotiations - base.stats.versionNegotiations).toBeLessThanOrEqual(
      packets.length,
    );
    expect(end.peak.connections).toBeLessThanOrEqual(1); // the legitimate client only
    expect(end.stats.accepted).toBe(base.stats.accepted + 1);
    expect(end.peak.rss - base.rss).toBeLessThan(RSS_BOUND);
    expect(end.peak.heapUsed - base.heapUsed).toBeLessThan(HEAP_BOUND);
    const drained = await srv.until((x) => x.connections === 0, 5000, 'the legitimate connection to close');
    expect(drained.resources.connections).toBe(base.resources.connections);
  }, 30_000);
});
