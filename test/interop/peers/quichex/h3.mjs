#!/usr/bin/env node
/**
 * quichex's HTTP/3 interop peer, for implementations that speak HTTP/3 only
 * (ngtcp2's gtlsclient/gtlsserver). quichex's high-level API has no HTTP/3,
 * so this drives quiche directly through @quichex/ffi: a node:dgram socket,
 * quiche_connect/quiche_accept, quiche_conn_recv/send, the connection's
 * timer, and quiche_h3_* on top.
 *
 *   node test/interop/peers/quichex/h3.mjs server --host 127.0.0.1 --port 0 \
 *     --cert CERT --key KEY --root DIR [--retry] [--timeout SEC]
 *       Answers GET with 200 and the file's bytes (content-length set), 404
 *       otherwise; POST /echo with 200, streaming the request body back as it
 *       arrives; session tickets and 0-RTT on; --retry demands a Retry
 *       round-trip. Prints `READY <port>`; runs until --timeout or SIGTERM:
 *       then it sends GOAWAY on every connection (prints `GOAWAY sent`), lets
 *       the requests in flight finish, waits (at most 15 s) for the clients
 *       to close, and exits 0. Logs one stderr line per connection:
 *       `handshake resumed=… early_data=…`.
 *   node test/interop/peers/quichex/h3.mjs client --host H --port P --ca CA \
 *     --server-name localhost --out DIR [--timeout SEC] [--resume] [--zero-rtt]
 *     [--post FILE] [--cancel] PATH...
 *       GETs every PATH concurrently on one connection, saves each body to
 *       DIR/<basename>; exits 0 when every response completed with status
 *       200, else prints `ERROR <reason>` and exits 1. --post FILE: also
 *       POSTs FILE's bytes to /echo and saves the answer as DIR/echo.
 *       --cancel: GETs the first PATH alone, cancels it (STOP_SENDING with
 *       H3_REQUEST_CANCELLED) once its first body bytes arrive, prints
 *       `CANCELLED true`, then GETs the rest. --resume / --zero-rtt:
 *       the first PATH on a first connection, the rest on a second that
 *       resumes it (0-RTT requests with --zero-rtt); prints RESUMED / ZERO_RTT.
 *       --migrate and --key-update print `… unsupported`.
 *
 * This follows the HTTP/3 driver contract of test/interop/README.md (`--h3`
 * is accepted and ignored: this driver speaks nothing else).
 *
 * ALPN `h3`. Diagnostics go to stderr (`H3_DEBUG=1` for more); stdout
 * carries only READY / ERROR.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as q from '@quichex/ffi';

const MiB = 1024 * 1024;
const CID_LEN = 16;
/** Connection IDs a server keeps issued beyond the one in use. */
const SPARE_SCIDS = 2;
/** HTTP/3 H3_NO_ERROR, for closing the connection when done. */
const H3_NO_ERROR = 0x100;
/** H3_REQUEST_CANCELLED, for abandoning a response (--cancel). */
const H3_REQUEST_CANCELLED = 0x10c;
/** How long a SIGTERM'd server waits for its clients after GOAWAY. */
const SHUTDOWN_GRACE_MS = 15_000;
const UINT64_MAX = (1n << 64n) - 1n;
const { QUICHE_H3_ERR_DONE, QUICHE_H3_ERR_STREAM_BLOCKED, QUICHE_H3_TRANSPORT_ERR_STREAM_LIMIT } =
  q.QuicheH3Error;
const { QUICHE_H3_EVENT_HEADERS, QUICHE_H3_EVENT_DATA, QUICHE_H3_EVENT_FINISHED, QUICHE_H3_EVENT_RESET } =
  q.QuicheH3EventType;
/** "Try again once there is room" from quiche_h3_send_request / send_response / send_body. */
const RETRY_LATER = new Set([QUICHE_H3_ERR_STREAM_BLOCKED, QUICHE_H3_TRANSPORT_ERR_STREAM_LIMIT]);
/** koffi passes an empty array as NULL; a bare FIN goes as a 1-byte buffer with length 0. */
const NO_BYTES = new Uint8Array(1);

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    root: { type: 'string' },
    ca: { type: 'string' },
    'server-name': { type: 'string', default: 'localhost' },
    out: { type: 'string' },
    timeout: { type: 'string' },
    retry: { type: 'boolean', default: false },
    resume: { type: 'boolean', default: false },
    'zero-rtt': { type: 'boolean', default: false },
    migrate: { type: 'boolean', default: false },
    'key-update': { type: 'boolean', default: false },
    'max-streams-wait': { type: 'boolean', default: false }, // requests always wait for stream credit
    post: { type: 'string' },
    cancel: { type: 'boolean', default: false },
    h3: { type: 'boolean', default: true }, // the HTTP/3 contract's mode flag: always the case here
  },
});
const [mode, ...paths] = positionals;
const verbose = Boolean(process.env.H3_DEBUG);

function log(message) {
  process.stderr.write(`quichex-h3: ${message}\n`);
}

function debug(message) {
  if (verbose) log(message);
}

function fail(reason) {
  process.stdout.write(`ERROR ${String(reason).replace(/\s+/g, ' ')}\n`);
  process.exit(1);
}

function required(name) {
  const v = opts[name];
  if (v === undefined || v === '') fail(`missing --${name}`);
  return v;
}

function seconds(name, fallback) {
  const raw = opts[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got ${raw}`);
  return n;
}

function check(rc, what) {
  if (rc < 0) throw new Error(`${what} failed with ${rc}`);
}

/** A quiche config for HTTP/3 with roomy windows. */
function makeConfig(role, { earlyData = false } = {}) {
  const config = q.quiche_config_new(q.QUICHE_PROTOCOL_VERSION);
  if (config === null) throw new Error('quiche_config_new returned NULL');
  const alpn = q.encodeAlpn(['h3']);
  check(q.quiche_config_set_application_protos(config, alpn, alpn.length), 'set_application_protos');
  if (role === 'server') {
    check(q.quiche_config_load_cert_chain_from_pem_file(config, required('cert')), 'loading --cert');
    check(q.quiche_config_load_priv_key_from_pem_file(config, required('key')), 'loading --key');
    q.quiche_config_verify_peer(config, false);
    q.quiche_config_enable_early_data(config);
  } else {
    check(q.quiche_config_load_verify_locations_from_file(config, required('ca')), 'loading --ca');
    q.quiche_config_verify_peer(config, true);
    if (earlyData) q.quiche_config_enable_early_data(config);
  }
  q.quiche_config_set_max_idle_timeout(config, 30_000);
  q.quiche_config_set_max_recv_udp_payload_size(config, 65_527);
  q.quiche_config_set_max_send_udp_payload_size(config, 1350);
  q.quiche_config_set_initial_max_data(config, 64 * MiB);
  q.quiche_config_set_initial_max_stream_data_bidi_local(config, 16 * MiB);
  q.quiche_config_set_initial_max_stream_data_bidi_remote(config, 16 * MiB);
  q.quiche_config_set_initial_max_stream_data_uni(config, 1 * MiB);
  q.quiche_config_set_initial_max_streams_bidi(config, 1000);
  q.quiche_config_set_initial_max_streams_uni(config, 100);
  // quiche keeps at most this many paths; NAT rebindings each leave one behind.
  q.quiche_config_set_active_connection_id_limit(config, 8);
  return config;
}

/** Header list in the shape quiche_h3_send_request/send_response take. */
function headerList(pairs) {
  return pairs.map(([n, v]) => {
    const name = Buffer.from(n, 'utf8');
    const value = Buffer.from(String(v), 'utf8');
    return { name, name_len: name.length, value, value_len: value.length };
  });
}

function readHeaders(ev) {
  const out = new Map();
  q.quiche_h3_event_for_each_header(
    ev,
    (name, nameLen, value, valueLen) => {
      out.set(q.readString(name, nameLen), q.readString(value, valueLen));
      return 0;
    },
    null,
  );
  return out;
}

function closeError(conn) {
  const isApp = new Uint8Array(1);
  const code = new BigUint64Array(1);
  const reason = new BigUint64Array(1);
  const reasonLen = new BigUint64Array(1);
  for (const [fn, who] of [
    [q.quiche_conn_peer_error, 'peer'],
    [q.quiche_conn_local_error, 'local'],
  ]) {
    if (fn(conn, isApp, code, reason, reasonLen)) {
      const text = Buffer.from(q.readBorrowed(reason, reasonLen)).toString('utf8');
      return `${who} ${isApp[0] ? 'application' : 'transport'} error 0x${code[0].toString(16)}${text ? ` (${text})` : ''}`;
    }
  }
  return q.quiche_conn_is_timed_out(conn) ? 'idle timeout' : 'closed';
}

/** What became of 0-RTT on a connection: accepted, rejected, or none (not offered). */
function earlyDataOutcome(conn) {
  const R = q.EarlyDataReason;
  const reason = q.quichex_conn_early_data_reason(conn);
  if (reason === R.ACCEPTED) return 'accepted';
  const none = [R.UNKNOWN, R.DISABLED, R.NO_SESSION_OFFERED, R.PEER_DECLINED];
  return none.includes(reason) ? 'none' : 'rejected';
}

/**
 * One QUIC connection with HTTP/3 on top, driven by the socket it shares:
 * `receive()` per datagram, then `process()` polls HTTP/3 events (handed to
 * `onEvent`), calls `onTick`, and flushes; a timer calls quiche_conn_on_timeout.
 */
class H3Connection {
  /** @param {{ conn: any, socket: dgram.Socket, local: { buf: Uint8Array, len: number }, isServer: boolean, earlyData?: boolean, onEvent: Function, onTick?: Function, onNewScid?: Function, onClosed: Function }} o */
  constructor(o) {
    this.conn = o.conn;
    this.socket = o.socket;
    this.isServer = o.isServer;
    this.onEvent = o.onEvent;
    this.onTick = o.onTick ?? (() => undefined);
    this.onClosed = o.onClosed;
    this.onNewScid = o.onNewScid ?? (() => undefined);
    /** (Client) Start HTTP/3 in 0-RTT, before the handshake completes. */
    this.earlyData = o.earlyData ?? false;
    this.h3 = null;
    this.timer = null;
    this.closed = false;
    this.scheduled = false;
    this.reported = false;
    this.recvInfo = new q.RecvInfo();
    this.recvInfo.setTo(o.local.buf, o.local.len);
    this.out = new Uint8Array(65_535);
    this.sendInfo = new Uint8Array(q.StructSize.quiche_send_info);
    this.evOut = new BigUint64Array(1);
    this.seqOut = new BigUint64Array(1);
  }

  receive(msg, address, port) {
    if (this.closed) return;
    const from = q.encodeSockaddr(address, port);
    this.recvInfo.setFrom(from.buf, from.len);
    const rc = q.quiche_conn_recv(this.conn, msg, msg.length, this.recvInfo.ptr);
    if (rc < 0 && rc !== q.QuicheError.QUICHE_ERR_DONE) debug(`recv: ${q.quicheErrorName(rc) ?? rc}`);
    this.schedule();
  }

  /** Coalesces a burst of datagrams into one process() per event-loop turn. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.process();
    });
  }

  process() {
    if (this.closed) return;
    const conn = this.conn;
    const ready =
      q.quiche_conn_is_established(conn) || (this.isServer && q.quiche_conn_is_in_early_data(conn));
    if (this.h3 === null && ready) {
      const h3config = q.quiche_h3_config_new();
      this.h3 = q.quiche_h3_conn_new_with_transport(conn, h3config);
      q.quiche_h3_config_free(h3config);
      if (this.h3 === null) {
        log('quiche_h3_conn_new_with_transport returned NULL');
        q.quiche_conn_close(conn, true, 0x101, null, 0); // H3_GENERAL_PROTOCOL_ERROR
      } else {
        this.onEvent(this, 'ready', -1, null);
      }
    }
    if (this.isServer && q.quiche_conn_is_established(conn)) {
      if (!this.reported) {
        // One parseable stderr line per connection, for runners checking resumption and 0-RTT.
        this.reported = true;
        log(`handshake resumed=${q.quiche_conn_is_resumed(conn)} early_data=${earlyDataOutcome(conn)}`);
      }
      this.issueSpareScids();
    }
    if (this.h3 !== null) this.poll();
    if (this.h3 !== null) this.onTick(this);
    this.flush();
  }

  /** (Client) The TLS session to resume with later, or null before a ticket arrived. */
  session() {
    const ptr = new BigUint64Array(1);
    const len = new BigUint64Array(1);
    q.quiche_conn_session(this.conn, ptr, len);
    return len[0] === 0n ? null : q.readBorrowed(ptr, len);
  }

  /** Spare connection IDs let the client migrate (without one, ngtcp2 fails with ERR_CONN_ID_BLOCKED). */
  issueSpareScids() {
    for (let i = 0; i < SPARE_SCIDS; i++) {
      if (q.quiche_conn_scids_left(this.conn) === 0 || q.quiche_conn_active_scids(this.conn) > SPARE_SCIDS)
        return;
      const scid = randomBytes(CID_LEN);
      if (q.quiche_conn_new_scid(this.conn, scid, CID_LEN, randomBytes(16), false, this.seqOut) < 0) return;
      this.onNewScid(scid.toString('latin1'));
    }
  }

  poll() {
    for (let i = 0; i < 100_000; i++) {
      const id = Number(q.quiche_h3_conn_poll(this.h3, this.conn, this.evOut));
      if (id === QUICHE_H3_ERR_DONE) return;
      if (id < 0) {
        log(`quiche_h3_conn_poll: ${id}`);
        return;
      }
      const ev = this.evOut[0];
      try {
        const type = q.quiche_h3_event_type(ev);
        this.onEvent(this, type, id, ev);
      } finally {
        q.quiche_h3_event_free(ev);
      }
    }
  }

  /** Reads whatever body bytes quiche holds for a stream; calls `sink` per chunk. */
  recvBody(id, sink) {
    for (let i = 0; i < 100_000; i++) {
      const n = q.quiche_h3_recv_body(this.h3, this.conn, id, this.out, this.out.length);
      if (n <= 0) return;
      sink(this.out.subarray(0, n));
    }
  }

  flush() {
    if (this.closed) return;
    const conn = this.conn;
    for (let i = 0; i < 100_000; i++) {
      const n = q.quiche_conn_send(conn, this.out, this.out.length, this.sendInfo);
      if (n < 0) {
        if (n !== q.QuicheError.QUICHE_ERR_DONE) debug(`send: ${q.quicheErrorName(n) ?? n}`);
        break;
      }
      const { to } = q.decodeSendInfo(this.sendInfo);
      if (to) this.socket.send(Buffer.from(this.out.subarray(0, n)), to.port, to.address);
    }
    if (q.quiche_conn_is_closed(conn)) {
      this.finish();
      return;
    }
    clearTimeout(this.timer);
    const ns = BigInt(q.quiche_conn_timeout_as_nanos(conn));
    if (ns === UINT64_MAX) return;
    this.timer = setTimeout(
      () => {
        if (this.closed) return;
        q.quiche_conn_on_timeout(this.conn);
        this.process();
      },
      Math.ceil(Number(ns) / 1e6),
    );
  }

  close() {
    if (this.closed) return;
    q.quiche_conn_close(this.conn, true, H3_NO_ERROR, null, 0);
    this.flush();
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const why = closeError(this.conn);
    if (this.h3 !== null) q.quiche_h3_conn_free(this.h3); // before its QUIC connection
    q.quiche_conn_free(this.conn);
    this.recvInfo.free();
    this.h3 = null;
    this.onClosed(this, why);
  }
}

function bindSocket(host, port) {
  const type = isIP(host) === 6 ? 'udp6' : 'udp4';
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, recvBufferSize: 4 * MiB, sendBufferSize: 4 * MiB });
    socket.once('error', reject);
    socket.bind({ address: host, port }, () => {
      socket.off('error', reject);
      socket.on('error', (err) => debug(`socket: ${err.message}`));
      resolve(socket);
    });
  });
}

// -- server -----------------------------------------------------------------------

function resolveFile(root, requestPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(requestPath.split('?')[0]);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/')) return null;
  const file = path.resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  try {
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/**
 * A Retry token: the client's address and its original DCID. Not
 * authenticated: this peer runs on loopback in tests, where nobody forges
 * tokens (quichex's Listener seals its tokens with AES-GCM).
 */
function mintToken(odcid, address, port) {
  const addr = Buffer.from(address, 'utf8');
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return Buffer.concat([Buffer.from('qxh3'), Buffer.from([addr.length]), addr, portBytes, odcid]);
}

/** The original DCID from a token minted for this address, or null. */
function checkToken(token, address, port) {
  const expected = mintToken(new Uint8Array(0), address, port);
  const t = Buffer.from(token);
  if (t.length <= expected.length || !t.subarray(0, expected.length).equals(expected)) return null;
  return new Uint8Array(t.subarray(expected.length));
}

async function runServer() {
  const host = opts.host;
  const root = path.resolve(required('root'));
  const timeoutSec = seconds('timeout', 120);
  const config = makeConfig('server');
  const socket = await bindSocket(host, Number(required('port')));
  const { address, port } = socket.address();
  const local = q.encodeSockaddr(address, port);
  /** Connections by every DCID a client may use (its first DCID and our SCID). */
  const byCid = new Map();
  const live = new Set();

  const hdr = {
    version: new Uint32Array(1),
    type: new Uint8Array(1),
    scid: new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN),
    scidLen: new BigUint64Array(1),
    dcid: new Uint8Array(q.QUICHE_MAX_CONN_ID_LEN),
    dcidLen: new BigUint64Array(1),
    token: new Uint8Array(512),
    tokenLen: new BigUint64Array(1),
  };

  /**
   * Per-connection responses still being written: stream id -> { headers, sent, chunks, off, fin }.
   * `chunks` is the body still to send (a file: one chunk; the echo: what arrived so far), `fin`
   * whether it is complete; `chunks === null` means a response without a body.
   */
  const responses = new WeakMap();
  /** Per-connection highest request stream id seen (for GOAWAY). */
  const highest = new WeakMap();

  const respond = (c, id, headers, body, fin = true) => {
    const chunks = body === null ? null : body.length > 0 ? [body] : [];
    responses.get(c).set(id, { headers: headerList(headers), sent: false, chunks, off: 0, fin });
  };

  /** Connections that still have to send GOAWAY (the control stream can be blocked for a moment). */
  const goaways = new Set();

  /** Writes pending responses as far as flow control allows; the last body bytes carry FIN. */
  const pump = (c) => {
    if (goaways.has(c)) {
      // The first id it will not process: every request seen so far goes through.
      const rc = q.quiche_h3_send_goaway(c.h3, c.conn, (highest.get(c) ?? -4) + 4);
      if (!RETRY_LATER.has(rc)) goaways.delete(c);
      if (rc < 0 && !RETRY_LATER.has(rc)) log(`send_goaway failed with ${rc}`);
    }
    const pending = responses.get(c);
    for (const [id, r] of pending) {
      if (!r.sent) {
        const rc = q.quiche_h3_send_response(
          c.h3,
          c.conn,
          id,
          r.headers,
          r.headers.length,
          r.chunks === null,
        );
        if (RETRY_LATER.has(rc)) continue;
        if (rc < 0) {
          log(`stream ${id}: send_response failed with ${rc}`);
          pending.delete(id);
          continue;
        }
        r.sent = true;
        if (r.chunks === null) {
          pending.delete(id);
          continue;
        }
      }
      for (;;) {
        const head = r.chunks[0];
        if (head === undefined && !r.fin) break; // the echo waits for more request body
        const last = r.fin && r.chunks.length <= 1;
        const rest = head === undefined ? 0 : head.length - r.off;
        const chunk = rest > 0 ? head.subarray(r.off) : NO_BYTES;
        const n = q.quiche_h3_send_body(c.h3, c.conn, id, chunk, rest, last);
        if (n === QUICHE_H3_ERR_DONE || RETRY_LATER.has(n)) break;
        if (n < 0) {
          // STREAM_STOPPED: the client cancelled (STOP_SENDING); anything else is worth a line.
          if (n === q.QuicheH3Error.QUICHE_H3_TRANSPORT_ERR_STREAM_STOPPED)
            debug(`stream ${id}: stopped by the client`);
          else log(`stream ${id}: send_body failed with ${n}`);
          pending.delete(id);
          break;
        }
        r.off += n;
        if (head !== undefined && r.off < head.length) break; // no more room for now
        r.chunks.shift();
        r.off = 0;
        if (last) {
          pending.delete(id);
          break;
        }
      }
    }
  };

  const onEvent = (c, type, id, ev) => {
    if (type === 'ready' || id < 0) return;
    if (type === QUICHE_H3_EVENT_HEADERS) {
      const h = readHeaders(ev);
      const method = h.get(':method');
      const reqPath = h.get(':path') ?? '';
      if (id > (highest.get(c) ?? -1)) highest.set(c, id);
      if (method === 'POST' && reqPath.split('?')[0] === '/echo') {
        debug(`stream ${id}: POST /echo`);
        respond(
          c,
          id,
          [
            [':status', '200'],
            ['server', 'quichex-h3'],
          ],
          new Uint8Array(0),
          false,
        );
        return;
      }
      const file = method === 'GET' || method === 'HEAD' ? resolveFile(root, reqPath) : null;
      debug(`stream ${id}: ${method} ${reqPath} -> ${file ? 200 : 404}`);
      if (file === null) {
        respond(
          c,
          id,
          [
            [':status', '404'],
            ['server', 'quichex-h3'],
            ['content-length', '0'],
          ],
          null,
        );
      } else {
        const body = method === 'HEAD' ? null : readFileSync(file);
        const size = statSync(file).size;
        respond(
          c,
          id,
          [
            [':status', '200'],
            ['server', 'quichex-h3'],
            ['content-length', String(size)],
          ],
          body,
        );
      }
    } else if (type === QUICHE_H3_EVENT_DATA) {
      // The echo's body grows as the request's arrives; other request bodies are dropped.
      const r = responses.get(c)?.get(id);
      c.recvBody(id, (chunk) => {
        if (r?.chunks && !r.fin) r.chunks.push(Uint8Array.from(chunk));
      });
    } else if (type === QUICHE_H3_EVENT_FINISHED) {
      const r = responses.get(c)?.get(id);
      if (r) r.fin = true;
    } else if (type === QUICHE_H3_EVENT_RESET) {
      responses.get(c)?.delete(id);
    }
  };

  socket.on('message', (msg, rinfo) => {
    hdr.scidLen[0] = BigInt(hdr.scid.length);
    hdr.dcidLen[0] = BigInt(hdr.dcid.length);
    hdr.tokenLen[0] = BigInt(hdr.token.length);
    const rc = q.quiche_header_info(
      msg,
      msg.length,
      CID_LEN,
      hdr.version,
      hdr.type,
      hdr.scid,
      hdr.scidLen,
      hdr.dcid,
      hdr.dcidLen,
      hdr.token,
      hdr.tokenLen,
    );
    if (rc < 0) return;
    const dcid = hdr.dcid.slice(0, Number(hdr.dcidLen[0]));
    const key = Buffer.from(dcid).toString('latin1');
    let c = byCid.get(key);
    if (c === undefined) {
      if (hdr.type[0] !== q.QuichePacketType.INITIAL) return;
      const scid = hdr.scid.slice(0, Number(hdr.scidLen[0]));
      if (!q.quiche_version_is_supported(hdr.version[0])) {
        const out = new Uint8Array(1350);
        const n = q.quiche_negotiate_version(
          scid.length ? scid : NO_BYTES,
          scid.length,
          dcid,
          dcid.length,
          out,
          out.length,
        );
        if (n > 0) socket.send(out.subarray(0, n), rinfo.port, rinfo.address);
        return;
      }
      if (dcid.length < 8) return;
      let odcid = null;
      let newScid;
      if (opts.retry) {
        const tokenLen = Number(hdr.tokenLen[0]);
        if (tokenLen === 0) {
          const token = mintToken(dcid, rinfo.address, rinfo.port);
          const out = new Uint8Array(1350);
          const n = q.quiche_retry(
            scid.length ? scid : NO_BYTES,
            scid.length,
            dcid,
            dcid.length,
            randomBytes(CID_LEN),
            CID_LEN,
            token,
            token.length,
            hdr.version[0],
            out,
            out.length,
          );
          if (n > 0) socket.send(out.subarray(0, n), rinfo.port, rinfo.address);
          return;
        }
        odcid = checkToken(hdr.token.subarray(0, tokenLen), rinfo.address, rinfo.port);
        if (odcid === null || dcid.length !== CID_LEN) return;
        newScid = Buffer.from(dcid); // the CID our Retry gave the client
      } else {
        newScid = randomBytes(CID_LEN);
      }
      const peer = q.encodeSockaddr(rinfo.address, rinfo.port);
      const conn = q.quiche_accept(
        newScid,
        CID_LEN,
        odcid,
        odcid ? odcid.length : 0,
        local.buf,
        local.len,
        peer.buf,
        peer.len,
        config,
      );
      if (conn === null) return;
      const keys = [key, newScid.toString('latin1')];
      c = new H3Connection({
        conn,
        socket,
        local,
        isServer: true,
        onEvent,
        onTick: pump,
        onNewScid: (k) => {
          keys.push(k);
          byCid.set(k, c);
        },
        onClosed: (closed, why) => {
          debug(`connection from ${rinfo.address}:${rinfo.port} closed: ${why}`);
          for (const k of keys) byCid.delete(k);
          live.delete(closed);
          goaways.delete(closed);
        },
      });
      responses.set(c, new Map());
      for (const k of keys) byCid.set(k, c);
      live.add(c);
      debug(`new connection from ${rinfo.address}:${rinfo.port}`);
    }
    c.receive(msg, rinfo.address, rinfo.port);
  });

  let stopping = false;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    for (const c of live) c.close();
    setTimeout(() => process.exit(0), 200);
  };
  /** GOAWAY letting through every request seen so far; the clients close once they are done. */
  const shutDown = (why) => {
    if (stopping) return;
    stopping = true;
    log(`shutting down gracefully (${why})`);
    for (const c of live) {
      goaways.add(c);
      c.process();
    }
    process.stdout.write('GOAWAY sent\n');
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    const wait = setInterval(() => {
      if (live.size > 0 && Date.now() < deadline) return;
      clearInterval(wait);
      for (const c of live) c.close();
      setTimeout(() => process.exit(0), 200);
    }, 50);
  };
  process.on('SIGTERM', () => shutDown('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  setTimeout(() => stop(`--timeout ${timeoutSec}s`), timeoutSec * 1000).unref();
  process.stdout.write(`READY ${port}\n`);
}

// -- client -------------------------------------------------------------------------

/**
 * One connection: sends the requests of `list` concurrently (a path string is a GET saved to
 * OUT/<basename>; `{ post: bytes }` POSTs to /echo, saved as OUT/echo) and saves the bodies.
 * With `cancel`, `cancel` (a path) goes first and alone: it is abandoned (STOP_SENDING with
 * H3_REQUEST_CANCELLED) once its first body bytes arrive, `CANCELLED true` is printed, and only
 * then do the others go out. Resolves once every response completed and the connection closed;
 * rejects with the reason otherwise. `session` resumes an earlier connection's TLS session;
 * with `earlyData` the requests go as 0-RTT.
 * @returns {Promise<{ session: Uint8Array | null, resumed: boolean, earlyData: string }>}
 */
async function fetchAll(
  list,
  { host, port, serverName, out, config, session = null, earlyData = false, cancel = null },
) {
  const socket = await bindSocket(isIP(host) === 6 ? '::' : '0.0.0.0', 0);
  const local = q.encodeSockaddr(socket.address().address, socket.address().port);
  const peer = q.encodeSockaddr(host, port);
  const scid = randomBytes(CID_LEN);
  const conn = q.quiche_connect(serverName, scid, CID_LEN, local.buf, local.len, peer.buf, peer.len, config);
  if (conn === null) throw new Error('quiche_connect returned NULL');
  if (session && q.quiche_conn_set_session(conn, session, session.length) < 0)
    log('the session was not usable');

  const authority = `${serverName}:${port}`;
  const job = (item) =>
    typeof item === 'string'
      ? { method: 'GET', path: item, save: path.posix.basename(item.split('?')[0]) || 'index.html' }
      : { method: 'POST', path: '/echo', save: 'echo', body: item.post };
  /** Requests not sent yet (no stream credit, or waiting for the cancelled one), in order. */
  const queue = cancel === null ? list.map(job) : [{ ...job(cancel), save: null, cancel: true }];
  const later = cancel === null ? [] : list.map(job);
  const total = queue.length + later.length;
  /** stream id -> { path, file, fd, status, bytes, done, error, upload, cancel } */
  const requests = new Map();
  let finished = false;
  let result = { session: null, resumed: false, earlyData: 'none' };

  const sendRequests = (c) => {
    while (queue.length > 0) {
      const j = queue[0];
      const pairs = [
        [':method', j.method],
        [':scheme', 'https'],
        [':authority', authority],
        [':path', j.path],
        ['user-agent', 'quichex-h3'],
      ];
      if (j.body) pairs.push(['content-length', String(j.body.length)]);
      const headers = headerList(pairs);
      const id = Number(q.quiche_h3_send_request(c.h3, c.conn, headers, headers.length, !j.body));
      if (RETRY_LATER.has(id)) return;
      queue.shift();
      const label = `${j.method} ${j.path}`;
      if (id < 0) {
        requests.set(-requests.size - 1, { path: label, bytes: 0, done: true, error: `send_request: ${id}` });
        continue;
      }
      const file = j.save === null ? null : path.join(out, j.save);
      const r = {
        path: label,
        file,
        fd: file === null ? null : openSync(file, 'w'),
        status: null,
        length: null,
        bytes: 0,
        done: false,
        error: null,
        upload: j.body ? { body: j.body, off: 0 } : null,
        cancel: j.cancel ?? false,
      };
      requests.set(id, r);
      debug(`stream ${id}: ${label}${q.quiche_conn_is_in_early_data(c.conn) ? ' (0-RTT)' : ''}`);
    }
  };

  /** Request bodies (the POST), as far as flow control allows; the last bytes carry FIN. */
  const sendBodies = (c) => {
    for (const [id, r] of requests) {
      const u = r.upload;
      if (!u || r.done) continue;
      while (u.off < u.body.length || u.off === 0) {
        const rest = u.body.length - u.off;
        const chunk = rest > 0 ? u.body.subarray(u.off) : NO_BYTES;
        const n = q.quiche_h3_send_body(c.h3, c.conn, id, chunk, rest, true);
        if (n === QUICHE_H3_ERR_DONE || RETRY_LATER.has(n)) break;
        if (n < 0) {
          settle(r, `send_body: ${n}`);
          break;
        }
        u.off += n;
        if (n === 0 && rest === 0) break;
        if (n < rest) break;
      }
      if (u.off >= u.body.length) r.upload = null;
    }
  };

  const settle = (r, error) => {
    if (r.done) return;
    r.done = true;
    r.error = error;
    if (r.fd !== null) closeSync(r.fd);
    r.fd = null;
  };

  const onEvent = (c, type, id, ev) => {
    const r = requests.get(id);
    if (type === 'ready' || r === undefined || r.done) return;
    if (type === QUICHE_H3_EVENT_HEADERS) {
      const h = readHeaders(ev);
      r.status = h.get(':status') ?? null;
      const length = h.get('content-length');
      r.length = length === undefined ? null : Number(length);
      debug(`stream ${id}: status ${r.status}`);
    } else if (type === QUICHE_H3_EVENT_DATA) {
      c.recvBody(id, (chunk) => {
        if (r.fd !== null) writeSync(r.fd, chunk);
        r.bytes += chunk.length;
      });
      if (r.cancel && r.bytes > 0) {
        // Abandon the response: STOP_SENDING (our request side is finished already).
        const rc = q.quiche_conn_stream_shutdown(
          c.conn,
          id,
          q.QuicheShutdown.QUICHE_SHUTDOWN_READ,
          H3_REQUEST_CANCELLED,
        );
        if (rc < 0) log(`stream ${id}: stream_shutdown failed with ${rc}`);
        r.cancelled = true;
        settle(r, null);
        log(`cancelled ${r.path} after ${r.bytes} bytes`);
        process.stdout.write('CANCELLED true\n');
        queue.push(...later.splice(0));
      }
    } else if (type === QUICHE_H3_EVENT_FINISHED) {
      let error = r.status === '200' ? null : `status ${r.status}`;
      if (error === null && r.length !== null && r.length !== r.bytes)
        error = `${r.bytes} of ${r.length} bytes`;
      if (r.cancel && error === null) error = 'the response ended before it could be cancelled';
      settle(r, error);
    } else if (type === QUICHE_H3_EVENT_RESET) {
      settle(r, 'stream reset by the server');
    }
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const end = (why) => {
      if (settled) return;
      settled = true;
      socket.close();
      const failed = [...requests.values()].filter((r) => r.error !== null || !r.done);
      for (const r of failed) {
        if (r.fd !== null) closeSync(r.fd);
        if (r.file) rmSync(r.file, { force: true }); // no partial or error bodies
      }
      const unsent = queue.length + later.length;
      if (!finished || failed.length > 0 || unsent > 0) {
        const first = failed[0];
        const detail = first
          ? `${first.path}: ${first.error ?? `incomplete after ${first.bytes} bytes`}`
          : '';
        reject(
          new Error(
            `connection closed (${why}) with ${failed.length + unsent} of ${total} requests failed ${detail}`,
          ),
        );
        return;
      }
      for (const r of requests.values()) debug(`${r.path}: ${r.bytes} bytes`);
      resolve(result);
    };
    const c = new H3Connection({
      conn,
      socket,
      local,
      isServer: false,
      earlyData,
      onEvent,
      onTick: (h) => {
        sendRequests(h);
        sendBodies(h);
        const busy = queue.length > 0 || later.length > 0 || [...requests.values()].some((r) => !r.done);
        if (finished || busy) return;
        finished = true;
        result = {
          session: h.session(),
          resumed: q.quiche_conn_is_resumed(h.conn),
          earlyData: earlyDataOutcome(h.conn),
        };
        h.close();
        // The close completes after the draining period; do not wait for more than a moment of it.
        setTimeout(() => end('done'), 1000).unref();
      },
      onClosed: (_c, why) => end(why),
    });
    socket.on('message', (msg, rinfo) => c.receive(msg, rinfo.address, rinfo.port));
    c.flush();
  });
}

async function runClient() {
  const host = required('host');
  const port = Number(required('port'));
  const serverName = opts['server-name'];
  const out = path.resolve(required('out'));
  const timeoutSec = seconds('timeout', 60);
  if (paths.length === 0 && !opts.post) fail('no PATH to download and no --post');
  if (opts.cancel && paths.length === 0) fail('--cancel needs a PATH');
  if (isIP(host) === 0) fail(`--host must be an IP address, got ${host}`);
  mkdirSync(out, { recursive: true });
  setTimeout(() => fail(`timed out after ${timeoutSec}s`), timeoutSec * 1000).unref();
  const zeroRtt = opts['zero-rtt'];
  const resume = opts.resume || zeroRtt;
  const config = makeConfig('client', { earlyData: zeroRtt });
  const where = { host, port, serverName, out, config };
  if (opts['key-update']) process.stdout.write('KEY_UPDATE unsupported (quiche cannot initiate one)\n');
  if (opts.migrate) process.stdout.write('MIGRATED unsupported (h3.mjs does not migrate)\n');

  if (!resume) {
    const list = opts.cancel ? paths.slice(1) : [...paths];
    if (opts.post) list.push({ post: readFileSync(opts.post) });
    await fetchAll(list, { ...where, cancel: opts.cancel ? paths[0] : null });
    process.exit(0);
  }
  if (opts.post || opts.cancel) fail('--post and --cancel cannot be combined with --resume / --zero-rtt');
  const first = await fetchAll(paths.slice(0, 1), where);
  if (!first.session) log('no session ticket arrived on the first connection');
  const second = await fetchAll(paths.slice(1), {
    ...where,
    session: first.session,
    earlyData: zeroRtt && first.session !== null,
  });
  process.stdout.write(`RESUMED ${second.resumed}\n`);
  if (zeroRtt)
    process.stdout.write(`ZERO_RTT ${second.earlyData === 'accepted' ? 'accepted' : 'rejected'}\n`);
  process.exit(0);
}

// -- main -----------------------------------------------------------------------------

const run = mode === 'server' ? runServer : mode === 'client' ? runClient : null;
if (run === null) fail(`usage: h3.mjs server|client [options] (got ${JSON.stringify(mode)})`);
run().catch((err) => fail(err instanceof Error ? err.message : String(err)));
