import { Agent, fetch } from '@quichex/h3';

/** GETs JSON over HTTP/3 with an agent that trusts `ca`; the agent's connection is reused. */
export async function getJson(base: string, ca: string, paths: string[]): Promise<unknown[]> {
  const agent = new Agent({ ca });
  try {
    return await Promise.all(
      paths.map(async (path) => {
        const res = await fetch(new URL(path, base), { agent });
        if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
        return res.json();
      }),
    );
  } finally {
    await agent.close(); // after the requests in flight
  }
}
