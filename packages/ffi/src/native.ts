/**
 * The loaded library and the koffi type vocabulary the prototypes use.
 *
 * Importing this module loads libquiche (see {@link loadLibrary}); every
 * binding module calls {@link bind} at import time, so a missing symbol
 * fails loudly at startup rather than at first use.
 *
 * @module
 */
import koffi from 'koffi';
import { type LoadedLibrary, loadLibrary } from './loader.js';
import { copyBorrowed, readLatin1 } from './memory.js';

/** The libquiche this process uses. */
export const library: LoadedLibrary = loadLibrary();

// koffi has no ssize_t/socklen_t. On LP64 Linux and macOS ssize_t is
// pointer-sized and socklen_t is 32 bits; quiche's Rust side agrees.
koffi.alias('ssize_t', 'intptr_t');
koffi.alias('socklen_t', 'uint32_t');

for (const name of [
  'quiche_config',
  'quiche_conn',
  'quiche_stream_iter',
  'quiche_connection_id_iter',
  'quiche_path_event',
  'quiche_socket_addr_iter',
  'quiche_h3_config',
  'quiche_h3_conn',
  'quiche_h3_event',
  'quichex_tls',
  'quichex_trust',
]) {
  koffi.opaque(name);
}

/** One element of the `quiche_h3_header[]` passed to the `quiche_h3_send_*` functions. */
export interface H3HeaderInit {
  /** Header name bytes. */
  name: Uint8Array;
  /** Length of `name` in bytes. */
  name_len: number;
  /** Header value bytes. */
  value: Uint8Array;
  /** Length of `value` in bytes. */
  value_len: number;
}

/** `quiche_h3_priority` as passed by value to the priority functions. */
export interface H3PriorityInit {
  /** Urgency, 0 (most urgent) to 7. */
  urgency: number;
  /** Whether the response may be interleaved with others of the same urgency. */
  incremental: boolean;
}

/** `quiche_h3_header` (32 bytes): two pointer + length pairs. */
export const H3Header = koffi.struct('quiche_h3_header', {
  name: 'const uint8_t *',
  name_len: 'size_t',
  value: 'const uint8_t *',
  value_len: 'size_t',
});

/** `quiche_h3_priority` (2 bytes). */
export const H3Priority = koffi.struct('quiche_h3_priority', {
  urgency: 'uint8_t',
  incremental: 'bool',
});

// Callback shapes. The log callback is stored by quiche for the life of the
// process; the others are only called during the call that receives them.
koffi.proto('void quiche_log_cb(const char *line, void *argp)');
koffi.proto('bool quiche_dgram_purge_cb(uint8_t *buf, size_t len)');
koffi.proto(
  'int quiche_h3_header_cb(uint8_t *name, size_t name_len, uint8_t *value, size_t value_len, void *argp)',
);
koffi.proto('void quichex_keylog_cb(const uint8_t *line, size_t len, uint32_t ctx)');
koffi.proto('int quiche_h3_setting_cb(uint64_t identifier, uint64_t value, void *argp)');
koffi.proto(
  'int quiche_h3_priority_cb(uint8_t *priority_field_value, uint64_t priority_field_value_len, void *argp)',
);

/** A bound C function as koffi exposes it, with its parsed prototype. */
export interface BoundFunction {
  (...args: unknown[]): unknown;
  /** The prototype koffi parsed for the function. */
  readonly info: {
    /** The C function name, e.g. `quiche_conn_send`. */
    readonly name: string;
    /** koffi's description of each C parameter (type and direction), in order. */
    readonly arguments: readonly unknown[];
  };
}

const bound = new Map<string, BoundFunction>();

/**
 * Binds one C function from its prototype and records it, so tests can check
 * the bindings against quiche.h.
 *
 * @typeParam F the TypeScript signature that mirrors the C prototype.
 */
export function bind<F>(prototype: string): F {
  let fn: BoundFunction;
  try {
    fn = library.lib.func(prototype) as unknown as BoundFunction;
  } catch (err) {
    throw new Error(
      `libquiche at ${library.path} cannot bind \`${prototype}\`: ${(err as Error).message}. ` +
        'Was it built with the "ffi", "qlog" and "sfv" features (scripts/build-libquiche.sh)?',
    );
  }
  bound.set(fn.info.name, fn);
  return fn as unknown as F;
}

/**
 * Every function bound so far, by C name (for coverage checks and introspection).
 *
 * @example
 * ```ts
 * import { boundFunctions } from '@quichex/ffi';
 * const send = boundFunctions().get('quiche_conn_send');
 * console.log(send?.info.arguments.length); // 4
 * ```
 */
export function boundFunctions(): ReadonlyMap<string, BoundFunction> {
  return bound;
}

/**
 * Wraps `fn` as a native `quiche_log_cb` for `quiche_enable_debug_logging`.
 * The callback is registered for good: quiche keeps the pointer for the life
 * of the process, so it must never be unregistered.
 *
 * @example
 * ```ts
 * quiche_enable_debug_logging(registerLogCallback((line) => console.error(line)), null);
 * ```
 */
export function registerLogCallback(fn: (line: string) => void): bigint {
  return koffi.register(
    (line: string) => fn(line),
    koffi.pointer(koffi.type('quiche_log_cb')),
  ) as unknown as bigint;
}

/**
 * Wraps `fn` as a native `quichex_keylog_cb` for
 * `quichex_conn_set_keylog_callback`. `fn` gets a copy of each key log line
 * (with its newline) and the `ctx` number the connection was given. It runs
 * inside quiche (during `quiche_conn_recv`/`quiche_conn_send`), so it must
 * not call into quiche for that connection. Registered for good: register
 * one callback per process and tell connections apart by `ctx`.
 *
 * @example
 * ```ts
 * const cb = registerKeylogCallback((line, ctx) => lines.get(ctx)?.push(line));
 * quichex_conn_set_keylog_callback(conn, cb, 7);
 * ```
 */
export function registerKeylogCallback(fn: (line: Uint8Array, ctx: number) => void): bigint {
  return koffi.register(
    (line: bigint, len: number | bigint, ctx: number) => fn(copyBorrowed(line, len), ctx),
    koffi.pointer(koffi.type('quichex_keylog_cb')),
  ) as unknown as bigint;
}

/**
 * Wraps `fn` as a native `quiche_h3_header_cb` that stays registered for
 * the process: pass it to `quiche_h3_event_for_each_header` (with any
 * `argp`) instead of a JS function, which koffi would wrap in a fresh
 * trampoline at every call. `fn` gets the name and value decoded as
 * latin1 (HTTP field bytes, one character per byte); a non-zero result
 * stops the walk. Register one per process and keep the per-call state
 * outside it.
 *
 * @example
 * ```ts
 * let into: [string, string][] = [];
 * const cb = registerH3HeaderCallback((name, value) => (into.push([name, value]), 0));
 * quiche_h3_event_for_each_header(ev, cb as never, null);
 * ```
 */
export function registerH3HeaderCallback(fn: (name: string, value: string) => number): bigint {
  return koffi.register(
    (name: bigint, nameLen: number | bigint, value: bigint, valueLen: number | bigint) => {
      try {
        return fn(readLatin1(name, nameLen), readLatin1(value, valueLen));
      } catch {
        return -1; // stop the walk: koffi would report 0 (continue) for a throw
      }
    },
    koffi.pointer(koffi.type('quiche_h3_header_cb')),
  ) as unknown as bigint;
}
