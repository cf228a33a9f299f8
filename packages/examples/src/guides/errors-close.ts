import type { Connection } from 'quichex';

/** `conn.closed` never rejects: it resolves with how the connection ended. */
export async function whyClosed(conn: Connection): Promise<string> {
  const info = await conn.closed;
  const who = info.local ? 'we' : 'the peer';
  if (info.graceful) return `${who} closed it cleanly (${info.code})`;
  return `${who} closed it with ${info.type} error ${info.errorCode} (${info.code}): ${info.reason}`;
}
