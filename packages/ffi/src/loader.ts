/**
 * Finding and loading libquiche.
 *
 * Candidates are tried in a fixed order and the first that loads and reports
 * the pinned quiche version wins:
 *
 * 1. `QUICHE_LIB`: an explicit path to a libquiche shared library;
 * 2. the prebuilt platform package (`@quichex/libquiche-<platform>`), the
 *    normal case for users: no Rust toolchain needed;
 * 3. the in-repo build output (`vendor/quiche/target/release`), for
 *    maintainers who ran `npm run build:libquiche`;
 * 4. the system library (`libquiche.so` on the dynamic loader's path).
 *
 * When none works, one {@link QuicheLoadError} lists every place tried and
 * why it failed.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi, { type LibraryHandle } from 'koffi';

/** The quiche version these bindings were written for (quiche.h of this crate version). */
export const QUICHE_PINNED_VERSION = '0.30.0';

/** One place the loader looked for libquiche, and what happened there. */
export interface LoadAttempt {
  /** Which rule produced the candidate: `QUICHE_LIB`, `prebuilt`, `in-repo`, or `system`. */
  readonly source: 'QUICHE_LIB' | 'prebuilt' | 'in-repo' | 'system';
  /** The path or library name tried. */
  readonly path: string;
  /** Why it was not used. */
  readonly reason: string;
}

/**
 * Thrown when no usable libquiche was found. `attempts` lists each place tried.
 */
export class QuicheLoadError extends Error {
  /** Stable code for this failure. */
  readonly code = 'ERR_QUICHE_LOAD';
  /** Every candidate tried, in order. */
  readonly attempts: readonly LoadAttempt[];

  constructor(attempts: readonly LoadAttempt[]) {
    const lines = attempts.map((a) => `  - ${a.source}: ${a.path}: ${a.reason}`);
    super(
      `could not load libquiche ${QUICHE_PINNED_VERSION}. Tried:\n${lines.join('\n')}\n` +
        'Fix: install the prebuilt package for your platform (npm install @quichex/libquiche-' +
        `${platformTag()}), or set QUICHE_LIB to the path of a libquiche ${QUICHE_PINNED_VERSION} ` +
        'built with the "ffi" feature, or build it from this repository with `npm run build:libquiche`.',
    );
    this.name = 'QuicheLoadError';
    this.attempts = attempts;
  }
}

/** The loaded library, with the path it came from. */
export interface LoadedLibrary {
  /** koffi's handle on the shared library. */
  readonly lib: LibraryHandle;
  /** The path (or name) that was loaded. */
  readonly path: string;
  /** Which rule found it. */
  readonly source: LoadAttempt['source'];
  /** What `quiche_version()` returned. */
  readonly version: string;
}

/** `linux-x64-gnu` style tag naming the prebuilt package for this machine. */
export function platformTag(): string {
  const libc = process.platform === 'linux' ? '-gnu' : '';
  return `${process.platform}-${process.arch}${libc}`;
}

function libraryFileName(): string {
  if (process.platform === 'darwin') return 'libquiche.dylib';
  if (process.platform === 'win32') return 'quiche.dll';
  return 'libquiche.so';
}

function candidates(): Array<{ source: LoadAttempt['source']; path: string; missing?: string }> {
  const out: Array<{ source: LoadAttempt['source']; path: string; missing?: string }> = [];
  const explicit = process.env.QUICHE_LIB;
  if (explicit) out.push({ source: 'QUICHE_LIB', path: explicit });

  const pkg = `@quichex/libquiche-${platformTag()}`;
  try {
    const require = createRequire(import.meta.url);
    const manifest = require.resolve(`${pkg}/package.json`);
    out.push({ source: 'prebuilt', path: path.join(path.dirname(manifest), libraryFileName()) });
  } catch {
    out.push({ source: 'prebuilt', path: pkg, missing: 'package not installed' });
  }

  // This file sits at packages/ffi/{src,dist}/, three levels below the repo root.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const inRepo = path.resolve(here, '../../../vendor/quiche/target/release', libraryFileName());
  out.push({ source: 'in-repo', path: inRepo });

  out.push({ source: 'system', path: libraryFileName() });
  return out;
}

/**
 * Loads libquiche from the first candidate that works and checks its version.
 *
 * @throws {QuicheLoadError} when no candidate loads or reports {@link QUICHE_PINNED_VERSION}.
 */
export function loadLibrary(): LoadedLibrary {
  const attempts: LoadAttempt[] = [];
  for (const c of candidates()) {
    if (c.missing) {
      attempts.push({ source: c.source, path: c.path, reason: c.missing });
      continue;
    }
    if (c.source !== 'system' && !existsSync(c.path)) {
      attempts.push({ source: c.source, path: c.path, reason: 'file does not exist' });
      continue;
    }
    let lib: LibraryHandle;
    try {
      lib = koffi.load(c.path);
    } catch (err) {
      attempts.push({ source: c.source, path: c.path, reason: (err as Error).message });
      continue;
    }
    let version: string;
    try {
      version = lib.func('const char *quiche_version(void)')() as string;
    } catch (err) {
      lib.unload();
      attempts.push({
        source: c.source,
        path: c.path,
        reason: `not a libquiche with the C API (${(err as Error).message})`,
      });
      continue;
    }
    if (version !== QUICHE_PINNED_VERSION) {
      lib.unload();
      attempts.push({
        source: c.source,
        path: c.path,
        reason: `quiche_version() is ${version}, these bindings need ${QUICHE_PINNED_VERSION}`,
      });
      continue;
    }
    return { lib, path: c.path, source: c.source, version };
  }
  throw new QuicheLoadError(attempts);
}
