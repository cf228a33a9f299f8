import { Config, type Connection, type Listener, listen } from 'quichex';

export function startEchoServer(cert: string, key: string, port = 0): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port,
    config: new Config({ alpn: ['echo'], cert, key }),
    onConnection: echoStreams,
  });
}

export function echoStreams(conn: Connection): void {
  // One handler per stream, run concurrently: a slow stream never holds up the next one.
  // A handler that rejects (a reset, a vanished client) resets its own stream, nothing else.
  conn.on('stream', async (stream) => {
    for await (const chunk of stream) await stream.write(chunk);
    await stream.end();
  });
}
