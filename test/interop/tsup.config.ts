import { defineConfig } from 'tsup';

// The interop matrix runner (`npm run interop`), bundled to plain ESM for
// Node 20 (no type stripping there). quichex and its FFI stay external: they
// load libquiche from their own packages. Types are checked by
// `tsc -p test/interop/tsconfig.json`, which the npm script runs first.
export default defineConfig({
  entry: { run: 'test/interop/run.ts' },
  outDir: 'test/interop/dist',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  external: ['quichex', '@quichex/ffi', 'koffi'],
});
