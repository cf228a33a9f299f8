import { type Agent, fetch } from '@quichex/h3';

/** Streams `chunks` to the server as a request body; resolves with the server's answer. */
export async function uploadStream(
  url: string,
  agent: Agent,
  chunks: AsyncIterable<Uint8Array>,
): Promise<unknown> {
  const body = ReadableStream.from(chunks);
  const res = await fetch(url, { agent, method: 'POST', body, duplex: 'half' } as RequestInit & {
    agent: Agent;
  });
  return res.json();
}
