/**
 * The `socketBufferSize` option: what the kernel grants (read back with
 * `ss`, from the kernel's socket diagnostics), and its validation.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connect, createEndpoint, listen } from '../src/index.js';
import { useCleanups } from './support/cleanups.js';
import { clientConfig, echoStreams, serverConfig } from './support/fixtures.js';

const cleanups = useCleanups();

/** The receive buffer (`rb`, bytes) the kernel holds for the UDP socket bound to `port`. */
function receiveBuffer(port: number): number {
  const out = execFileSync('ss', ['-uamnH', `sport = :${port}`], { encoding: 'utf8' });
  const rb = /rb(\d+)/.exec(out);
  if (!rb) throw new Error(`no socket on port ${port} in: ${out}`);
  return Number(rb[1]);
}

const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
/** Linux grants min(request, rmem_max) and reports twice that (its bookkeeping). */
const granted = (request: number): number => 2 * Math.min(request, rmemMax);

describe('socketBufferSize', () => {
  it('is what a listener and a client ask the kernel for (4 MiB by default)', async () => {
    const small = await listen({
      host: '127.0.0.1',
      port: 0,
      config: serverConfig(),
      socketBufferSize: 256 * 1024,
      onConnection: echoStreams,
    });
    cleanups.push(() => small.close());
    const usual = await listen({ host: '127.0.0.1', port: 0, config: serverConfig() });
    cleanups.push(() => usual.close());
    expect(receiveBuffer(small.address().port)).toBe(granted(256 * 1024));
    expect(receiveBuffer(usual.address().port)).toBe(granted(4 * 1024 * 1024));

    const conn = await connect({
      host: '127.0.0.1',
      port: small.address().port,
      config: clientConfig(),
      serverName: 'localhost',
      socketBufferSize: 128 * 1024,
    });
    cleanups.push(() => conn.close());
    expect(receiveBuffer(conn.info().localPort)).toBe(granted(128 * 1024));
    // And the connection works over the small buffers.
    const s = await conn.openStream();
    await s.end('through small buffers');
    expect(Buffer.from(await s.readAll()).toString()).toBe('through small buffers');
  });

  it('rejects sizes that are not whole numbers of bytes between 64 KiB and 1 GiB', async () => {
    await expect(createEndpoint({ port: 0, socketBufferSize: 1000 })).rejects.toThrow(RangeError);
    await expect(createEndpoint({ port: 0, socketBufferSize: 2 ** 31 })).rejects.toThrow(/socketBufferSize/);
    await expect(
      listen({ port: 0, config: serverConfig(), socketBufferSize: '1M' as unknown as number }),
    ).rejects.toThrow(TypeError);
    await expect(
      connect({ host: '127.0.0.1', port: 1, config: clientConfig(), socketBufferSize: 1.5 }),
    ).rejects.toThrow(/socketBufferSize/);
  });
});
