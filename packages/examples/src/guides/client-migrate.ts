import { Config, connect } from 'quichex';

/** Moves a connection to a new local port in the middle of a stream. */
export async function migrateMidStream(port: number, ca: string) {
  const conn = await connect({ host: 'localhost', port, config: new Config({ alpn: ['echo'], ca }) });
  const stream = await conn.openStream();
  await stream.write('before ');
  await stream.read(); // the echo: both sides now hold spare connection IDs
  const before = conn.localAddress.port;

  const path = await conn.migrate(); // resolves once the server validated the new path
  await stream.end('after');
  const rest = await stream.readAll();

  await conn.close();
  return { before, after: path.local?.port, rest: rest.toString() };
}
