/**
 * The one way quichex reaches the file descriptor under a `dgram` socket,
 * which UDP GSO needs for `sendmsg`.
 *
 * Node offers no public accessor. A bound socket keeps its libuv handle in
 * an internal state object stored under a symbol whose description is
 * `'state symbol'`, and the handle exposes `fd` on Unix. When a Node release
 * changes that, {@link socketFd} returns `null` and quichex sends through
 * `dgram` instead: slower, never wrong. `test/socket-fd.test.ts` pins both
 * the lookup on this Node and the fallback.
 *
 * @module
 */
import type dgram from 'node:dgram';

/** The state symbol once found: it is the same for every socket (clients open one per connection). */
let stateSymbol: symbol | undefined;

/** The descriptor of a bound `dgram` socket, or `null` when it cannot be found. */
export function socketFd(socket: dgram.Socket): number | null {
  let state = stateSymbol !== undefined && Object.hasOwn(socket, stateSymbol) ? stateSymbol : undefined;
  if (state === undefined) {
    state = Object.getOwnPropertySymbols(socket).find((sym) => sym.description === 'state symbol');
    if (state !== undefined) stateSymbol = state;
  }
  const fd = state
    ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[state]?.handle?.fd
    : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}
