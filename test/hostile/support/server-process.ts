/**
 * The server under attack runs in a child process (`server.mjs`) so that
 * its RSS is its own: this is the parent's handle on it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Listener, ResourceCounts } from 'quichex';

/** `listener.stats()`. */
export type ListenerStats = ReturnType<Listener['stats']>;

const SCRIPT = fileURLToPath(new URL('./server.mjs', import.meta.url));

/** What the child reports (see `server.mjs`). */
export interface ServerSample {
  /** CPU time the server process has used (user + system), in microseconds. */
  cpuUs: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Peaks since the last `peakReset()` (sampled every 20 ms in the child). */
  peak: { rss: number; heapUsed: number; handshaking: number; connections: number };
  stats: ListenerStats;
  /** `listener.connections.size`. */
  connections: number;
  resources: ResourceCounts;
  /** `pathStats().length` of each live connection. */
  paths: number[];
  /** `streamCount` of each live connection. */
  streams: number[];
  established: number;
  handlerErrors: number;
}

/** What the child is started with. */
export interface ServerOptions {
  cert: string;
  key: string;
  /** Extra `Config` options (JSON-able). */
  config?: Record<string, unknown>;
  /** Extra `listen()` options (JSON-able); none means the library's defaults. */
  listen?: Record<string, unknown>;
}

type Reply = { id: number; sample?: ServerSample; error?: string };

/** A `listen()` in a child process, driven over IPC. */
export class ServerProcess {
  readonly port: number;
  /** The sample taken right after start-up (after a GC). */
  readonly initial: ServerSample;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (r: Reply) => void>();
  #nextId = 1;
  #exited = false;

  private constructor(child: ChildProcess, port: number, initial: ServerSample) {
    this.#child = child;
    this.port = port;
    this.initial = initial;
    child.on('message', (m: Reply) => {
      const resolve = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      resolve?.(m);
    });
    child.on('exit', (code, signal) => {
      this.#exited = true;
      for (const resolve of this.#pending.values())
        resolve({ id: 0, error: `server process exited (code ${code}, signal ${signal})` });
      this.#pending.clear();
    });
  }

  /** Forks the server and waits for it to listen (at most 20 s). */
  static async start(options: ServerOptions): Promise<ServerProcess> {
    const child = fork(SCRIPT, [JSON.stringify(options)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ port: number; sample: ServerSample }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the server process did not start within 20 s')),
        20_000,
      );
      child.once('message', (m: { type: string; port: number; sample: ServerSample }) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server process exited with ${code} before listening`));
      });
    });
    return new ServerProcess(child, ready.port, ready.sample);
  }

  /** Whether the child has exited (a crash, or after `stop()`). */
  get exited(): boolean {
    return this.#exited;
  }

  #ask(cmd: string): Promise<ServerSample> {
    if (this.#exited) return Promise.reject(new Error('the server process has exited'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the server process did not answer '${cmd}' within 15 s`));
      }, 15_000);
      this.#pending.set(id, (r) => {
        clearTimeout(timer);
        if (r.sample) resolve(r.sample);
        else reject(new Error(r.error ?? 'no answer'));
      });
      this.#child.send({ id, cmd });
    });
  }

  /** Memory, counters and connections now. */
  sample(): Promise<ServerSample> {
    return this.#ask('sample');
  }

  /** Runs a full GC in the child, then samples. */
  gc(): Promise<ServerSample> {
    return this.#ask('gc');
  }

  /** Restarts the peak trackers from now. */
  peakReset(): Promise<ServerSample> {
    return this.#ask('peak-reset');
  }

  /** Polls `sample()` every 50 ms until `check` holds; fails after `ms` with the last sample. */
  async until(check: (s: ServerSample) => boolean, ms: number, what: string): Promise<ServerSample> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await this.sample();
      if (check(s)) return s;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${ms} ms waiting for ${what}; last sample ${JSON.stringify(s)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Closes the listener (reporting the last sample), then ends the child. */
  async stop(): Promise<ServerSample | null> {
    if (this.#exited) return null;
    try {
      return await this.#ask('close');
    } finally {
      this.kill();
    }
  }

  /** Ends the child at once. */
  kill(): void {
    if (!this.#exited) {
      this.#child.disconnect();
      this.#child.kill();
    }
  }
}
