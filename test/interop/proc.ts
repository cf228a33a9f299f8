/**
 * Child processes for the interop runner: spawned in their own process
 * group (so a driver's own children go with it), stdout/stderr kept as
 * bounded line buffers, bounded waits, and a registry that kills whatever
 * is left when the runner exits.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started. */
  spawnError?: string;
}

/** A running (or finished) child. */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last stdout lines (bounded). */
  readonly stdout: string[];
  /** The last stderr lines (bounded). */
  readonly stderr: string[];
  /** Resolves once the process exited and its output was read. */
  readonly exited: Promise<ExitInfo>;
  /** The exit, once known. */
  exit: ExitInfo | null;
}

const MAX_LINES = 4000;
const MAX_LINE_CHARS = 2000;
const live = new Set<Proc>();

function push(lines: string[], line: string): void {
  lines.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
  if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
}

/** Spawns `argv` in a new process group, stdin closed, output captured. */
export function startProc(
  name: string,
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): Proc {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error(`${name}: empty command`);
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let resolveExit: (info: ExitInfo) => void = () => {};
  const exited = new Promise<ExitInfo>((resolve) => {
    resolveExit = resolve;
  });
  const proc: Proc = { name, child, stdout, stderr, exited, exit: null };
  const finish = (info: ExitInfo): void => {
    if (proc.exit) return;
    proc.exit = info;
    live.delete(proc);
    resolveExit(info);
  };
  child.once('error', (err) => finish({ code: null, signal: null, spawnError: err.message }));
  // 'close' fires after stdout and stderr ended, so every line is in by then.
  child.once('close', (code, signal) => finish({ code, signal }));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    push(stdout, line);
    options.onLine?.(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => push(stderr, line));
  live.add(proc);
  return proc;
}

/** Rejects after `ms` with a message naming `what`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for a stdout line matching `re`; rejects when the process exits first or after `ms`. */
export async function waitForLine(proc: Proc, re: RegExp, ms: number): Promise<RegExpExecArray> {
  const found = (): RegExpExecArray | null => {
    for (const line of proc.stdout) {
      const m = re.exec(line);
      if (m) return m;
    }
    return null;
  };
  const deadline = Date.now() + ms;
  for (;;) {
    const m = found();
    if (m) return m;
    if (proc.exit) {
      throw new Error(`${proc.name} exited (${describeExit(proc.exit)}) before printing ${re.source}`);
    }
    if (Date.now() >= deadline) throw new Error(`${proc.name} printed no ${re.source} within ${ms} ms`);
    await Promise.race([proc.exited, new Promise((resolve) => setTimeout(resolve, 20))]);
  }
}

function signalGroup(proc: Proc, signal: NodeJS.Signals): void {
  const pid = proc.child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal); // the whole group: a driver's own children too
  } catch {
    try {
      proc.child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; waits (bounded) for the exit. */
export async function stopProc(proc: Proc, graceMs = 3000): Promise<ExitInfo | null> {
  if (!proc.exit) {
    signalGroup(proc, 'SIGTERM');
    const stopped = await Promise.race([
      proc.exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs)),
    ]);
    if (!stopped) {
      signalGroup(proc, 'SIGKILL');
      await within(proc.exited, graceMs, `${proc.name} to exit after SIGKILL`).catch(() => undefined);
    }
  } else {
    // The leader exited; make sure nothing it started lingers in its group.
    signalGroup(proc, 'SIGKILL');
  }
  return proc.exit;
}

/** SIGKILLs every process group still alive (synchronous: usable from an 'exit' handler). */
export function killAll(): void {
  for (const proc of live) signalGroup(proc, 'SIGKILL');
}

/** "exit 1", "signal SIGTERM", or the spawn error. */
export function describeExit(info: ExitInfo): string {
  if (info.spawnError) return `spawn failed: ${info.spawnError}`;
  if (info.signal) return `signal ${info.signal}`;
  return `exit ${info.code}`;
}
