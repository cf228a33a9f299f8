import { type Agent, fetch } from '@quichex/h3';

/**
 * Reads a response for at most `ms` milliseconds, then cancels it: the
 * stream is reset with H3_REQUEST_CANCELLED and the server's
 * `info.signal` fires. Other requests on the connection carry on.
 */
export async function readFor(url: string, agent: Agent, ms: number): Promise<number> {
  let received = 0;
  try {
    const res = await fetch(url, { agent, signal: AbortSignal.timeout(ms) });
    for await (const chunk of res.body ?? []) received += chunk.length;
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError') throw err;
  }
  return received;
}
