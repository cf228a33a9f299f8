/**
 * Library version and debug logging.
 *
 * @module
 */
import type { Pointer } from '../handles.js';
import { bind } from '../native.js';

/** The version of the loaded libquiche, e.g. `"0.30.0"`; the C string is static and never freed. */
export const quiche_version = bind<() => string>('const char *quiche_version()');

/**
 * Installs a process-wide sink for quiche's trace output. Returns 0, or -1 if a logger is already installed.
 * `cb` must be a registered koffi callback, never unregistered: quiche keeps it for the process lifetime.
 * Every trace line is formatted and passed to JS, so use it for debugging only.
 */
export const quiche_enable_debug_logging = bind<(cb: Pointer, argp: Pointer | null) => number>(
  'int quiche_enable_debug_logging(quiche_log_cb *cb, void *argp)',
);
