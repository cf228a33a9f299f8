import { Config, connect } from 'quichex';

export async function askServer(port: number, ca: string, question: string) {
  const config = new Config({ alpn: ['echo'], ca });
  const conn = await connect({ host: 'localhost', port, config });
  try {
    const stream = await conn.openStream();
    await stream.end(question);
    const answer = (await stream.readAll()).toString();
    return { alpn: conn.info().alpn, answer };
  } finally {
    await conn.close({ errorCode: 0, reason: 'done' });
  }
}
