import type { Connection, Listener } from 'quichex';
import { echoStreams } from './server-echo.js';

/** Pull-style: without `onConnection`, established connections wait in the listener for `accept()`. */
export async function acceptOne(listener: Listener, signal?: AbortSignal): Promise<Connection | null> {
  const conn = await listener.accept({ signal }); // null once the listener closed
  if (conn === null) return null;
  const { serverName } = conn.info(); // the SNI the client sent
  if (serverName !== 'localhost') {
    await conn.close({ errorCode: 0x100, reason: `unknown host ${serverName}` });
    return null;
  }
  echoStreams(conn);
  return conn;
}
