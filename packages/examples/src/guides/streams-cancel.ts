import { once } from 'node:events';
import { type Connection, QuicError } from 'quichex';

/** Both ways to abandon a stream, seen from each end. */
export async function cancelBothWays(client: Connection, server: Connection) {
  // The sender gives up: reset() sends RESET_STREAM; the receiver's read rejects with its code.
  const upload = await client.openStream();
  await upload.write('part of a file');
  upload.reset(0x10);
  const incoming = await server.acceptStream();
  const reset = await incoming?.readAll().catch((err: QuicError) => err); // code ERR_QUIC_STREAM_RESET

  // The receiver has enough: stopSending() sends STOP_SENDING; the sender sees 'stopped'.
  const download = await client.openStream();
  await download.write('send me everything');
  const request = await server.acceptStream();
  request?.stopSending(0x20);
  const [stopCode] = (await once(download, 'stopped')) as [bigint];
  const writeError = await download.write('more').catch((err: QuicError) => err.code);

  return { resetCode: reset instanceof QuicError ? reset.errorCode : null, stopCode, writeError };
}
