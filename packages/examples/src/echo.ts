/**
 * Echo: the smallest complete server and client.
 *
 * Run: `node packages/examples/dist/echo.js "hello"` — starts a server on a
 * free port, connects, echoes the message on a stream, prints it, exits.
 */
import { type Connection, connect, type Listener, listen } from 'quichex';
import { isMain, localConfigs } from './shared.js';

/** Serves one connection: every bidi stream is sent back as it arrives. */
export function echoConnection(conn: Connection): void {
  conn.on('stream', async (stream) => {
    for await (const chunk of stream) await stream.write(chunk);
    await stream.end();
  });
}

/** Starts an echo server and sends `message` through it; returns what came back. */
export async function echoRoundTrip(message: string): Promise<string> {
  const configs = await localConfigs('echo');
  let listener: Listener | undefined;
  try {
    listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: configs.server,
      onConnection: echoConnection,
    });
    const conn = await connect({ host: 'localhost', port: listener.address().port, config: configs.client });
    try {
      const stream = await conn.openStream();
      await stream.end(message);
      return (await stream.readAll()).toString('utf8');
    } finally {
      await conn.close();
    }
  } finally {
    await listener?.close();
    configs.free();
  }
}

if (isMain(import.meta.url)) {
  echoRoundTrip(process.argv[2] ?? 'hello, QUIC').then((reply) => console.log(`echoed: ${reply}`));
}
