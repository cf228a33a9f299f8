/**
 * Finding and loading libquiche.
 *
 * Candidates are tried in a fixed order and the first that loads, reports
 * the pinned quiche version and has quichex's `quichex_*` glue functions wins
 * (so only a libquiche built from quichex's recipe, vendor/quiche, will do):
 *
 * 1. `QUICHE_LIB`: an explicit path to a libquiche shared library;
 * 2. the prebuilt platform package (`@quichex/libquiche-<platform>`), the
 *    normal case for users: no Rust toolchain needed; it exists for the
 *    platforms in {@link SUPPORTED_PLATFORMS} only;
 * 3. the in-repo build output (`vendor/quiche/target/release`), for
 *    maintainers who ran `npm run build:libquiche`;
 * 4. the system library (`libquiche.so` on the dynamic loader's path).
 *
 * When none works, one {@link QuicheLoadError} lists every place tried and
 * why it failed, names the platform detected and says how to get a libquiche
 * for it.
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
 * Thrown when no usable libquiche was found. `attempts` lists each place tried;
 * the message ends with what to do about it on the platform detected.
 */
export class QuicheLoadError extends Error {
  /** Stable code for this failure. */
  readonly code = 'ERR_QUICHE_LOAD';
  /** Every candidate tried, in order. */
  readonly attempts: readonly LoadAttempt[];
  /** The platform the loader detected (which prebuilt package it looked for). */
  readonly platform: PlatformInfo;

  constructor(attempts: readonly LoadAttempt[], platform: PlatformInfo = detectPlatform()) {
    const lines = attempts.map((a) => `  - ${a.source}: ${a.path}: ${a.reason}`);
    super(
      `could not load libquiche ${QUICHE_PINNED_VERSION}. Tried:\n${lines.join('\n')}\n${loadErrorFix(platform)}`,
    );
    this.name = 'QuicheLoadError';
    this.attempts = attempts;
    this.platform = platform;
  }
}

/** How to build a libquiche that quichex can load: our recipe, never a stock libquiche. */
const BUILD_FROM_SOURCE =
  "build libquiche from quichex's recipe (vendor/quiche in the quichex repository: " +
  '`npm run build:libquiche` on Linux, or `cargo build --release --manifest-path vendor/quiche/Cargo.toml`; ' +
  'it needs Rust, cmake, a C/C++ compiler and libclang) and set QUICHE_LIB to the library it builds. ' +
  `A libquiche from elsewhere will not load: quichex needs quiche ${QUICHE_PINNED_VERSION} with the ` +
  "quichex_* functions that its recipe adds to quiche's C API.";

/** The closing "Fix:" paragraph of a {@link QuicheLoadError} on `platform`. */
function loadErrorFix(platform: PlatformInfo): string {
  const tag = platformTag(platform);
  if (!SUPPORTED_PLATFORMS.includes(tag)) {
    return (
      `Platform: ${describePlatform(platform)} (${tag}), which has no prebuilt libquiche; ` +
      `prebuilt packages exist for ${SUPPORTED_PLATFORMS.join(', ')}.\n` +
      `Fix: ${BUILD_FROM_SOURCE}`
    );
  }
  return (
    `Platform: ${describePlatform(platform)} (${tag}).\n` +
    `Fix: install the prebuilt package (npm install @quichex/libquiche-${tag}; it is an optional ` +
    'dependency of @quichex/ffi, so an install with --omit=optional skips it), or ' +
    BUILD_FROM_SOURCE
  );
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

/** The machine as the loader sees it: what picks the prebuilt package. */
export interface PlatformInfo {
  /** `process.platform`: `linux`, `darwin`, `win32`, … */
  readonly os: string;
  /** `process.arch`: `x64`, `arm64`, … */
  readonly arch: string;
  /** The C library on Linux (`glibc` or `musl`); `null` elsewhere. */
  readonly libc: 'glibc' | 'musl' | null;
}

/**
 * The platforms with a prebuilt libquiche package
 * (`@quichex/libquiche-<tag>`), as {@link platformTag} tags. Elsewhere
 * libquiche must be built from quichex's recipe and named by `QUICHE_LIB`.
 */
export const SUPPORTED_PLATFORMS: readonly string[] = ['linux-x64-gnu'];

/**
 * @internal
 * The C library of a Linux process, from its diagnostic report: glibc reports
 * the version it runs on (`header.glibcVersionRuntime`), musl reports none.
 */
export function libcFromReport(report: unknown): 'glibc' | 'musl' {
  const header = (report as { header?: { glibcVersionRuntime?: unknown } } | null)?.header;
  return typeof header?.glibcVersionRuntime === 'string' ? 'glibc' : 'musl';
}

/** This process's platform. */
export function detectPlatform(): PlatformInfo {
  const libc = process.platform === 'linux' ? libcFromReport(process.report.getReport()) : null;
  return { os: process.platform, arch: process.arch, libc };
}

/**
 * The tag naming the prebuilt package for a platform (this machine's by
 * default): `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, `win32-x64-msvc`.
 */
export function platformTag(platform: PlatformInfo = detectPlatform()): string {
  let suffix = '';
  if (platform.os === 'linux') suffix = platform.libc === 'musl' ? '-musl' : '-gnu';
  else if (platform.os === 'win32') suffix = '-msvc';
  return `${platform.os}-${platform.arch}${suffix}`;
}

/** "linux x64 glibc", "darwin arm64" */
function describePlatform(platform: PlatformInfo): string {
  return [platform.os, platform.arch, platform.libc].filter(Boolean).join(' ');
}

function libraryFileName(platform: PlatformInfo): string {
  if (platform.os === 'darwin') return 'libquiche.dylib';
  if (platform.os === 'win32') return 'quiche.dll';
  return 'libquiche.so';
}

type Candidate = { source: LoadAttempt['source']; path: string; missing?: string };

function candidates(platform: PlatformInfo): Candidate[] {
  const out: Candidate[] = [];
  const fileName = libraryFileName(platform);
  const explicit = process.env.QUICHE_LIB;
  if (explicit) out.push({ source: 'QUICHE_LIB', path: explicit });

  const tag = platformTag(platform);
  const pkg = `@quichex/libquiche-${tag}`;
  if (!SUPPORTED_PLATFORMS.includes(tag)) {
    out.push({ source: 'prebuilt', path: pkg, missing: `no such package: nothing is prebuilt for ${tag}` });
  } else {
    try {
      const require = createRequire(import.meta.url);
      const manifest = require.resolve(`${pkg}/package.json`);
      out.push({ source: 'prebuilt', path: path.join(path.dirname(manifest), fileName) });
    } catch {
      out.push({ source: 'prebuilt', path: pkg, missing: 'package not installed' });
    }
  }

  // This file sits at packages/ffi/{src,dist}/, three levels below the repo root.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const inRepo = path.resolve(here, '../../../vendor/quiche/target/release', fileName);
  out.push({ source: 'in-repo', path: inRepo });

  out.push({ source: 'system', path: fileName });
  return out;
}

/**
 * One function of quichex's glue (vendor/quiche/src): present in every
 * libquiche built from this version of quichex's recipe, absent from any
 * other libquiche, including builds of the recipe before the TLS glue.
 */
const GLUE_PROBE = 'void *quichex_tls_new(uint32_t version, void *config_out, char *err, size_t err_len)';

/**
 * Loads libquiche from the first candidate that works: quiche's C API at the
 * pinned version, plus quichex's glue functions.
 *
 * @throws {QuicheLoadError} when no candidate loads, reports {@link QUICHE_PINNED_VERSION}
 * and has the glue.
 */
export function loadLibrary(): LoadedLibrary {
  const platform = detectPlatform();
  const attempts: LoadAttempt[] = [];
  for (const c of candidates(platform)) {
    const reject = (reason: string) => attempts.push({ source: c.source, path: c.path, reason });
    if (c.missing) {
      reject(c.missing);
      continue;
    }
    if (c.source !== 'system' && !existsSync(c.path)) {
      reject('file does not exist');
      continue;
    }
    let lib: LibraryHandle;
    try {
      lib = koffi.load(c.path);
    } catch (err) {
      reject((err as Error).message);
      continue;
    }
    let version: string;
    try {
      version = lib.func('const char *quiche_version(void)')() as string;
    } catch (err) {
      lib.unload();
      reject(`not a libquiche with the C API (${(err as Error).message})`);
      continue;
    }
    if (version !== QUICHE_PINNED_VERSION) {
      lib.unload();
      reject(`quiche_version() is ${version}, these bindings need ${QUICHE_PINNED_VERSION}`);
      continue;
    }
    try {
      lib.func(GLUE_PROBE);
    } catch {
      lib.unload();
      reject(`quiche ${version}, but not built from quichex's recipe (no quichex_* glue functions)`);
      continue;
    }
    return { lib, path: c.path, source: c.source, version };
  }
  throw new QuicheLoadError(attempts, platform);
}
