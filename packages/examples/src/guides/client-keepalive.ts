import { Config, connect } from 'quichex';

/** A connection that stays open through a quiet spell longer than its idle timeout. */
export async function quietButAlive(port: number, ca: string, quietMs: number) {
  const conn = await connect({
    host: 'localhost',
    port,
    config: new Config({ alpn: ['echo'], ca, maxIdleTimeout: 1000 }),
    // After half the idle timeout without a packet from the server, send a PING;
    // its ACK resets both sides' idle timers. Off by default.
    keepAlive: true,
  });
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  const open = !conn.isClosed;
  await conn.close();
  return open;
}
