#!/usr/bin/env node
import { run } from './index.js';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`quichex: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
