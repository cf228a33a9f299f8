/**
 * Finding and loading libquiche: the version check, the QUICHE_LIB override
 * and its fall-through, every candidate rule (prebuilt package, in-repo build,
 * system library), and the QuicheLoadError that lists every attempt.
 *
 * In-process tests call loadLibrary() with process.env changed and restored.
 * The rules that depend on where the loader file sits run loader.ts,
 * transpiled, from a temporary tree in a child node process, so that the
 * prebuilt package and the in-repo build can be made present or absent.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type LoadAttempt,
  library,
  loadLibrary,
  platformTag,
  QUICHE_PINNED_VERSION,
  QuicheLoadError,
  quiche_version,
} from '../src/index.js';
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

  it('names this machine', () => {
    expect(platformTag()).toBe(
      `${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`,
    );
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
  it('lists every attempt, in order, with a fix', () => {
    const attempts: LoadAttempt[] = [
      { source: 'QUICHE_LIB', path: '/x/libquiche.so', reason: 'file does not exist' },
      { source: 'prebuilt', path: '@quichex/libquiche-test', reason: 'package not installed' },
      { source: 'system', path: 'libquiche.so', reason: 'cannot open shared object file' },
    ];
    const err = new QuicheLoadError(attempts);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('QuicheLoadError');
    expect(err.code).toBe('ERR_QUICHE_LOAD');
    expect(err.attempts).toEqual(attempts);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('could not load libquiche 0.30.0. Tried:');
    expect(lines.slice(1, 4)).toEqual([
      '  - QUICHE_LIB: /x/libquiche.so: file does not exist',
      '  - prebuilt: @quichex/libquiche-test: package not installed',
      '  - system: libquiche.so: cannot open shared object file',
    ]);
    expect(lines[4]).toContain(`npm install @quichex/libquiche-${platformTag()}`);
    expect(lines[4]).toContain('QUICHE_LIB');
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
        message: string;
      };

  /** Runs loadLibrary() in a child node with exactly `env` (plus PATH). */
  function loadInChild(env: Record<string, string>): Outcome {
    const script = `
      import { loadLibrary, QuicheLoadError } from ${JSON.stringify(loaderUrl)};
      try {
        const l = loadLibrary();
        console.log(JSON.stringify({ ok: true, source: l.source, path: l.path, version: l.version }));
      } catch (e) {
        console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, isLoadError: e instanceof QuicheLoadError,
          attempts: e.attempts, message: e.message }));
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
