/**
 * Child processes for the orchestrator: spawn a peer with a raised
 * open-files limit, read its JSON lines, wait with timeouts, stop it, and
 * read its memory from /proc.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type PeerLine, parseLine } from './protocol.js';

/** Open files wanted by peers (idle at 100k holds one UDP or TCP socket per connection). */
export const NOFILE = 1_048_576;

const RAISE_NOFILE = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"`;

let nofile: number | undefined;

/**
 * The open-files limit peers actually get: {@link NOFILE} where the process
 * may raise its hard limit (root with CAP_SYS_RESOURCE), else the hard limit.
 */
export function peerNofile(): number {
  if (nofile === undefined) {
    try {
      const out = execFileSync('bash', ['-c', `${RAISE_NOFILE}; ulimit -n`], {
        encoding: 'utf8',
        timeout: 5000,
      });
      const n = out.trim() === 'unlimited' ? NOFILE : Number(out.trim());
      nofile = Number.isFinite(n) && n > 0 ? n : 1024;
    } catch {
      nofile = 1024;
    }
  }
  return nofile;
}

/** A running peer process and its protocol lines. */
export class PeerProcess {
  readonly child: ChildProcess;
  readonly lines: PeerLine[] = [];
  #stderr = '';
  #waiters: Array<{ pred: (l: PeerLine) => boolean; resolve: (l: PeerLine) => void }> = [];
  #exit: Promise<number | null>;
  #exited = false;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;

  constructor(command: string[], env: NodeJS.ProcessEnv = process.env) {
    // `ulimit -n` in the shell that execs the peer: its pid is the peer's.
    this.child = spawn('bash', ['-c', `${RAISE_NOFILE}; exec "$@"`, 'bash', ...command], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    this.child.stdin?.on('error', () => undefined);
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (text) => {
      const line = parseLine(text);
      if (line === null) return;
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      // Keep the tail only: a chatty peer must not grow the orchestrator.
      this.#stderr = (this.#stderr + d.toString('utf8')).slice(-4000);
    });
    this.#exit = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.#stderr += `\nspawn error: ${err.message}`;
        this.#exited = true;
        resolve(null);
      });
      this.child.on('close', (code, signal) => {
        this.#exited = true;
        this.exitCode = code;
        this.signal = signal;
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Last lines of stderr, for error messages. */
  stderrTail(chars = 600): string {
    return this.#stderr.trim().slice(-chars);
  }

  /** The first line (already seen or to come) matching `pred`; rejects on exit or timeout. */
  waitLine(pred: (l: PeerLine) => boolean, timeoutMs: number, what: string): Promise<PeerLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<PeerLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: timed out after ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const waiter = {
        pred,
        resolve: (l: PeerLine) => {
          done();
          resolve(l);
        },
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      this.#waiters.push(waiter);
      void this.#exit.then(() => {
        // Lines are delivered before 'close'; give readline a turn to flush.
        setImmediate(() => {
          const late = this.lines.find(pred);
          done();
          if (late) resolve(late);
          else
            reject(new Error(`${what}: the process exited (${this.describeExit()})${this.#errorSuffix()}`));
        });
      });
    });
  }

  #errorSuffix(): string {
    const err = this.lines.find((l) => typeof l.error === 'string');
    if (err) return `: ${err.error}`;
    const tail = this.stderrTail(300);
    return tail ? `: ${tail}` : '';
  }

  describeExit(): string {
    if (this.signal) return `signal ${this.signal}`;
    return `code ${this.exitCode}`;
  }

  /** Writes one line to the peer's stdin. */
  send(line: string): void {
    if (!this.#exited) this.child.stdin?.write(`${line}\n`);
  }

  /** Closes stdin: servers stop, idle clients release their connections. */
  endStdin(): void {
    this.child.stdin?.end();
  }

  /** Waits for exit at most `timeoutMs`, then SIGKILLs. Resolves with the exit code. */
  async stop(timeoutMs: number): Promise<number | null> {
    this.endStdin();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const r = await Promise.race([this.#exit, timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.kill();
      return this.#exit;
    }
    return r;
  }

  /** SIGKILL now. */
  kill(): void {
    if (!this.#exited) this.child.kill('SIGKILL');
  }

  wait(): Promise<number | null> {
    return this.#exit;
  }
}

/** VmRSS of a process in KiB, or `null` when it cannot be read. */
export function rssKb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
