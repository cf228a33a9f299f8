#!/usr/bin/env node
// The `quichex` command. It is a committed file rather than dist/bin.js itself
// so that npm links it into node_modules/.bin when the repository's
// dependencies are installed, which happens before the first build.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  console.error('quichex: the CLI is not built yet; run `npm run build` in the repository first.');
  process.exit(1);
}
await import(built.href);
