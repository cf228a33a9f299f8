/**
 * Transfer progress: a redrawn bar on a TTY (bytes, rate, ETA), plain lines
 * at most once a second otherwise.
 */

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Reports progress of a transfer of `total` bytes (or unknown) to `out`. */
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #total: number | null;
  readonly #start = performance.now();
  readonly #tty: boolean;
  #bytes = 0;
  #lastDraw = 0;

  constructor(out: NodeJS.WriteStream, total: number | null) {
    this.#out = out;
    this.#total = total;
    this.#tty = Boolean(out.isTTY);
  }

  /** Bytes so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds `n` bytes and redraws when due. */
  add(n: number): void {
    this.#bytes += n;
    const now = performance.now();
    if (now - this.#lastDraw >= (this.#tty ? 100 : 1000)) {
      this.#lastDraw = now;
      this.#draw(now);
    }
  }

  /** Final line. */
  done(): void {
    this.#draw(performance.now());
    if (this.#tty) this.#out.write('\n');
  }

  /** The line describing the current state. */
  line(now = performance.now()): string {
    const secs = Math.max(1e-3, (now - this.#start) / 1000);
    const rate = this.#bytes / secs;
    if (this.#total === null) return `${human(this.#bytes)}  ${human(rate)}/s`;
    const frac = this.#total === 0 ? 1 : Math.min(1, this.#bytes / this.#total);
    const eta = rate > 0 ? (this.#total - this.#bytes) / rate : Number.POSITIVE_INFINITY;
    const width = 30;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    return `${bar} ${(frac * 100).toFixed(1).padStart(5)}%  ${human(this.#bytes)} / ${human(this.#total)}  ${human(rate)}/s  ETA ${duration(eta)}`;
  }

  #draw(now: number): void {
    if (this.#tty) this.#out.write(`\r${this.line(now)}\x1b[K`);
    else this.#out.write(`${this.line(now)}\n`);
  }
}
