/**
 * Where TLS secrets and trust come from and go to: key log lines by event
 * and callback, SSLKEYLOGFILE on clients only, NODE_EXTRA_CA_CERTS read as
 * node:tls does (in a child process, whose environment we choose), and a
 * private key given in memory that never reaches a file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tlsFixtures } from '../../../test/support/tls-fixtures.js';
import { Config, connect, type Listener, listen } from '../src/index.js';
import { echoStreams } from './support/fixtures.js';
import { echo, until } from './support/net.js';

const fx = tlsFixtures();
const work = mkdtempSync(path.join(tmpdir(), 'quichex-secrets-test-'));
const listeners: Listener[] = [];
afterAll(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  rmSync(work, { recursive: true, force: true });
});

async function server(options: { keylogFile?: string } = {}): Promise<Listener> {
  const l = await listen({
    host: '127.0.0.1',
    port: 0,
    config: new Config({ alpn: ['test'], cert: fx.leaf.cert, key: fx.leaf.key }),
    onConnection: echoStreams,
    ...options,
  });
  listeners.push(l);
  return l;
}

/** The label and secret of NSS key log lines, without the client random (same on both sides). */
const secrets = (lines: string[]): string[] =>
  lines.map((l) => l.trim().split(' ')).map(([label, , secret]) => `${label} ${secret}`);

describe('key log', () => {
  it("the listener's 'keylog' event and a client's onKeylog see the same secrets", async () => {
    const l = await server();
    const serverLines: string[] = [];
    const owners = new Set<unknown>();
    l.on('keylog', (line, conn) => {
      expect(Buffer.isBuffer(line)).toBe(true);
      serverLines.push(line.toString('latin1'));
      owners.add(conn);
    });
    const clientLines: string[] = [];
    let resolved = false;
    const conn = await connect({
      host: '127.0.0.1',
      port: l.address().port,
      serverName: 'localhost',
      config: new Config({ alpn: ['test'], ca: fx.rootCa.cert }),
      onKeylog: (line) => {
        // Lines arrive from the handshake on, before connect() resolves.
        if (!resolved) clientLines.push(line.toString('latin1'));
      },
    });
    resolved = true;
    expect(await echo(conn, 'k')).toBe('k');
    await until(() => serverLines.length >= 5, 3000, 'the server key log');
    for (const line of [...clientLines, ...serverLines])
      expect(line).toMatch(/^[A-Z0-9_]+ [0-9a-f]{64} [0-9a-f]+\n$/);
    expect(clientLines.map((x) => x.split(' ')[0])).toEqual(
      expect.arrayContaining([
        'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
        'SERVER_HANDSHAKE_TRAFFIC_SECRET',
        'CLIENT_TRAFFIC_SECRET_0',
        'SERVER_TRAFFIC_SECRET_0',
      ]),
    );
    expect(secrets(serverLines).sort()).toEqual(secrets(clientLines).sort());
    expect(owners.size).toBe(1);
    await conn.close();
  });

  it('SSLKEYLOGFILE is written by clients only; a server writes where keylogFile says', async () => {
    const envFile = path.join(work, 'env.keylog');
    const serverFile = path.join(work, 'server.keylog');
    const saved = process.env.SSLKEYLOGFILE;
    process.env.SSLKEYLOGFILE = envFile;
    try {
      const plain = await server();
      const clientLines: string[] = [];
      const conn = await connect({
        host: '127.0.0.1',
        port: plain.address().port,
        serverName: 'localhost',
        config: new Config({ alpn: ['test'], ca: fx.rootCa.cert }),
        onKeylog: (line) => clientLines.push(line.toString('latin1')),
      });
      await echo(conn, 'x');
      await conn.close();
      // Only the client's lines: the server ignored the environment.
      expect(readFileSync(envFile, 'latin1')).toBe(clientLines.join(''));

      const logging = await server({ keylogFile: serverFile });
      const second = await connect({
        host: '127.0.0.1',
        port: logging.address().port,
        serverName: 'localhost',
        config: new Config({ alpn: ['test'], ca: fx.rootCa.cert }),
      });
      await echo(second, 'y');
      await second.close();
      await until(
        () => readFileSync(serverFile, 'latin1').split('\n').length > 5,
        3000,
        'the server key log file',
      );
      const written = readFileSync(serverFile, 'latin1').split(/(?<=\n)/);
      const clientFile = readFileSync(envFile, 'latin1')
        .split(/(?<=\n)/)
        .slice(clientLines.length);
      expect(secrets(written).sort()).toEqual(secrets(clientFile).sort());
    } finally {
      if (saved === undefined) delete process.env.SSLKEYLOGFILE;
      else process.env.SSLKEYLOGFILE = saved;
    }
  });
});

describe('trust from the environment', () => {
  it('NODE_EXTRA_CA_CERTS adds to the default trust, as node:tls does', async () => {
    const l = await server();
    const caFile = path.join(work, 'extra-ca.pem');
    writeFileSync(caFile, fx.rootCa.cert);
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const { Config, connect } = await import(${JSON.stringify(entry)});
      const config = new Config({ alpn: ['test'] });
      try {
        const conn = await connect({ host: '127.0.0.1', port: ${l.address().port}, serverName: 'localhost', config, handshakeTimeout: 5000 });
        console.log(JSON.stringify({ authorized: conn.info().authorized }));
        await conn.close();
      } catch (err) {
        console.log(JSON.stringify({ error: err.authorizationError ?? err.message }));
      }
      config.free();
    `;
    const run = async (env: NodeJS.ProcessEnv): Promise<unknown> => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        env,
        timeout: 20_000,
      });
      return JSON.parse(stdout.trim().split('\n').pop()!);
    };
    const base = { ...process.env };
    delete base.NODE_EXTRA_CA_CERTS;
    expect(await run({ ...base, NODE_EXTRA_CA_CERTS: caFile })).toEqual({ authorized: true });
    expect(await run(base)).toEqual({ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  }, 45_000);
});

describe('a private key in memory', () => {
  it('is never written to a file: nothing appears in the temp directory, no file is opened', async () => {
    const privateTmp = mkdtempSync(path.join(work, 'tmp-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    const created: string[] = [];
    const watcher = watch(privateTmp, (_event, name) => created.push(String(name)));
    const openFiles = (): Set<string> => {
      const out = new Set<string>();
      for (const fd of readdirSync('/proc/self/fd')) {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          if (target.startsWith('/')) out.add(target);
        } catch {
          // closed while listing
        }
      }
      return out;
    };
    const before = openFiles();
    const seenDuring = new Set<string>();
    const sample = (): void => {
      for (const f of openFiles()) if (!before.has(f)) seenDuring.add(f);
    };
    try {
      expect(tmpdir()).toBe(privateTmp);
      const config = new Config({
        alpn: ['test'],
        cert: fx.encrypted.cert,
        key: fx.encrypted.key,
        passphrase: fx.encrypted.passphrase,
      });
      sample();
      const l = await listen({ host: '127.0.0.1', port: 0, config, onConnection: echoStreams });
      listeners.push(l);
      sample();
      const conn = await connect({
        host: '127.0.0.1',
        port: l.address().port,
        serverName: 'localhost',
        config: new Config({ alpn: ['test'], ca: fx.rootCa.cert, cert: fx.client.cert, key: fx.client.key }),
      });
      sample();
      expect(await echo(conn, 'secret')).toBe('secret');
      await conn.close();
      sample();
      await new Promise((r) => setTimeout(r, 50));
      expect(created).toEqual([]);
      expect(readdirSync(privateTmp)).toEqual([]);
      // Sockets and pipes are not paths; a regular file opened on our behalf would be.
      expect([...seenDuring].filter((f) => !f.startsWith('/dev/'))).toEqual([]);
    } finally {
      watcher.close();
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
  });

  it('the engine has no code path that writes PEM to disk', () => {
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\b(writeFileSync|mkdtempSync|writeFile|mkdtemp)\b/.test(readFileSync(file, 'utf8')))
          offenders.push(file);
      }
    };
    walk(src);
    expect(offenders).toEqual([]);
  });
});
