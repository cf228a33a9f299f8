/**
 * TLS key log lines delivered to JS: to a listener's `'keylog'` event and
 * to a client's `onKeylog`, as node:tls does, instead of (or besides) a
 * file. One native callback serves the process; each connection is told
 * apart by a number.
 *
 * quiche calls the callback from inside `quiche_conn_recv`/`send`, where
 * user code must not run (it could call back into that connection), so
 * lines are queued and handed out in a microtask, before any promise the
 * same packet settles.
 *
 * @module
 */
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';

const debug = debuglog('quichex');

/** Receives one NSS key log line (with its newline), as a Buffer. */
export type KeylogSink = (line: Buffer) => void;

const sinks = new Map<number, KeylogSink>();
const pending: [id: number, line: Uint8Array][] = [];
let callback: bigint | null = null;
let nextId = 1;
let scheduled = false;

function flush(): void {
  scheduled = false;
  for (const [id, line] of pending.splice(0)) {
    const sink = sinks.get(id);
    if (sink === undefined) continue;
    try {
      sink(Buffer.from(line.buffer, line.byteOffset, line.byteLength));
    } catch (err) {
      debug('a keylog listener threw: %s', err instanceof Error ? err.message : String(err));
    }
  }
}

function onLine(line: Uint8Array, id: number): void {
  pending.push([id, line]);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flush);
  }
}

/**
 * Sends `conn`'s key log lines to `sink` (the config must log keys, see
 * `Config.prepareFor`). Returns the function that detaches it, once the
 * lines already queued are out.
 */
export function attachKeylog(conn: q.QuicheConn, sink: KeylogSink): () => void {
  callback ??= q.registerKeylogCallback(onLine);
  const id = nextId;
  nextId = nextId >= 0xffff_ffff ? 1 : nextId + 1;
  sinks.set(id, sink);
  q.quichex_conn_set_keylog_callback(conn, callback, id);
  return () => queueMicrotask(() => sinks.delete(id));
}
