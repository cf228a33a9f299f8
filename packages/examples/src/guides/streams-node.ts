import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Connection } from 'quichex';

/** Uses a stream as a Node Duplex: lines go out through it, the echo comes back into a Writable. */
export async function pipeLines(conn: Connection, lines: string[]): Promise<string> {
  const stream = await conn.openStream();
  let echoed = '';
  await pipeline(
    Readable.from(lines.map((line) => `${line}\n`)),
    stream.toNodeStream(), // writes on one side, reads on the other; ends with FIN
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        echoed += chunk.toString();
        done();
      },
    }),
  );
  return echoed;
}
