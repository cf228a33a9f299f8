/**
 * File transfer: the client uploads a file on one stream with progress
 * reports; the server stores it and answers with the SHA-256 it computed,
 * which the client compares with its own.
 *
 * Run: `node packages/examples/dist/file-transfer.js FILE`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { type Connection, connect, listen } from 'quichex';
import { isMain, localConfigs } from './shared.js';

/** Result of {@link transferFile}. */
export interface TransferResult {
  readonly bytes: number;
  readonly sha256: string;
  readonly serverSha256: string;
  readonly storedAt: string;
  readonly ms: number;
}

/** Stores each uploaded stream under `dir` and answers with its digest. */
function receiveInto(dir: string): (conn: Connection) => Promise<void> {
  return async (conn) => {
    let n = 0;
    for await (const stream of conn.streams()) {
      const file = path.join(dir, `upload-${n++}`);
      void (async () => {
        const out = createWriteStream(file);
        const hash = createHash('sha256');
        for await (const chunk of stream) {
          hash.update(chunk);
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        out.end();
        await finished(out);
        await stream.end(JSON.stringify({ sha256: hash.digest('hex'), storedAt: file }));
      })().catch(() => stream.reset(1));
    }
  };
}

/** Uploads `file` to a local server; calls `onProgress(sent, total)` as it goes. */
export async function transferFile(
  file: string,
  onProgress?: (sent: number, total: number) => void,
): Promise<TransferResult> {
  const total = (await stat(file)).size;
  const dir = await mkdtemp(path.join(tmpdir(), 'quichex-upload-'));
  const configs = await localConfigs('file-transfer');
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config: configs.server,
    onConnection: receiveInto(dir),
  });
  try {
    const conn = await connect({ host: 'localhost', port: listener.address().port, config: configs.client });
    try {
      const t0 = performance.now();
      const stream = await conn.openStream();
      const reply = stream.readAll();
      const hash = createHash('sha256');
      let sent = 0;
      for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
        hash.update(chunk as Buffer);
        await stream.write(chunk as Buffer); // resolves when quiche took it: backpressure
        sent += (chunk as Buffer).length;
        onProgress?.(sent, total);
      }
      await stream.end();
      const answer = JSON.parse((await reply).toString()) as { sha256: string; storedAt: string };
      return {
        bytes: sent,
        sha256: hash.digest('hex'),
        serverSha256: answer.sha256,
        storedAt: answer.storedAt,
        ms: performance.now() - t0,
      };
    } finally {
      await conn.close();
    }
  } finally {
    await listener.close();
    configs.free();
  }
}

if (isMain(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: file-transfer.js FILE');
    process.exit(2);
  }
  let last = 0;
  transferFile(file, (sent, total) => {
    const pct = Math.floor((sent / Math.max(1, total)) * 100);
    if (pct >= last + 10 || sent === total) {
      last = pct;
      console.log(`sent ${sent} / ${total} bytes (${pct}%)`);
    }
  }).then((r) => {
    const ok = r.sha256 === r.serverSha256;
    console.log(
      `${r.bytes} bytes in ${r.ms.toFixed(0)} ms; SHA-256 ${ok ? 'verified' : 'MISMATCH'} ${r.sha256}`,
    );
    process.exitCode = ok ? 0 : 1;
  });
}
