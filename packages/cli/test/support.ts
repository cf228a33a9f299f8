/** Runs CLI commands in-process with captured output. */
import { PassThrough } from 'node:stream';
import { type CommandContext, run } from '../src/index.js';

/** Captured output of one command. */
export interface Captured {
  readonly out: () => string;
  readonly err: () => string;
  readonly ctx: CommandContext;
}

/** A context whose stdout/stderr are captured (not TTYs). */
export function capture(signal?: AbortSignal): Captured {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => {
    o += d;
  });
  err.on('data', (d) => {
    e += d;
  });
  return {
    out: () => o,
    err: () => e,
    ctx: { out: out as unknown as NodeJS.WriteStream, err: err as unknown as NodeJS.WriteStream, signal },
  };
}

/** Runs `quichex ...args` and returns the exit code with the output. */
export async function quichex(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await run(args, c.ctx);
  return { code, out: c.out(), err: c.err() };
}

/** Starts `quichex serve ...args` on 127.0.0.1 port 0; returns its port and a stop function. */
export async function startServe(
  ...args: string[]
): Promise<{ port: number; stop: () => Promise<number>; err: () => string; out: () => string }> {
  const abort = new AbortController();
  const c = capture(abort.signal);
  const done = run(['serve', '--host', '127.0.0.1', '--port', '0', ...args], c.ctx);
  for (let i = 0; i < 500; i++) {
    const m = /listening on [^\s]+:(\d+)/.exec(c.out());
    if (m) {
      return {
        port: Number(m[1]),
        err: c.err,
        out: c.out,
        stop: async () => {
          abort.abort();
          return done;
        },
      };
    }
    const early = await Promise.race([done, new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (early !== null) throw new Error(`serve exited with ${early}: ${c.err()}`);
  }
  throw new Error(`serve did not start: ${c.err()}`);
}
