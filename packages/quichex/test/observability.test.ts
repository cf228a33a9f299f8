import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, enableQuicheDebugLog, listen } from '../src/index.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';
import { pair } from './support/pair.js';

const dir = mkdtempSync(path.join(tmpdir(), 'quichex-obs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('observability', () => {
  it('publishes connection, stream, datagram and close events on diagnostics channels', async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    const names = [
      'quichex:connection:created',
      'quichex:connection:established',
      'quichex:connection:closed',
      'quichex:stream:opened',
      'quichex:stream:closed',
      'quichex:datagram',
    ];
    const handlers = names.map((name) => {
      const fn = (msg: unknown): void => {
        seen.push([name, msg as Record<string, unknown>]);
      };
      diagnostics_channel.subscribe(name, fn);
      return [name, fn] as const;
    });
    try {
      const p = await pair({ server: { dgram: true }, client: { dgram: true } });
      const s = await p.client.openStream();
      await s.end('x');
      const remote = await p.server.acceptStream();
      await remote!.readAll();
      await remote!.end();
      await s.readAll();
      p.client.sendDatagram('d');
      await p.server.receiveDatagram();
      await p.close();
      const count = (name: string): number => seen.filter(([n]) => n === name).length;
      expect(count('quichex:connection:created')).toBe(2);
      expect(count('quichex:connection:established')).toBe(2);
      expect(count('quichex:connection:closed')).toBe(2);
      expect(count('quichex:stream:opened')).toBe(2);
      expect(count('quichex:stream:closed')).toBe(2);
      const dgrams = seen.filter(([n]) => n === 'quichex:datagram').map(([, m]) => [m.direction, m.size]);
      expect(dgrams).toEqual(
        expect.arrayContaining([
          ['out', 1],
          ['in', 1],
        ]),
      );
      const created = seen.find(([n]) => n === 'quichex:connection:created')?.[1];
      expect(typeof created?.isServer).toBe('boolean');
      const closed = seen.find(([n]) => n === 'quichex:connection:closed')?.[1] as { info: { code: string } };
      expect(closed.info.code).toBe('ERR_QUIC_APPLICATION_CLOSED');
    } finally {
      for (const [name, fn] of handlers) diagnostics_channel.unsubscribe(name, fn);
    }
  });

  it('reports packet loss on its channel when packets are dropped', async () => {
    const losses: number[] = [];
    const onLoss = (m: unknown): void => {
      losses.push((m as { lost: number }).lost);
    };
    diagnostics_channel.subscribe('quichex:packet-loss', onLoss);
    // A relay that drops every 5th datagram between client and server.
    const dgram = await import('node:dgram');
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig(),
      onConnection: echoStreams,
    });
    const relay = dgram.createSocket('udp4');
    await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
    let client: { address: string; port: number } | null = null;
    let n = 0;
    relay.on('message', (msg, rinfo) => {
      if (rinfo.port === listener.address().port) {
        if (client) relay.send(msg, client.port, client.address);
        return;
      }
      client = { address: rinfo.address, port: rinfo.port };
      if (++n % 5 !== 0) relay.send(msg, listener.address().port, '127.0.0.1');
    });
    try {
      const conn = await connect({
        host: '127.0.0.1',
        port: relay.address().port,
        config: clientConfig(),
        serverName: 'localhost',
      });
      const s = await conn.openStream();
      const back = s.readAll();
      await s.end(Buffer.alloc(512 * 1024, 1));
      expect((await back).length).toBe(512 * 1024);
      expect(conn.stats().lost).toBeGreaterThan(0);
      await conn.close();
      expect(losses.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      diagnostics_channel.unsubscribe('quichex:packet-loss', onLoss);
      relay.close();
      await listener.close({ timeoutMs: 1000 });
    }
  });

  it('writes a qlog per connection and a TLS key log, and forwards quiche debug lines', async () => {
    const qlogDir = path.join(dir, 'qlog');
    const keylogFile = path.join(dir, 'keys.log');
    const lines: string[] = [];
    enableQuicheDebugLog((line) => lines.push(line));
    try {
      const listener = await listen({
        host: '127.0.0.1',
        port: 0,
        config: serverConfig(),
        qlogDir,
        onConnection: echoStreams,
      });
      try {
        const conn = await connect({
          host: '127.0.0.1',
          port: listener.address().port,
          config: clientConfig(),
          serverName: 'localhost',
          qlogDir,
          keylogFile,
        });
        const traceId = conn.info().traceId;
        const s = await conn.openStream();
        await s.end('q');
        await s.readAll();
        await conn.close();
        const files = readdirSync(qlogDir);
        expect(files).toContain(`${traceId}-client.sqlog`);
        expect(files.some((f) => f.endsWith('-server.sqlog'))).toBe(true);
        const first = readFileSync(path.join(qlogDir, `${traceId}-client.sqlog`), 'utf8').split(
          '\x1e',
        )[1] as string;
        expect((JSON.parse(first) as { serialization_format: string }).serialization_format).toBe('JSON-SEQ');
        const keys = readFileSync(keylogFile, 'utf8');
        expect(keys).toMatch(/^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$/m);
        expect(keys).toMatch(/^CLIENT_TRAFFIC_SECRET_0 /m);
      } finally {
        await listener.close({ timeoutMs: 1000 });
      }
      expect(lines.length).toBeGreaterThan(10);
      expect(lines.some((l) => /quiche/i.test(l))).toBe(true);
    } finally {
      enableQuicheDebugLog(null);
    }
  });
});
