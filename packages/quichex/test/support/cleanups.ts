/**
 * Per-test clean-up for suites that open connections: the functions a test
 * registered run in reverse order, then the suite waits until every native
 * connection and socket is freed, so the next test starts from zero.
 * (Destroyed connections linger, at most 1 s, until their CONNECTION_CLOSE
 * is out.)
 */
import { afterEach } from 'vitest';
import { resourceCounts } from '../../src/index.js';
import { until } from './net.js';

/** Registers the `afterEach`; returns the list to push clean-up functions onto. */
export function useCleanups(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    await until(
      () => resourceCounts().connections === 0 && resourceCounts().sockets === 0,
      3000,
      'every connection and socket of the test freed',
    );
  });
  return cleanups;
}
