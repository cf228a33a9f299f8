import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestCerts } from '../../../test/support/certs.js';
import { quichex, startServe } from './support.js';

const work = mkdtempSync(path.join(tmpdir(), 'quichex-cli-'));
const certs = generateTestCerts();
const serverCert = ['--cert', certs.cert, '--key', certs.key];
const trust = ['--ca', certs.caCert, '--server-name', 'localhost'];

beforeAll(() => {
  // The self-signed certificate of "serve" without --cert goes here, not in $HOME.
  process.env.XDG_CONFIG_HOME = path.join(work, 'config');
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  certs.cleanup();
});

describe('quichex CLI: help and usage errors', () => {
  it('prints help for every command and exits 0', async () => {
    for (const cmd of ['serve', 'connect', 'get', 'bench', 'demo']) {
      const r = await quichex(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: quichex /);
    }
    const top = await quichex('--help');
    expect(top.code).toBe(0);
    expect(top.out).toContain('Commands:');
  });

  it('rejects an unknown command and a bad address with exit code 2 and one clear line', async () => {
    expect((await quichex('frobnicate')).code).toBe(2);
    const bad = await quichex('connect', 'not-an-address');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/bad address "not-an-address": expected HOST:PORT/);
    const badOpt = await quichex('serve', '--mode', 'telnet');
    expect(badOpt.code).toBe(2);
    expect(badOpt.err).toContain('bad --mode');
  });

  it('names a missing certificate file', async () => {
    const r = await quichex(
      'serve',
      '--cert',
      path.join(work, 'missing.pem'),
      '--key',
      path.join(work, 'missing.key'),
    );
    expect(r.code).toBe(2); // an argument that names no readable file is an invalid argument
    expect(r.err).toContain('missing.pem');
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('says when the port is in use', async () => {
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    try {
      const r = await quichex(
        'serve',
        ...serverCert,
        '--host',
        '127.0.0.1',
        '--port',
        String(sock.address().port),
      );
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/EADDRINUSE.*--port/);
    } finally {
      sock.close();
    }
  });

  it('says when the peer is unreachable', async () => {
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const port = sock.address().port;
    sock.close();
    const r = await quichex('connect', `127.0.0.1:${port}`, '--insecure', '--timeout', '1500');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unreachable|did not answer/);
  });
});

describe('quichex CLI against quichex serve', () => {
  it('serve generates a self-signed certificate on first use and prints its fingerprint', async () => {
    const server = await startServe();
    try {
      expect(server.err()).toMatch(/generated self-signed certificate .*localhost-cert\.pem/);
      expect(server.err()).toMatch(/SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      const certFile = path.join(work, 'config', 'quichex', 'localhost-cert.pem');
      const r = await quichex(
        'connect',
        `127.0.0.1:${server.port}`,
        '--ca',
        certFile,
        '--server-name',
        'localhost',
      );
      expect(r.code).toBe(0);
      expect(r.err).toContain('ALPN quichex');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('connect sends on several streams and echoes a datagram; a wrong CA is a TLS failure', async () => {
    const server = await startServe(...serverCert);
    try {
      const file = path.join(work, 'hello.txt');
      writeFileSync(file, 'hello over quic\n');
      const r = await quichex(
        'connect',
        `127.0.0.1:${server.port}`,
        ...trust,
        '--send',
        file,
        '--streams',
        '3',
        '--datagram',
        'ping',
      );
      expect(r.code).toBe(0);
      expect(r.out).toContain('datagram echo: ping');
      expect(r.out.split('hello over quic').length - 1).toBe(3);
      const wrong = await quichex(
        'connect',
        `127.0.0.1:${server.port}`,
        '--ca',
        certs.otherCaCert,
        '--server-name',
        'localhost',
      );
      expect(wrong.code).toBe(1);
      expect(wrong.err).toMatch(/TLS handshake failed/);
    } finally {
      await server.stop();
    }
  });

  it('get downloads 100 MB from serve --mode file with progress lines and a verified SHA-256', async () => {
    const root = path.join(work, 'files');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(root, { recursive: true });
    const source = path.join(root, 'big.bin');
    const hash = createHash('sha256');
    const out = createWriteStream(source);
    const block = randomBytes(1024 * 1024);
    for (let i = 0; i < 100; i++) {
      block[0] = i;
      hash.update(block);
      if (!out.write(Buffer.from(block))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const server = await startServe(...serverCert, '--mode', 'file', '--root', root);
    try {
      const dest = path.join(work, 'downloaded.bin');
      const r = await quichex('get', `127.0.0.1:${server.port}/big.bin`, '--out', dest, ...trust);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/100\.0%\s+100\.0 MiB \/ 100\.0 MiB .*\/s\s+ETA/);
      expect(r.err).toContain(`SHA-256 ${hash.digest('hex')} verified (104857600 bytes)`);
      expect(createHash('sha256').update(readFileSync(dest)).digest('hex')).toBe(
        createHash('sha256').update(readFileSync(source)).digest('hex'),
      );
      const missing = await quichex(
        'get',
        `127.0.0.1:${server.port}/nope.bin`,
        '--out',
        path.join(work, 'x'),
        ...trust,
      );
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('not found');
      const outside = await quichex(
        'get',
        `127.0.0.1:${server.port}/../../etc/passwd`,
        '--out',
        path.join(work, 'y'),
        ...trust,
      );
      expect(outside.code).not.toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('bench reports upload throughput and request/response percentiles', async () => {
    const discard = await startServe(...serverCert, '--mode', 'discard');
    const echo = await startServe(...serverCert, '--mode', 'echo');
    try {
      const up = await quichex(
        'bench',
        `127.0.0.1:${discard.port}`,
        ...trust.slice(0, 2),
        '--bytes',
        '8M',
        '--streams',
        '2',
      );
      expect(up.code).toBe(0);
      expect(up.out).toMatch(/upload: 8\.4 MB on 2 stream\(s\) in [\d.]+ s = [\d.]+ MB\/s/);
      expect(up.out).toMatch(/connection: \d+ packets sent/);
      const rr = await quichex('bench', `127.0.0.1:${echo.port}`, ...trust.slice(0, 2), '--rr', '200');
      expect(rr.code).toBe(0);
      expect(rr.out).toMatch(/request\/response \(200 × 32 B\): p50 \d+ µs, p90 \d+ µs, p99 \d+ µs/);
    } finally {
      await discard.stop();
      await echo.stop();
    }
  });

  it('serve --qlog-dir writes one JSON-SEQ qlog per connection named by its trace id', async () => {
    const qlogDir = path.join(work, 'qlog');
    const server = await startServe(...serverCert, '--qlog-dir', qlogDir);
    try {
      expect((await quichex('connect', `127.0.0.1:${server.port}`, ...trust)).code).toBe(0);
    } finally {
      await server.stop();
    }
    const files = readdirSync(qlogDir);
    expect(files).toHaveLength(1);
    const traceId = /^([0-9a-f]+)-server\.sqlog$/.exec(files[0] as string)?.[1];
    expect(traceId).toBeDefined();
    const records = readFileSync(path.join(qlogDir, files[0] as string), 'utf8')
      .split('\x1e')
      .filter((r) => r.trim() !== '')
      .map((r) => JSON.parse(r) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(2);
    expect(records[0]?.serialization_format).toBe('JSON-SEQ');
    expect(JSON.stringify(records[0])).toContain(traceId as string);
  });
});

describe('quichex demo', () => {
  it('runs a client and server in-process and prints a correct summary', async () => {
    const r = await quichex('demo', '--bytes', '4M', '--streams', '4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/handshake\s+[\d.]+ ms, ALPN "quichex-demo"/);
    expect(r.out).toContain('4 concurrent echoes, 10240 bytes verified');
    expect(r.out).toMatch(/bulk transfer\s+4\.0 MiB in \d+ ms = [\d.]+ MB\/s, SHA-256 match/);
    expect(r.out).toMatch(/path\s+RTT [\d.]+ ms, cwnd \d+ bytes/);
  });
});
