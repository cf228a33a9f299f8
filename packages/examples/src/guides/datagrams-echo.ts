import type { Connection } from 'quichex';

/** Server: send every datagram straight back. */
export async function echoDatagrams(conn: Connection): Promise<void> {
  for await (const datagram of conn.datagrams()) conn.sendDatagram(datagram);
}

/** Client: send one datagram and wait (at most `ms`) for the echo. Datagrams can be lost: never wait forever. */
export async function ping(conn: Connection, text: string, ms = 1000): Promise<string | null> {
  console.assert(conn.maxDatagramSize !== null, 'both sides must enable dgram');
  conn.sendDatagram(text);
  try {
    const reply = await conn.receiveDatagram({ signal: AbortSignal.timeout(ms) });
    return reply && Buffer.from(reply).toString();
  } catch {
    return null; // lost (or the connection closed)
  }
}
