/**
 * Memory stays bounded: a 100 MiB download read slowly is held back by
 * flow control (neither side buffers it), response bodies dropped unread
 * release their streams once collected, and a body whose reader is waiting
 * is never collected, even when only that pending read refers to it (in a
 * `node --expose-gc` child, with WeakRefs).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fetch } from '../src/index.js';
import { h3TestKit } from './support.js';

const { fx, start, agentWith } = h3TestKit();
const MiB = 1024 * 1024;

describe('bounded memory', () => {
  it('a 100 MiB download read slowly never buffers more than the windows', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(1);
    let produced = 0;
    const { base: origin } = await start(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              if (produced >= 100 * MiB) controller.close();
              else {
                controller.enqueue(chunk);
                produced += chunk.length;
              }
            },
          }),
        ),
    );
    const agent = agentWith();
    const res = await fetch(`${origin}/`, { agent });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let read = 0;
    let lagMax = 0;
    for (let i = 0; ; i++) {
      const { value, done } = await reader.read();
      if (done) break;
      read += value.length;
      lagMax = Math.max(lagMax, produced - read);
      if (i % 16 === 0) {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
        await new Promise((r) => setTimeout(r, 1)); // a slow reader
      }
    }
    expect(read).toBe(100 * MiB);
    // The producer never ran far ahead of the reader: flow control and the
    // send queue's high-water mark held it back.
    expect(lagMax).toBeLessThan(32 * MiB);
    expect(peak).toBeLessThan(64 * MiB);
  }, 120_000);

  it('response bodies dropped unread are cancelled once collected, and a waiting reader keeps its body', async () => {
    const dir = fx.dir;
    const files = ['cert', 'key', 'ca'].map((n) => path.join(dir, `dropped-${n}.pem`));
    writeFileSync(files[0]!, fx.leaf.cert);
    writeFileSync(files[1]!, fx.leaf.key);
    writeFileSync(files[2]!, fx.rootCa.cert);
    const script = fileURLToPath(new URL('./fixtures/dropped-bodies.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, ...files], {
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.openBefore).toBeGreaterThan(0);
    expect(result).toMatchObject({ openAfter: 0, alive: 0, lateText: 'late body' });
  }, 90_000);
});
