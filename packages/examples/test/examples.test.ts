import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatClient, ChatServer, waitFor } from '../src/chat.js';
import { ask, serveWith, UppercaseHandler } from '../src/connection-handler.js';
import { runTelemetry } from '../src/datagrams.js';
import { echoRoundTrip } from '../src/echo.js';
import { transferFile } from '../src/file-transfer.js';
import { localConfigs } from '../src/shared.js';

describe('examples', () => {
  it('echo: a message comes back unchanged', async () => {
    expect(await echoRoundTrip('héllo, QUIC ✓')).toBe('héllo, QUIC ✓');
  });

  it('file transfer: 8 MiB upload stored intact, digests agree, progress reaches the total', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'quichex-ex-'));
    try {
      const file = path.join(dir, 'source.bin');
      writeFileSync(file, randomBytes(8 * 1024 * 1024));
      const progress: number[] = [];
      const r = await transferFile(file, (sent) => progress.push(sent));
      expect(r.bytes).toBe(8 * 1024 * 1024);
      expect(r.serverSha256).toBe(r.sha256);
      expect(readFileSync(r.storedAt).equals(readFileSync(file))).toBe(true);
      expect(progress.at(-1)).toBe(8 * 1024 * 1024);
      rmSync(path.dirname(r.storedAt), { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('chat: lines are broadcast to every other member, and leaving is announced', async () => {
    const configs = await localConfigs('chat');
    const server = new ChatServer();
    try {
      const port = await server.start(configs);
      const ada = new ChatClient();
      const bob = new ChatClient();
      const cy = new ChatClient();
      await ada.join(port, configs, 'ada');
      await bob.join(port, configs, 'bob');
      await cy.join(port, configs, 'cy');
      await waitFor(() => ada.received.includes('* cy joined') && bob.received.includes('* cy joined'));
      await ada.say('hello');
      await waitFor(() => bob.received.includes('ada: hello') && cy.received.includes('ada: hello'));
      expect(ada.received).not.toContain('ada: hello');
      await cy.leave();
      await waitFor(() => ada.received.includes('* cy left'));
      await ada.leave();
      await bob.leave();
    } finally {
      await server.stop();
      configs.free();
    }
  });

  it('datagrams: telemetry arrives in order on loopback and the newest state wins', async () => {
    const r = await runTelemetry(300, 1);
    expect(r.received).toBeGreaterThan(0);
    expect(r.received + r.gaps).toBeLessThanOrEqual(r.sent + r.reordered);
    expect(r.lastSeq).toBeLessThan(r.sent);
    expect(r.last).not.toBeNull();
  });

  it('connection handler: a failing handler closes only its own connection', async () => {
    const configs = await localConfigs('supervised');
    const listener = await serveWith(configs, () => new UppercaseHandler());
    try {
      const port = listener.address().port;
      const [healthy, crashed] = await Promise.all([ask(port, configs, 'one'), ask(port, configs, 'crash')]);
      expect(healthy.reply).toBe('ONE');
      expect(crashed.reply).toBeNull();
      expect(crashed.closed.local).toBe(false);
      expect(crashed.closed.type).toBe('application');
      expect(crashed.closed.errorCode).toBe(1n);
      expect((await ask(port, configs, 'two')).reply).toBe('TWO');
    } finally {
      await listener.close();
      configs.free();
    }
  });
});
