import { Config, type Connection, type Listener, listen } from 'quichex';

export function startEchoServer(cert: string, key: string, port = 0): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port,
    config: new Config({ alpn: ['echo'], cert, key }),
    onConnection: echoStreams,
  });
}

export async function echoStreams(conn: Connection): Promise<void> {
  for await (const stream of conn.streams()) {
    // One task per stream: a slow stream must not hold up the next one.
    void (async () => {
      for await (const chunk of stream) await stream.write(chunk);
      await stream.end();
    })().catch(() => stream.reset(1));
  }
}
