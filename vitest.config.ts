import { defineConfig } from 'vitest/config';

// One run covers every package's tests (next to their code) and the
// cross-package suites in test/. Tests use real libquiche and real UDP
// sockets on loopback, so files run in separate forks to keep native state
// and sockets isolated.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
