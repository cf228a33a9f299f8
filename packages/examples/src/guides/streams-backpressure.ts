import type { Connection } from 'quichex';

/** Uploads `total` bytes; the server answers with the count it received. */
export async function upload(conn: Connection, total: number): Promise<number> {
  const stream = await conn.openStream();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  for (let sent = 0; sent < total; sent += chunk.length) {
    // Resolves once quiche has taken the bytes: when the peer's window is
    // full, this waits, so no more than one chunk is ever buffered here.
    await stream.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
  }
  await stream.end();
  return Number((await stream.readAll()).toString());
}

/** Server side: reads slowly, then reports the byte count. */
export function countSlowly(conn: Connection): void {
  conn.on('stream', async (stream) => {
    let received = 0;
    for await (const chunk of stream) {
      received += chunk.length;
      await new Promise((resolve) => setTimeout(resolve, 1)); // a slow consumer
    }
    await stream.end(String(received));
  });
}
