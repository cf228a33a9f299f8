import { generateLocalCertificate } from '@quichex/cli';
import { Config, connect, listen } from 'quichex';

export async function hello(message = 'hello, QUIC'): Promise<string> {
  // A throwaway self-signed certificate for localhost, in memory.
  const { cert, key } = await generateLocalCertificate();

  // Server: echo every stream back to its sender.
  const listener = await listen({
    host: '127.0.0.1',
    port: 0, // any free port
    config: new Config({ alpn: ['echo'], cert, key }),
    onConnection: (conn) => {
      // Streams are served concurrently; a handler that rejects resets its stream only.
      conn.on('stream', async (stream) => {
        for await (const chunk of stream) await stream.write(chunk);
        await stream.end();
      });
    },
  });

  // Client: trust exactly that certificate, send one message, read the reply.
  const conn = await connect({
    host: 'localhost',
    port: listener.address().port,
    config: new Config({ alpn: ['echo'], ca: cert }),
  });
  const stream = await conn.openStream();
  await stream.end(message);
  const reply = (await stream.readAll()).toString();

  await conn.close();
  await listener.close();
  return reply;
}
