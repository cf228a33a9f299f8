/**
 * `quichex serve --h3 --dir` and `quichex get --h3`: a static file server
 * and a download over HTTP/3, as processes, with content types, lengths,
 * 404, 405 and a verified SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, fetch } from '@quichex/h3';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTestCerts } from '../../../test/support/certs.js';
import { contentType } from '../src/h3.js';
import { quichex, startServe } from './support.js';

const work = mkdtempSync(path.join(tmpdir(), 'quichex-cli-h3-'));
const certs = generateTestCerts();
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  certs.cleanup();
});

describe('quichex serve --h3 / get --h3', () => {
  it('serves a directory over HTTP/3 and get --h3 downloads a file intact', async () => {
    const root = path.join(work, 'www');
    mkdirSync(path.join(root, 'docs'), { recursive: true });
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(path.join(root, 'blob.bin'), blob);
    writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>\n');
    writeFileSync(path.join(root, 'docs', 'a.json'), '{"a":1}\n');
    const server = await startServe('--h3', '--dir', root, '--cert', certs.cert, '--key', certs.key);
    const agent = new Agent({ ca: readFileSync(certs.caCert) });
    try {
      expect(server.out()).toMatch(/HTTP\/3, files under /);
      const out = path.join(work, 'blob.out');
      const r = await quichex(
        'get',
        '--h3',
        `https://localhost:${server.port}/blob.bin`,
        '--out',
        out,
        '--ca',
        certs.caCert,
      );
      expect(r.code).toBe(0);
      const digest = createHash('sha256').update(blob).digest('hex');
      expect(r.err).toContain(`SHA-256 ${digest} (${blob.length} bytes over HTTP/3)`);
      expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(digest);

      const base = `https://localhost:${server.port}`;
      const home = await fetch(`${base}/`, { agent });
      expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await home.text()).toBe('<h1>home</h1>\n');
      const json = await fetch(`${base}/docs/a.json`, { agent, method: 'HEAD' });
      expect([json.status, json.headers.get('content-type'), json.headers.get('content-length')]).toEqual([
        200,
        'application/json',
        '8',
      ]);
      const missing = await fetch(`${base}/nope`, { agent });
      expect(missing.status).toBe(404);
      await missing.text();
      const outside = await fetch(`${base}/..%2F..%2Fetc%2Fpasswd`, { agent });
      expect(outside.status).toBe(404);
      await outside.text();
      const post = await fetch(`${base}/blob.bin`, { agent, method: 'POST', body: 'x' });
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      await post.text();

      const notFound = await quichex(
        'get',
        '--h3',
        `localhost:${server.port}/nope`,
        '--out',
        out,
        '--ca',
        certs.caCert,
      );
      expect(notFound.code).toBe(2);
      expect(notFound.err).toContain('HTTP status 404');
    } finally {
      await agent.close();
      expect(await server.stop()).toBe(0);
    }
  });

  it('names content types by extension', () => {
    expect(contentType('a/b.CSS')).toBe('text/css; charset=utf-8');
    expect(contentType('x.wasm')).toBe('application/wasm');
    expect(contentType('noext')).toBe('application/octet-stream');
  });
});
