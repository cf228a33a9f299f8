import type { Connection } from 'quichex';

/** Server: push a notice on a unidirectional stream (the client cannot answer on it). */
export async function pushNotice(conn: Connection, text: string): Promise<void> {
  const stream = await conn.openUniStream();
  await stream.end(text);
}

/** Client: take the next stream the server opened and read it to the end. */
export async function receiveNotice(conn: Connection, signal?: AbortSignal): Promise<string | null> {
  const stream = await conn.acceptStream({ signal });
  if (stream === null) return null; // the connection closed
  console.assert(stream.direction === 'uni' && stream.origin === 'remote');
  return (await stream.readAll()).toString();
}
