import { Config, type Connection } from 'quichex';

/** Configs for moving large amounts of data; raise `packetSize` only where the path carries it. */
export function bulkConfigs(cert: string, key: string, packetSize = 1350) {
  const tuning = {
    maxSendUdpPayloadSize: packetSize, // bytes per UDP datagram sent
    initialMaxData: 32 * 1024 * 1024, // connection window: at least bandwidth × RTT
    initialMaxStreamDataBidiLocal: 16 * 1024 * 1024,
    initialMaxStreamDataBidiRemote: 16 * 1024 * 1024,
    maxConnectionWindow: 64 * 1024 * 1024, // how far quiche may grow the windows
    maxStreamWindow: 32 * 1024 * 1024,
  };
  return {
    server: new Config({ alpn: ['bulk'], cert, key, ...tuning }),
    client: new Config({ alpn: ['bulk'], ca: cert, ...tuning }),
  };
}

/** Sends `bytes` on one stream in 256 KiB writes; returns MB/s once the server has read everything. */
export async function sendBulk(conn: Connection, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(256 * 1024, 1);
  const started = performance.now();
  const stream = await conn.openStream();
  for (let sent = 0; sent < bytes; sent += chunk.length) await stream.write(chunk);
  await stream.end();
  await stream.readAll(); // the server ends its side once it has read our FIN
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}
