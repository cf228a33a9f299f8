/**
 * What every matrix cell shares, in either mode (hq-interop or HTTP/3): the
 * served files and their check, and the parsing of the drivers' output.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const TAIL_LINES = 30;

export interface ServedFile {
  name: string;
  size: number;
  sha256: string;
}

export interface Www {
  dir: string;
  files: ServedFile[];
}

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Writes the case's files (random bytes) into a fresh directory under `root`. */
export async function makeWww(root: string, c: { name: string; files?: readonly number[] }): Promise<Www> {
  const dir = path.join(root, `www-${c.name}`);
  await mkdir(dir, { recursive: true });
  const sizes = c.files ?? [];
  const width = String(sizes.length).length;
  const files: ServedFile[] = [];
  for (const [i, size] of sizes.entries()) {
    const name = `f${String(i).padStart(width, '0')}-${size}`;
    const data = randomBytes(size);
    await writeFile(path.join(dir, name), data);
    files.push({ name, size, sha256: sha256(data) });
  }
  return { dir, files };
}

/** What is wrong with the downloads in `out` (empty: all complete and intact). */
export async function verifyFiles(www: Www, out: string): Promise<string[]> {
  const problems: string[] = [];
  for (const f of www.files) {
    const file = path.join(out, f.name);
    try {
      const st = await stat(file);
      if (st.size !== f.size) {
        problems.push(`${f.name}: ${st.size} of ${f.size} bytes`);
        continue;
      }
      if (sha256(await readFile(file)) !== f.sha256) problems.push(`${f.name}: SHA-256 mismatch`);
    } catch {
      problems.push(`${f.name}: missing`);
    }
  }
  return problems;
}

export function summarize(problems: string[]): string {
  if (problems.length <= 3) return problems.join('; ');
  return `${problems.slice(0, 3).join('; ')}; … ${problems.length - 3} more of ${problems.length} files`;
}

export function tail(lines: readonly string[] | undefined, n = TAIL_LINES): string[] {
  return lines ? lines.slice(-n) : [];
}

/** A stable 32-bit seed for a cell, so reruns impair the same datagrams. */
export function seedFor(...parts: string[]): number {
  const digest = createHash('sha256').update(parts.join('/')).digest();
  return digest.readUInt32BE(0);
}

/** The first stdout line (client, then server) that says something is unsupported. */
export function unsupportedLine(client: readonly string[], server: readonly string[]): string | null {
  for (const [who, lines] of [
    ['client', client],
    ['server', server],
  ] as const) {
    const line = lines.find((l) => /\bunsupported\b/i.test(l));
    if (line) return `${who}: ${line}`;
  }
  return null;
}

export function errorLine(lines: readonly string[]): string | null {
  const line = [...lines].reverse().find((l) => l.startsWith('ERROR'));
  return line ?? null;
}

/** The files of case `c`, made under `root` the first time and kept in `cache` by case name. */
export async function cachedWww(
  cache: Map<string, Www>,
  root: string,
  c: { name: string; files?: readonly number[] },
): Promise<Www> {
  let www = cache.get(c.name);
  if (!www) {
    www = await makeWww(root, c);
    cache.set(c.name, www);
  }
  return www;
}
