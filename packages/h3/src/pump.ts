/**
 * Streams a WHATWG body into an exchange, chunk by chunk, waiting while
 * quiche has too much of it queued; ends the stream with a FIN.
 *
 * @module
 */
import type { Exchange } from './exchange.js';

/** Writes every chunk of `body` to `ex`, then its end. Cancels the body when the stream aborts. */
export async function pumpBody(body: ReadableStream<Uint8Array>, ex: Exchange): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      if (ex.aborted) throw ex.aborted;
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError('a body chunk is not a Uint8Array');
      await ex.write(value, false);
    }
    await ex.write(null, true);
  } catch (err) {
    await reader.cancel(err).catch(() => undefined);
    throw err;
  } finally {
    reader.releaseLock();
  }
}
