import type { ApplicationFactory } from 'quichex';

/**
 * A tiny application protocol: each stream the peer opens carries one line,
 * answered upper-cased on the same stream. It reads and writes through the
 * connection's core, as HTTP/3 does, instead of through `Stream` objects.
 */
export const shout: ApplicationFactory = (core) => {
  const requests = new Map<number, Buffer[]>();
  const answers = new Map<number, Buffer>(); // waiting for flow-control credit
  const trySend = (id: number, answer: Buffer): void => {
    const sent = core.streams.send(id, answer, true);
    if (sent < answer.length) {
      answers.set(id, answer.subarray(sent));
      core.streams.wantWritable(id, 1); // report the stream writable once credit returns
    } else answers.delete(id);
  };
  return {
    streamEvents: true,
    onStreamReadable(id) {
      const chunks = requests.get(id) ?? [];
      for (;;) {
        const { data, fin } = core.streams.recv(id);
        if (data) chunks.push(Buffer.from(data));
        if (fin) {
          requests.delete(id);
          trySend(id, Buffer.from(Buffer.concat(chunks).toString().toUpperCase()));
          return;
        }
        if (!data) break;
      }
      requests.set(id, chunks);
    },
    onStreamWritable(id) {
      const rest = answers.get(id);
      if (rest) trySend(id, rest);
    },
    process() {},
    onClose() {
      requests.clear();
      answers.clear();
    },
  };
};
