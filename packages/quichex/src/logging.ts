/**
 * Per-connection logs a person can open in tools: qlog (one JSON-SEQ file
 * per connection, named by quiche's trace id, for qvis) and the TLS key log
 * (NSS format, for Wireshark). Clients honour `SSLKEYLOGFILE` like curl and
 * browsers when no `keylogFile` option is given; servers write a key log
 * only when `keylogFile` says so.
 *
 * @module
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { debuglog } from 'node:util';
import * as q from '@quichex/ffi';
import * as s from './core/scratch.js';
import { attachKeylog, type KeylogSink } from './keylog.js';
import { checkString } from './validate.js';

const debug = debuglog('quichex');

/** Logging options shared by `connect()` and `listen()`. */
export interface ConnectionLogOptions {
  /** Directory for qlog files, one per connection: `<traceId>-<role>.sqlog`. Created if missing. */
  qlogDir?: string;
  /**
   * File to append TLS secrets to (NSS key log format). Clients default to
   * `SSLKEYLOGFILE` when it is set; servers never read it (their secrets
   * are written only where this option says).
   */
  keylogFile?: string;
}

/** Validates the options; returns the effective keylog path (option, or on clients the environment). */
export function checkLogOptions(
  options: ConnectionLogOptions,
  role: 'client' | 'server',
): { qlogDir?: string; keylogFile?: string } {
  const qlogDir =
    options.qlogDir === undefined ? undefined : path.resolve(checkString('qlogDir', options.qlogDir));
  const keylog = options.keylogFile ?? (role === 'client' ? process.env.SSLKEYLOGFILE : undefined);
  const keylogFile =
    keylog === undefined || keylog === '' ? undefined : path.resolve(checkString('keylogFile', keylog));
  if (qlogDir) mkdirSync(qlogDir, { recursive: true });
  return { qlogDir, keylogFile };
}

/**
 * Attaches qlog and key log files to a new connection (before its first
 * packet), and `keylog`, a receiver of its key log lines. quiche keeps one
 * key log writer per connection: with a receiver, the file (if any) is
 * appended to from here. Returns what detaches the receiver, or `null`.
 */
export function attachLogs(
  conn: q.QuicheConn,
  options: { qlogDir?: string; keylogFile?: string },
  role: 'client' | 'server',
  keylog?: KeylogSink,
): (() => void) | null {
  const file = options.keylogFile;
  let detach: (() => void) | null = null;
  if (keylog) {
    detach = attachKeylog(conn, (line) => {
      if (file) appendKeylog(file, line);
      keylog(line);
    });
  } else if (file && !q.quiche_conn_set_keylog_path(conn, file)) {
    debug('could not open key log %s', file);
  }
  if (options.qlogDir) {
    s.lenOut[0] = 0n;
    q.quiche_conn_trace_id(conn, s.ptrOut, s.lenOut);
    const traceId = Buffer.from(q.readBorrowed(s.ptrOut, s.lenOut)).toString('utf8');
    const file = path.join(options.qlogDir, `${traceId}-${role}.sqlog`);
    if (
      !q.quiche_conn_set_qlog_path(conn, file, `quichex ${role}`, `quichex ${role} connection ${traceId}`)
    ) {
      debug('could not create qlog %s', file);
    }
  }
  return detach;
}

/** Appends one key log line to `file`, as quiche's own writer would (owner-only permissions). */
function appendKeylog(file: string, line: Buffer): void {
  try {
    appendFileSync(file, line, { mode: 0o600 });
  } catch (err) {
    debug('could not write key log %s: %s', file, (err as Error).message);
  }
}
