import type { Stream } from 'quichex';

/** Three ways to read a stream; each returns once the peer's data ended (FIN). */
export async function readInChunks(stream: Stream): Promise<number> {
  let bytes = 0;
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) bytes += chunk.length;
  return bytes;
}

export async function readByIteration(stream: Stream): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

export async function readEverything(stream: Stream): Promise<number> {
  const all = await stream.readAll(); // one Buffer; only for bodies you know are small
  return all.length;
}
