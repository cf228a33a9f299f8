/**
 * A Node `Duplex` over a `Stream`, for `stream.pipeline` and friends.
 *
 * @module
 */
import { Duplex } from 'node:stream';
import type { Stream } from './stream.js';

/** Wraps `self` in a Duplex: reads pull `read()`, writes await `write()`, `final` ends the stream. */
export function toDuplex(self: Stream): Duplex {
  let reading = false;
  return new Duplex({
    read() {
      if (reading) return;
      reading = true;
      self.read().then(
        (chunk) => {
          reading = false;
          this.push(chunk === null ? null : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        },
        (err) => this.destroy(err),
      );
    },
    write(chunk: Buffer, _enc, cb) {
      self.write(chunk).then(() => cb(), cb);
    },
    final(cb) {
      self.end().then(() => cb(), cb);
    },
    destroy(err, cb) {
      if (err) {
        if (self.writable) self.reset(0n);
        if (self.readable) self.stopSending(0n);
      }
      cb(err);
    },
  });
}
