/**
 * Finding and loading libquiche: the version and glue checks, the QUICHE_LIB
 * override and its fall-through, every candidate rule (prebuilt package,
 * in-repo build, system library), platform detection (the libc on Linux), and
 * the QuicheLoadError that lists every attempt and says what to do on the
 * platform detected, supported or not.
 *
 * In-process tests call loadLibrary() with process.env changed and restored.
 * The rules that depend on where the loader file sits run loader.ts,
 * transpiled, from a temporary tree in a child node process, so that the
 * prebuilt package and the in-repo build can be made present or absent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  detectPlatform,
  type LoadAttempt,
  library,
  loadLibrary,
  type PlatformInfo,
  platformTag,
  QUICHE_PINNED_VERSION,
  QuicheLoadError,
  quiche_version,
  SUPPORTED_PLATFORMS,
} from '../src/index.js';
import { libcFromReport } from '../src/loader.js';
import { LIBRARY_PATH } from './support/header.js';

const require = createRequire(import.meta.url);
const PREBUILT_PACKAGE = `@quichex/libquiche-${platformTag()}`;
const prebuiltPath = path.join(
  path.dirname(require.resolve(`${PREBUILT_PACKAGE}/package.json`)),
  'libquiche.so',
);
/** A real shared library that is not libquiche. */
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

describe('the loaded library', () => {
  it('is quiche 0.30.0', () => {
    expect(quiche_version()).toBe('0.30.0');
    expect(QUICHE_PINNED_VERSION).toBe('0.30.0');
    expect(library.version).toBe('0.30.0');
  });

  it('names this machine, a supported platform', () => {
    // This suite runs where the prebuilt package exists: Linux x64 with glibc.
    expect(detectPlatform()).toEqual({ os: 'linux', arch: 'x64', libc: 'glibc' });
    expect(platformTag()).toBe('linux-x64-gnu');
    expect(SUPPORTED_PLATFORMS).toEqual(['linux-x64-gnu']);
  });
});

describe('platform detection', () => {
  it('tells glibc from musl by the runtime glibc version in the diagnostic report', () => {
    expect(libcFromReport(process.report.getReport())).toBe('glibc');
    expect(libcFromReport({ header: { glibcVersionRuntime: '2.36' } })).toBe('glibc');
    // musl's Node reports no glibc version at all.
    expect(libcFromReport({ header: { osName: 'Linux' } })).toBe('musl');
    expect(libcFromReport({})).toBe('musl');
    expect(libcFromReport(null)).toBe('musl');
  });

  it.each([
    [{ os: 'linux', arch: 'x64', libc: 'glibc' }, 'linux-x64-gnu'],
    [{ os: 'linux', arch: 'arm64', libc: 'glibc' }, 'linux-arm64-gnu'],
    [{ os: 'linux', arch: 'x64', libc: 'musl' }, 'linux-x64-musl'],
    [{ os: 'linux', arch: 'arm64', libc: 'musl' }, 'linux-arm64-musl'],
    [{ os: 'darwin', arch: 'arm64', libc: null }, 'darwin-arm64'],
    [{ os: 'win32', arch: 'x64', libc: null }, 'win32-x64-msvc'],
  ] as const)('tags %o as %s', (platform, tag) => {
    expect(platformTag(platform)).toBe(tag);
  });
});

describe('loadLibrary() in this process', () => {
  const saved = process.env.QUICHE_LIB;
  afterEach(() => {
    if (saved === undefined) delete process.env.QUICHE_LIB;
    else process.env.QUICHE_LIB = saved;
  });

  it('uses the prebuilt package when QUICHE_LIB is unset', () => {
    delete process.env.QUICHE_LIB;
    expect(loadLibrary()).toMatchObject({ source: 'prebuilt', path: prebuiltPath, version: '0.30.0' });
  });

  it('uses QUICHE_LIB first when it names a libquiche', () => {
    process.env.QUICHE_LIB = LIBRARY_PATH;
    expect(loadLibrary()).toMatchObject({ source: 'QUICHE_LIB', path: LIBRARY_PATH, version: '0.30.0' });
  });

  it.each([
    ['a file that does not exist', '/nonexistent/libquiche.so'],
    ['a file that is not a shared library', '/etc/hostname'],
    ['a shared library without the quiche C API', LIBC],
  ])('falls through to the next candidate when QUICHE_LIB is %s', (_what, value) => {
    process.env.QUICHE_LIB = value;
    expect(loadLibrary()).toMatchObject({ source: 'prebuilt', path: prebuiltPath });
  });
});

describe('QuicheLoadError', () => {
  const attempts: LoadAttempt[] = [
    { source: 'QUICHE_LIB', path: '/x/libquiche.so', reason: 'file does not exist' },
    { source: 'prebuilt', path: '@quichex/libquiche-test', reason: 'package not installed' },
    { source: 'system', path: 'libquiche.so', reason: 'cannot open shared object file' },
  ];
  const linuxGnu: PlatformInfo = { os: 'linux', arch: 'x64', libc: 'glibc' };

  it('lists every attempt, in order, then the platform and a fix', () => {
    const err = new QuicheLoadError(attempts, linuxGnu);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('QuicheLoadError');
    expect(err.code).toBe('ERR_QUICHE_LOAD');
    expect(err.attempts).toEqual(attempts);
    expect(err.platform).toEqual(linuxGnu);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('could not load libquiche 0.30.0. Tried:');
    expect(lines.slice(1, 4)).toEqual([
      '  - QUICHE_LIB: /x/libquiche.so: file does not exist',
      '  - prebuilt: @quichex/libquiche-test: package not installed',
      '  - system: libquiche.so: cannot open shared object file',
    ]);
    expect(lines[4]).toBe('Platform: linux x64 glibc (linux-x64-gnu).');
    expect(lines[5]).toMatch(
      /^Fix: install the prebuilt package \(npm install @quichex\/libquiche-linux-x64-gnu;/,
    );
    expect(lines).toHaveLength(6);
  });

  it("says that QUICHE_LIB must name a build of quichex's recipe, and how to build one", () => {
    const fix = new QuicheLoadError(attempts, linuxGnu).message.split('\n').pop()!;
    expect(fix).toContain('set QUICHE_LIB');
    expect(fix).toContain("quichex's recipe (vendor/quiche");
    expect(fix).toContain('`npm run build:libquiche`');
    expect(fix).toContain('`cargo build --release --manifest-path vendor/quiche/Cargo.toml`');
    expect(fix).toContain('quichex_* functions');
    expect(fix).toContain('--omit=optional');
  });

  it('defaults to the platform detected', () => {
    expect(new QuicheLoadError(attempts).platform).toEqual(detectPlatform());
  });

  it.each([
    [{ os: 'darwin', arch: 'arm64', libc: null }, 'darwin arm64 (darwin-arm64)'],
    [{ os: 'linux', arch: 'x64', libc: 'musl' }, 'linux x64 musl (linux-x64-musl)'],
    [{ os: 'linux', arch: 'arm64', libc: 'glibc' }, 'linux arm64 glibc (linux-arm64-gnu)'],
    [{ os: 'win32', arch: 'x64', libc: null }, 'win32 x64 (win32-x64-msvc)'],
  ] as const)('on unsupported %o names the platform, what is supported, and how to build', (platform, named) => {
    const lines = new QuicheLoadError(attempts, platform).message.split('\n');
    expect(lines[4]).toBe(
      `Platform: ${named}, which has no prebuilt libquiche; prebuilt packages exist for linux-x64-gnu.`,
    );
    expect(lines[5]).toMatch(/^Fix: build libquiche from quichex's recipe \(vendor\/quiche/);
    expect(lines[5]).toContain('set QUICHE_LIB');
    // No advice to install a package that does not exist.
    expect(lines[5]).not.toContain('npm install');
  });
});

describe('candidate rules, from a relocated copy of the loader', () => {
  let root: string;
  let loaderUrl: string;

  beforeAll(() => {
    // root/packages/ffi/src/loader.mjs: three levels below root, like the real file.
    root = mkdtempSync(path.join(tmpdir(), 'quichex-loader-'));
    const src = path.join(root, 'packages/ffi/src');
    mkdirSync(src, { recursive: true });
    const loaderTs = readFileSync(fileURLToPath(new URL('../src/loader.ts', import.meta.url)), 'utf8');
    const js = ts.transpileModule(loaderTs, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(path.join(src, 'loader.mjs'), js);
    loaderUrl = pathToFileURL(path.join(src, 'loader.mjs')).href;
    // koffi itself must resolve; the prebuilt package must not (yet).
    mkdirSync(path.join(root, 'node_modules'));
    const koffiDir = path.dirname(require.resolve('koffi'));
    expect(JSON.parse(readFileSync(path.join(koffiDir, 'package.json'), 'utf8')).name).toBe('koffi');
    symlinkSync(koffiDir, path.join(root, 'node_modules/koffi'));
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  type Outcome =
    | { ok: true; source: string; path: string; version: string }
    | {
        ok: false;
        name: string;
        code: string;
        isLoadError: boolean;
        attempts: LoadAttempt[];
        platform: PlatformInfo;
        message: string;
      };

  /** JavaScript run before loadLibrary() that makes the child look like Linux arm64 with musl. */
  const PRETEND_LINUX_ARM64_MUSL = `
    Object.defineProperty(process, 'arch', { value: 'arm64' });
    process.report.getReport = () => ({ header: { osName: 'Linux' } });`;

  /** Runs loadLibrary() in a child node with exactly `env` (plus PATH), after `pretend`. */
  function loadInChild(env: Record<string, string>, pretend = ''): Outcome {
    const script = `
      import { loadLibrary, QuicheLoadError } from ${JSON.stringify(loaderUrl)};
      ${pretend}
      try {
        const l = loadLibrary();
        console.log(JSON.stringify({ ok: true, source: l.source, path: l.path, version: l.version }));
      } catch (e) {
        console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, isLoadError: e instanceof QuicheLoadError,
          attempts: e.attempts, platform: e.platform, message: e.message }));
      }`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').pop()!) as Outcome;
  }

  it('throws QuicheLoadError listing prebuilt, in-repo and system when nothing is found', () => {
    const out = loadInChild({});
    if (out.ok) throw new Error(`unexpectedly loaded ${out.path}`);
    expect(out).toMatchObject({ name: 'QuicheLoadError', code: 'ERR_QUICHE_LOAD', isLoadError: true });
    expect(out.attempts.map((a) => [a.source, a.path])).toEqual([
      ['prebuilt', PREBUILT_PACKAGE],
      ['in-repo', path.join(root, 'vendor/quiche/target/release/libquiche.so')],
      ['system', 'libquiche.so'],
    ]);
    expect(out.attempts[0]!.reason).toBe('package not installed');
    expect(out.attempts[1]!.reason).toBe('file does not exist');
    expect(out.attempts[2]!.reason).toMatch(/cannot open shared object file/);
    for (const a of out.attempts) expect(out.message).toContain(`  - ${a.source}: ${a.path}: ${a.reason}`);
  });

  it('on a platform without a prebuilt package, says so, and QUICHE_LIB is the way', () => {
    const out = loadInChild({}, PRETEND_LINUX_ARM64_MUSL);
    if (out.ok) throw new Error(`unexpectedly loaded ${out.path}`);
    expect(out.platform).toEqual({ os: 'linux', arch: 'arm64', libc: 'musl' });
    expect(out.attempts[0]).toEqual({
      source: 'prebuilt',
      path: '@quichex/libquiche-linux-arm64-musl',
      reason: 'no such package: nothing is prebuilt for linux-arm64-musl',
    });
    expect(out.message).toContain(
      'Platform: linux arm64 musl (linux-arm64-musl), which has no prebuilt libquiche; ' +
        'prebuilt packages exist for linux-x64-gnu.',
    );
    expect(loadInChild({ QUICHE_LIB: LIBRARY_PATH }, PRETEND_LINUX_ARM64_MUSL)).toMatchObject({
      ok: true,
      source: 'QUICHE_LIB',
      path: LIBRARY_PATH,
    });
  });

  it("refuses a libquiche of the pinned version that was not built from quichex's recipe", () => {
    // quiche_version() right, but none of the quichex_* glue functions.
    const dir = mkdtempSync(path.join(root, 'stock-'));
    writeFileSync(
      path.join(dir, 'stock.c'),
      `const char *quiche_version(void) { return "${QUICHE_PINNED_VERSION}"; }\n`,
    );
    const stock = path.join(dir, 'libquiche.so');
    execFileSync('cc', ['-shared', '-fPIC', '-o', stock, path.join(dir, 'stock.c')], { stdio: 'pipe' });
    const out = loadInChild({ QUICHE_LIB: stock });
    if (out.ok) throw new Error(`unexpectedly loaded ${out.path}`);
    expect(out.attempts[0]).toEqual({
      source: 'QUICHE_LIB',
      path: stock,
      reason: "quiche 0.30.0, but not built from quichex's recipe (no quichex_* glue functions)",
    });
  });

  it('reports why an explicit QUICHE_LIB was not usable, first in the list', () => {
    for (const [value, reason] of [
      ['/nonexistent/libquiche.so', /^file does not exist$/],
      ['/etc/hostname', /^Failed to load shared library: /], // koffi's dlopen error
      [LIBC, /^not a libquiche with the C API \(.*quiche_version/],
    ] as const) {
      const out = loadInChild({ QUICHE_LIB: value });
      if (out.ok) throw new Error(`unexpectedly loaded ${out.path}`);
      expect(out.attempts.length, value).toBe(4);
      expect(out.attempts[0]).toMatchObject({ source: 'QUICHE_LIB', path: value });
      expect(out.attempts[0]!.reason, value).toMatch(reason);
    }
  });

  it('loads QUICHE_LIB when it is a libquiche', () => {
    expect(loadInChild({ QUICHE_LIB: LIBRARY_PATH })).toEqual({
      ok: true,
      source: 'QUICHE_LIB',
      path: LIBRARY_PATH,
      version: '0.30.0',
    });
  });

  it('falls back to the system library on the loader path', () => {
    const dir = path.join(root, 'syslib');
    mkdirSync(dir, { recursive: true });
    symlinkSync(LIBRARY_PATH, path.join(dir, 'libquiche.so'));
    expect(loadInChild({ QUICHE_LIB: '/nonexistent/libquiche.so', LD_LIBRARY_PATH: dir })).toMatchObject({
      ok: true,
      source: 'system',
      path: 'libquiche.so',
    });
  });

  it('prefers the in-repo build over the system library', () => {
    const release = path.join(root, 'vendor/quiche/target/release');
    mkdirSync(release, { recursive: true });
    symlinkSync(LIBRARY_PATH, path.join(release, 'libquiche.so'));
    try {
      expect(loadInChild({ QUICHE_LIB: '/etc/hostname' })).toMatchObject({
        ok: true,
        source: 'in-repo',
        path: path.join(release, 'libquiche.so'),
      });
    } finally {
      rmSync(path.join(root, 'vendor'), { recursive: true, force: true });
    }
  });

  it('prefers the prebuilt package over the in-repo build', () => {
    const pkg = path.join(root, 'node_modules', PREBUILT_PACKAGE);
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: PREBUILT_PACKAGE, version: '0.0.0' }),
    );
    symlinkSync(LIBRARY_PATH, path.join(pkg, 'libquiche.so'));
    const release = path.join(root, 'vendor/quiche/target/release');
    mkdirSync(release, { recursive: true });
    symlinkSync(LIBRARY_PATH, path.join(release, 'libquiche.so'));
    try {
      expect(loadInChild({})).toMatchObject({
        ok: true,
        source: 'prebuilt',
        path: path.join(pkg, 'libquiche.so'),
      });
    } finally {
      rmSync(path.join(root, 'node_modules/@quichex'), { recursive: true, force: true });
      rmSync(path.join(root, 'vendor'), { recursive: true, force: true });
    }
  });
});
