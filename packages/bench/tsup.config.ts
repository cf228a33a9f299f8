import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/peer.ts', 'src/run.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
  // @matrixai/quic is a devDependency with a native addon: load it from node_modules, never bundle it.
  external: ['@matrixai/quic', '@matrixai/logger', 'quichex', '@quichex/h3'],
});
