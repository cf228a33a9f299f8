/** Shared argument handling for the commands. */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** Where a command writes, and what can stop it (tests pass their own). */
export interface CommandContext {
  readonly out: NodeJS.WriteStream;
  readonly err: NodeJS.WriteStream;
  /** Stops long-running commands (serve) as SIGINT would. */
  readonly signal?: AbortSignal;
}

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** parseArgs with strict checking and a {@link UsageError} naming the bad option. */
export function parse<T extends Spec>(
  argv: string[],
  spec: T,
): { values: { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: spec,
      allowPositionals: true,
      strict: true,
    });
    return {
      values: values as { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string },
      positionals,
    };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify.*$/s, '')} (see --help)`);
  }
}

/** An integer option with a default and bounds. */
export function intOption(
  name: string,
  text: string | undefined,
  dflt: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return dflt;
  if (!/^\d+$/.test(text))
    throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${name} must be in ${min}..${max}, got ${n}`);
  return n;
}

/** A byte size such as 100M, 1G, 512K or a plain number. */
export function sizeOption(name: string, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${name} must be a size like 64K, 100M or 1G, got ${JSON.stringify(text)}`);
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Math.round(Number(m[1]) * mult);
}
