import { Config, type Connection, connect } from 'quichex';

/** A first connection saves a session ticket; the second resumes it and sends its request as 0-RTT. */
export async function resumeWithEarlyData(port: number, ca: string) {
  const config = new Config({ alpn: ['echo'], ca, earlyData: true });

  const first = await connect({ host: 'localhost', port, config });
  const ticket = new Promise<Uint8Array>((resolve) => first.once('session', resolve));
  await request(first, 'first'); // the server sends its ticket after the handshake
  const session = await ticket;
  await first.close();

  // With earlyData, connect() resolves as soon as 0-RTT is possible.
  const second = await connect({ host: 'localhost', port, config, session, earlyData: true });
  const reply = await request(second, 'sent as early data');
  const { resumed, earlyData } = second.info();
  await second.close();
  return { reply, resumed, earlyData };
}

async function request(conn: Connection, text: string): Promise<string> {
  const stream = await conn.openStream();
  await stream.end(text);
  return (await stream.readAll()).toString();
}
