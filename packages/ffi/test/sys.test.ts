import dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createGsoSender, encodeSockaddr, GSO_MAX_BYTES } from '../src/index.js';

function fdOf(socket: dgram.Socket): number {
  const state = Object.getOwnPropertySymbols(socket).find((sym) => sym.description === 'state symbol');
  const fd = state
    ? (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[state]?.handle?.fd
    : undefined;
  if (typeof fd !== 'number') throw new Error('no fd');
  return fd;
}

describe('UDP GSO sender', () => {
  it('splits one sendmsg into datagrams of the segment size, the last one shorter', async () => {
    const gso = createGsoSender();
    expect(gso).not.toBeNull();
    expect(gso!.buffer.length).toBe(GSO_MAX_BYTES);
    const receiver = dgram.createSocket('udp4');
    const sender = dgram.createSocket('udp4');
    receiver.bind(0, '127.0.0.1');
    sender.bind(0, '127.0.0.1');
    await Promise.all([once(receiver, 'listening'), once(sender, 'listening')]);
    try {
      const got: Buffer[] = [];
      receiver.on('message', (m) => got.push(m));
      for (let i = 0; i < 1350 * 2 + 500; i++) gso!.buffer[i] = i % 251;
      const to = encodeSockaddr('127.0.0.1', receiver.address().port);
      expect(gso!.send(fdOf(sender), 1350 * 2 + 500, 1350, to.buf, to.len)).toBe(1350 * 2 + 500);
      for (let i = 0; i < 100 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((m) => m.length)).toEqual([1350, 1350, 500]);
      const joined = Buffer.concat(got);
      for (let i = 0; i < joined.length; i++) if (joined[i] !== i % 251) throw new Error(`byte ${i} differs`);
    } finally {
      receiver.close();
      sender.close();
    }
  });

  it('reports a failure as -errno (a bad descriptor)', () => {
    const gso = createGsoSender();
    expect(gso!.send(-1, 100, 100, null, 0)).toBe(-9); // EBADF
  });
});
