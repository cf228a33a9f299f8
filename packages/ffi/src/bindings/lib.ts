/**
 * Library version and debug logging.
 *
 * @module
 */
import type { Pointer } from '../handles.js';
import { bind } from '../native.js';

/** TODO quiche_version */
export const quiche_version = bind<() => string>(
  'const char *quiche_version()',
);

/** TODO quiche_enable_debug_logging */
export const quiche_enable_debug_logging = bind<(cb: Pointer, argp: Pointer | null) => number>(
  'int quiche_enable_debug_logging(quiche_log_cb *cb, void *argp)',
);
