/**
 * A UDP impairment relay for loopback interop runs.
 *
 * The relay listens on a loopback address (port 0) and forwards datagrams
 * between clients and one server address, like a small NAT: every distinct
 * client address gets its own upstream socket towards the server. Each
 * direction can be impaired on its own — loss (independent or bursty),
 * blackhole periods, corruption, duplication, reordering, fixed delay with
 * jitter and a bandwidth limit — and the upstream sockets can be swapped for
 * new ports or new source addresses at given times (NAT rebinding).
 *
 * Every random decision comes from a seeded PRNG (mulberry32), one stream per
 * direction, with a fixed number of draws per datagram: the same datagrams in
 * the same order meet the same fate for the same seed.
 *
 * The relay also reads QUIC v1 long headers on the way through, to count
 * Retry packets from the server and to measure how many bytes the server
 * sent before the client's first Handshake packet validated its address
 * (the anti-amplification limit).
 *
 * @module
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';

/** How drops cluster. Without a model, each datagram is lost independently with `loss`. */
export type BurstModel =
  | {
      /**
       * Gilbert-Elliott: a good and a bad state; the state changes before each
       * datagram, then the datagram is lost with the state's loss probability.
       * `loss` of the direction is ignored. See {@link gilbertElliott}.
       */
      kind: 'gilbert-elliott';
      /** Probability of moving from good to bad, per datagram. */
      pGoodToBad: number;
      /** Probability of moving from bad to good, per datagram. */
      pBadToGood: number;
      /** Loss probability in the good state (default 0). */
      lossGood?: number;
      /** Loss probability in the bad state (default 1). */
      lossBad?: number;
    }
  | {
      /** Each datagram is lost with `loss`; a loss also takes the next `length - 1` datagrams. */
      kind: 'after-drop';
      /** Datagrams lost per burst, the first included (≥ 1). */
      length: number;
    };

/** Impairments of one direction. Probabilities are in [0, 1], times in ms. */
export interface Impairments {
  /** Probability of losing a datagram (without `burst`, or with an `after-drop` burst). */
  loss?: number;
  /** How losses cluster. */
  burst?: BurstModel;
  /** Drop everything between these times (ms after the relay's time origin), `[from, to)`. */
  blackhole?: ReadonlyArray<readonly [number, number]>;
  /** Probability of flipping one random byte of a datagram (any byte: QUIC must drop it). */
  corrupt?: number;
  /** Probability of sending a datagram twice. */
  duplicate?: number;
  /** Probability of holding a datagram back until the next one in this direction went first. */
  reorder?: number;
  /** Longest time a held datagram waits for a successor before it goes alone (default 20). */
  reorderHoldMs?: number;
  /** Fixed one-way delay (default 0). */
  delayMs?: number;
  /** Uniform jitter of ± this many ms around the delay; datagrams keep their order. */
  jitterMs?: number;
  /** Bottleneck rate in bytes per second (default: unlimited). */
  rateBytesPerSec?: number;
  /** Most datagrams waiting in this direction's queue; more are dropped (default 16384). */
  maxQueue?: number;
  /** Most bytes waiting in this direction's queue; more are dropped (default 32 MiB). */
  maxQueueBytes?: number;
}

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** The server to forward to. */
  server: { host: string; port: number };
  /** Address to listen on (default `127.0.0.1`, or `::1` for an IPv6 server). */
  listenHost?: string;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Impairments of datagrams from clients to the server. */
  toServer?: Impairments;
  /** Impairments of datagrams from the server to clients. */
  toClient?: Impairments;
  /** At these times, every client's upstream socket is replaced by one on a new port. */
  rebindPortAt?: readonly number[];
  /**
   * At these times, every client's upstream socket is replaced by one bound to
   * the next address of `rebindAddrs` (the server sees a new source address).
   */
  rebindAddrAt?: readonly number[];
  /** Source addresses to rotate through (default `127.0.0.2` … `127.0.0.9`; IPv4 only). */
  rebindAddrs?: readonly string[];
  /**
   * How long a replaced upstream socket still passes the server's datagrams
   * on to the client (default 0: closed at once, like a NAT mapping that is
   * gone, so whatever the server sent to the old port is lost).
   */
  rebindGraceMs?: number;
  /**
   * What the times of `blackhole`, `rebindPortAt` and `rebindAddrAt` count from:
   * the first datagram from a client (default) or the moment the relay listens.
   */
  timeOrigin?: 'first-packet' | 'listen';
  /** Most client addresses served at once (default 64); datagrams from more are dropped. */
  maxClients?: number;
}

/** What the relay did in one direction. */
export interface DirectionCounters {
  /** Datagrams that arrived. */
  received: number;
  /** Bytes that arrived. */
  receivedBytes: number;
  /** Datagrams sent on (duplicates included). */
  forwarded: number;
  /** Bytes sent on. */
  forwardedBytes: number;
  /** Datagrams dropped for any reason. */
  dropped: number;
  /** … by the loss model. */
  droppedLoss: number;
  /** … during a blackhole period. */
  droppedBlackhole: number;
  /** … because the queue was full (or too many clients, or no upstream socket). */
  droppedQueue: number;
  /** Datagrams sent twice. */
  duplicated: number;
  /** Datagrams with a flipped byte. */
  corrupted: number;
  /** Datagrams that went after their successor. */
  reordered: number;
  /** Send errors reported by the kernel. */
  sendErrors: number;
}

/** Bytes each way before the server saw a Handshake packet from the client. */
export interface AmplificationSample {
  /** Client address as the relay saw it. */
  client: string;
  /** Bytes forwarded to the server before the client's first Handshake packet. */
  clientBytes: number;
  /** Bytes that came from the server before the relay forwarded that Handshake packet. */
  serverBytes: number;
  /** Whether a client Handshake packet was forwarded (the sample is complete). */
  validated: boolean;
  /** Whether the server sent a Retry (its token validates the address instead). */
  retried: boolean;
}

/** Everything the relay counted. */
export interface RelayCounters {
  toServer: DirectionCounters;
  toClient: DirectionCounters;
  /** Sum over both directions. */
  forwarded: number;
  dropped: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Upstream socket swaps (one per client per rebind time). */
  rebinds: number;
  /** Rebind times that have passed. */
  rebindEvents: number;
  /** Distinct client addresses seen. */
  clients: number;
  /** QUIC v1 Retry packets from the server. */
  retries: number;
  /** Per client, in order of arrival. */
  amplification: AmplificationSample[];
  /** Socket errors and failed rebinds (messages). */
  errors: string[];
}

/** A running relay; see {@link startRelay}. */
export interface Relay {
  /** Where clients should send. */
  readonly host: string;
  readonly port: number;
  /** A snapshot of the counters. */
  counters(): RelayCounters;
  /** The source address the server currently sees for each client (`addr:port`). */
  upstreamAddresses(): string[];
  /** Closes every socket and clears every timer. */
  close(): Promise<void>;
}

/** A seeded PRNG (mulberry32) returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Gilbert-Elliott model (lossless good state, lossy bad state) with the
 * given long-run loss rate and mean burst length in datagrams.
 */
export function gilbertElliott(meanLoss: number, meanBurst: number): BurstModel {
  if (!(meanLoss >= 0 && meanLoss < 1)) throw new RangeError('meanLoss must be in [0, 1)');
  if (!(meanBurst >= 1)) throw new RangeError('meanBurst must be ≥ 1');
  const pBadToGood = 1 / meanBurst;
  return { kind: 'gilbert-elliott', pGoodToBad: (meanLoss * pBadToGood) / (1 - meanLoss), pBadToGood };
}

/** QUIC v1 long-header packet types. */
export const LongType = { Initial: 0, ZeroRtt: 1, Handshake: 2, Retry: 3 } as const;

/** Reads a QUIC variable-length integer at `off`; null when it runs past the end. */
function varint(buf: Uint8Array, off: number): { value: number; next: number } | null {
  if (off >= buf.length) return null;
  const first = buf[off]!;
  const len = 1 << (first >> 6);
  if (off + len > buf.length) return null;
  let value = first & 0x3f;
  for (let i = 1; i < len; i++) value = value * 256 + buf[off + i]!;
  return { value, next: off + len };
}

/**
 * The long-header packet types (v1 numbering) of the packets coalesced in a
 * datagram, in order; a short-header packet ends the walk. Other versions
 * and malformed headers yield what was read so far.
 */
export function longHeaderTypes(datagram: Uint8Array): number[] {
  const types: number[] = [];
  let off = 0;
  while (off + 7 <= datagram.length) {
    const first = datagram[off]!;
    if ((first & 0x80) === 0) break; // short header: the rest of the datagram
    const version =
      ((datagram[off + 1]! << 24) |
        (datagram[off + 2]! << 16) |
        (datagram[off + 3]! << 8) |
        datagram[off + 4]!) >>>
      0;
    if (version !== 1) break;
    const type = (first & 0x30) >> 4;
    types.push(type);
    if (type === LongType.Retry) break; // a Retry has no length and takes the datagram
    let p = off + 5;
    const dcidLen = datagram[p];
    if (dcidLen === undefined) break;
    p += 1 + dcidLen;
    const scidLen = datagram[p];
    if (scidLen === undefined) break;
    p += 1 + scidLen;
    if (type === LongType.Initial) {
      const token = varint(datagram, p);
      if (!token) break;
      p = token.next + token.value;
    }
    const length = varint(datagram, p);
    if (!length) break;
    off = length.next + length.value;
  }
  return types;
}

interface Queued {
  data: Buffer;
  at: number;
  session: Session;
}

interface Session {
  key: string;
  address: string;
  port: number;
  upstream: dgram.Socket | null;
  /** Socket swaps of this client, one after the other. */
  binding: Promise<void>;
  /** Replaced upstream sockets still inside their grace period. */
  retired: Set<dgram.Socket>;
  /** Datagrams delivered before the first upstream socket was bound (bounded). */
  waiting: Buffer[];
  closed: boolean;
  amp: AmplificationSample;
}

function newCounters(): DirectionCounters {
  return {
    received: 0,
    receivedBytes: 0,
    forwarded: 0,
    forwardedBytes: 0,
    dropped: 0,
    droppedLoss: 0,
    droppedBlackhole: 0,
    droppedQueue: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    sendErrors: 0,
  };
}

function checkProbability(name: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability in [0, 1]`);
}

function checkImpairments(where: string, imp: Impairments): void {
  for (const k of ['loss', 'corrupt', 'duplicate', 'reorder'] as const)
    checkProbability(`${where}.${k}`, imp[k]);
  for (const k of ['delayMs', 'jitterMs', 'reorderHoldMs'] as const) {
    const v = imp[k];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new RangeError(`${where}.${k} must be ≥ 0`);
  }
  if (imp.rateBytesPerSec !== undefined && !(imp.rateBytesPerSec > 0)) {
    throw new RangeError(`${where}.rateBytesPerSec must be > 0`);
  }
  const b = imp.burst;
  if (b?.kind === 'gilbert-elliott') {
    checkProbability(`${where}.burst.pGoodToBad`, b.pGoodToBad);
    checkProbability(`${where}.burst.pBadToGood`, b.pBadToGood);
    checkProbability(`${where}.burst.lossGood`, b.lossGood);
    checkProbability(`${where}.burst.lossBad`, b.lossBad);
  } else if (b?.kind === 'after-drop' && !(Number.isInteger(b.length) && b.length >= 1)) {
    throw new RangeError(`${where}.burst.length must be an integer ≥ 1`);
  }
}

/**
 * One direction: decides each datagram's fate, then queues it for its
 * delivery time (FIFO, so delay, jitter and rate never reorder by themselves).
 */
class Lane {
  readonly counters = newCounters();
  readonly #imp: Impairments;
  readonly #rand: () => number;
  readonly #now: () => number;
  readonly #deliver: (q: Queued) => void;
  readonly #queue: Queued[] = [];
  #head = 0;
  #queuedBytes = 0;
  #lastAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #held: { data: Buffer; session: Session } | null = null;
  #holdTimer: NodeJS.Timeout | null = null;
  #bad = false;
  #burstLeft = 0;
  #closed = false;

  constructor(imp: Impairments, seed: number, now: () => number, deliver: (q: Queued) => void) {
    this.#imp = imp;
    this.#rand = mulberry32(seed);
    this.#now = now;
    this.#deliver = deliver;
  }

  /** Takes one datagram arriving `elapsed` ms after the time origin (null: no origin yet). */
  push(data: Buffer, session: Session, elapsed: number | null): void {
    if (this.#closed) return;
    const c = this.counters;
    c.received++;
    c.receivedBytes += data.length;
    // A fixed number of draws per datagram keeps every decision reproducible.
    const rState = this.#rand();
    const rLoss = this.#rand();
    const rCorrupt = this.#rand();
    const rCorruptAt = this.#rand();
    const rCorruptXor = this.#rand();
    const rDup = this.#rand();
    const rReorder = this.#rand();
    const rJitter = this.#rand();
    const imp = this.#imp;

    if (elapsed !== null && imp.blackhole?.some(([from, to]) => elapsed >= from && elapsed < to)) {
      c.dropped++;
      c.droppedBlackhole++;
      return;
    }
    if (this.#lost(rState, rLoss)) {
      c.dropped++;
      c.droppedLoss++;
      return;
    }
    if (imp.corrupt && rCorrupt < imp.corrupt && data.length > 0) {
      data = Buffer.from(data);
      const at = Math.floor(rCorruptAt * data.length);
      data[at] = data[at]! ^ (1 + Math.floor(rCorruptXor * 255));
      c.corrupted++;
    }
    const copies = imp.duplicate && rDup < imp.duplicate ? 2 : 1;
    if (copies === 2) c.duplicated++;

    const held = this.#held;
    if (held) {
      // This datagram overtakes the held one.
      this.#held = null;
      this.#clearHoldTimer();
      this.#enqueue(data, session, copies, rJitter);
      this.#enqueue(held.data, held.session, 1, rJitter);
      c.reordered++;
      return;
    }
    if (imp.reorder && rReorder < imp.reorder && copies === 1) {
      this.#held = { data, session };
      this.#holdTimer = setTimeout(() => {
        this.#holdTimer = null;
        const h = this.#held;
        this.#held = null;
        if (h) this.#enqueue(h.data, h.session, 1, 0.5);
      }, imp.reorderHoldMs ?? 20);
      return;
    }
    this.#enqueue(data, session, copies, rJitter);
  }

  #lost(rState: number, rLoss: number): boolean {
    const imp = this.#imp;
    const b = imp.burst;
    if (b?.kind === 'gilbert-elliott') {
      this.#bad = this.#bad ? rState >= b.pBadToGood : rState < b.pGoodToBad;
      return rLoss < (this.#bad ? (b.lossBad ?? 1) : (b.lossGood ?? 0));
    }
    if (this.#burstLeft > 0) {
      this.#burstLeft--;
      return true;
    }
    if (imp.loss && rLoss < imp.loss) {
      if (b?.kind === 'after-drop') this.#burstLeft = b.length - 1;
      return true;
    }
    return false;
  }

  #enqueue(data: Buffer, session: Session, copies: number, rJitter: number): void {
    const imp = this.#imp;
    const c = this.counters;
    const now = this.#now();
    const jitter = imp.jitterMs ? (rJitter * 2 - 1) * imp.jitterMs : 0;
    for (let i = 0; i < copies; i++) {
      const pending = this.#queue.length - this.#head;
      if (
        pending >= (imp.maxQueue ?? 16384) ||
        this.#queuedBytes + data.length > (imp.maxQueueBytes ?? 32 << 20)
      ) {
        c.dropped++;
        c.droppedQueue++;
        continue;
      }
      let at = now + Math.max(0, (imp.delayMs ?? 0) + jitter);
      if (imp.rateBytesPerSec) {
        // Serialization at the bottleneck: each datagram leaves after the previous one's bytes.
        at = Math.max(at, this.#lastAt + (data.length * 1000) / imp.rateBytesPerSec);
      }
      at = Math.max(at, this.#lastAt);
      this.#lastAt = at;
      if (at <= now && pending === 0) {
        this.#deliver({ data, at, session });
        continue;
      }
      this.#queue.push({ data, at, session });
      this.#queuedBytes += data.length;
      this.#arm();
    }
  }

  #arm(): void {
    if (this.#timer || this.#closed) return;
    const next = this.#queue[this.#head];
    if (!next) return;
    this.#timer = setTimeout(() => this.#drain(), Math.max(0, next.at - this.#now()));
  }

  #drain(): void {
    this.#timer = null;
    const now = this.#now();
    // Timers fire up to ~1 ms late; deliver everything due within half a millisecond.
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.at <= now + 0.5) {
      const q = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined as unknown as Queued;
      this.#head++;
      this.#queuedBytes -= q.data.length;
      this.#deliver(q);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    this.#arm();
  }

  #clearHoldTimer(): void {
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = null;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#clearHoldTimer();
    this.#held = null;
    this.#queue.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
  }
}

function bindSocket(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, reuseAddr: false });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind(0, address, () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Starts a relay in front of `options.server`. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const v6 = isIPv6(options.server.host);
  const type = v6 ? 'udp6' : 'udp4';
  const loopback = v6 ? '::1' : '127.0.0.1';
  const listenHost = options.listenHost ?? loopback;
  const toServerImp = options.toServer ?? {};
  const toClientImp = options.toClient ?? {};
  checkImpairments('toServer', toServerImp);
  checkImpairments('toClient', toClientImp);
  const rebindAddrs =
    options.rebindAddrs ?? ['2', '3', '4', '5', '6', '7', '8', '9'].map((n) => `127.0.0.${n}`);
  if (options.rebindAddrAt?.length && v6 && !options.rebindAddrs) {
    throw new RangeError('rebindAddrAt needs rebindAddrs for IPv6 (only ::1 is on lo)');
  }
  const seed = (options.seed ?? 1) >>> 0;
  const maxClients = options.maxClients ?? 64;
  const { host: serverHost, port: serverPort } = options.server;

  const sessions = new Map<string, Session>();
  const timers = new Set<NodeJS.Timeout>();
  const errors: string[] = [];
  const pending = new Set<Promise<unknown>>();
  let upstreamHost = loopback;
  let addrIndex = 0;
  let rebinds = 0;
  let rebindEvents = 0;
  let retries = 0;
  let origin: number | null = null;
  let closed = false;
  const now = (): number => performance.now();
  const elapsed = (): number | null => (origin === null ? null : now() - origin);
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => {});
    return p;
  };

  const listener = await bindSocket(type, listenHost);

  const sendTo = (socket: dgram.Socket, data: Buffer, port: number, host: string, lane: Lane): void => {
    lane.counters.forwarded++;
    lane.counters.forwardedBytes += data.length;
    try {
      socket.send(data, port, host, (err) => {
        if (err) lane.counters.sendErrors++;
      });
    } catch {
      lane.counters.sendErrors++;
    }
  };

  const sendUp = (s: Session, data: Buffer): void => {
    if (closed || s.closed || (!s.upstream && s.waiting.length >= 64)) {
      toServer.counters.dropped++;
      toServer.counters.droppedQueue++;
      return;
    }
    if (!s.upstream) {
      s.waiting.push(data);
      return;
    }
    if (!s.amp.validated && !s.amp.retried) {
      s.amp.clientBytes += data.length;
      if (longHeaderTypes(data).includes(LongType.Handshake)) s.amp.validated = true;
    }
    sendTo(s.upstream, data, serverPort, serverHost, toServer);
  };
  const toServer: Lane = new Lane(toServerImp, seed ^ 0x5eed0001, now, (q) => sendUp(q.session, q.data));
  const toClient: Lane = new Lane(toClientImp, seed ^ 0x5eed0002, now, (q) => {
    const s = q.session;
    if (closed || s.closed) {
      toClient.counters.dropped++;
      toClient.counters.droppedQueue++;
      return;
    }
    sendTo(listener, q.data, s.port, s.address, toClient);
  });

  const attachUpstream = (s: Session, socket: dgram.Socket): void => {
    socket.on('message', (msg) => {
      if (closed || s.closed || (socket !== s.upstream && !s.retired.has(socket))) return;
      const types = longHeaderTypes(msg);
      if (types.includes(LongType.Retry)) {
        retries++;
        s.amp.retried = true;
      }
      if (!s.amp.validated && !s.amp.retried) s.amp.serverBytes += msg.length;
      toClient.push(msg, s, elapsed());
    });
    socket.on('error', (err) => errors.push(`upstream ${s.key}: ${err.message}`));
  };

  /** Binds a new upstream socket for `s` after any swap still in progress. */
  const openUpstream = (s: Session, host: string): Promise<void> => {
    s.binding = s.binding.catch(() => {}).then(() => swapUpstream(s, host));
    return s.binding;
  };

  const swapUpstream = async (s: Session, host: string): Promise<void> => {
    const socket = await bindSocket(type, host);
    if (closed || s.closed) {
      await closeSocket(socket);
      return;
    }
    const old = s.upstream;
    s.upstream = socket;
    attachUpstream(s, socket);
    if (old) {
      rebinds++;
      const grace = options.rebindGraceMs ?? 0;
      if (grace > 0) {
        s.retired.add(old);
        const timer = setTimeout(() => {
          timers.delete(timer);
          s.retired.delete(old);
          void closeSocket(old);
        }, grace);
        timers.add(timer);
      } else {
        await closeSocket(old);
      }
    } else {
      for (const data of s.waiting.splice(0)) sendUp(s, data);
    }
  };

  const rebind = (changeAddr: boolean): void => {
    if (closed) return;
    rebindEvents++;
    if (changeAddr) upstreamHost = rebindAddrs[addrIndex++ % rebindAddrs.length]!;
    for (const s of sessions.values()) {
      track(openUpstream(s, upstreamHost)).catch((err: Error) =>
        errors.push(`rebind ${s.key}: ${err.message}`),
      );
    }
  };

  const startClock = (): void => {
    origin = now();
    const schedule = (times: readonly number[] | undefined, changeAddr: boolean): void => {
      for (const t of times ?? []) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          rebind(changeAddr);
        }, t);
        timers.add(timer);
      }
    };
    schedule(options.rebindPortAt, false);
    schedule(options.rebindAddrAt, true);
  };
  if ((options.timeOrigin ?? 'first-packet') === 'listen') startClock();

  listener.on('message', (msg, rinfo) => {
    if (closed) return;
    if (origin === null) startClock();
    const key = `${rinfo.address}|${rinfo.port}`;
    let s = sessions.get(key);
    if (!s) {
      if (sessions.size >= maxClients) {
        toServer.counters.received++;
        toServer.counters.dropped++;
        toServer.counters.droppedQueue++;
        return;
      }
      const session: Session = {
        key,
        address: rinfo.address,
        port: rinfo.port,
        upstream: null,
        binding: Promise.resolve(),
        retired: new Set(),
        waiting: [],
        closed: false,
        amp: {
          client: `${rinfo.address}:${rinfo.port}`,
          clientBytes: 0,
          serverBytes: 0,
          validated: false,
          retried: false,
        },
      };
      s = session;
      sessions.set(key, session);
      // Datagrams due before the upstream socket is bound wait in `waiting` (see sendUp).
      track(openUpstream(session, upstreamHost)).catch((err: Error) => {
        errors.push(`bind ${key}: ${err.message}`);
      });
    }
    toServer.push(msg, s, elapsed());
  });
  listener.on('error', (err) => errors.push(`listener: ${err.message}`));

  const address = listener.address();
  return {
    host: address.address,
    port: address.port,
    counters(): RelayCounters {
      const a = { ...toServer.counters };
      const b = { ...toClient.counters };
      return {
        toServer: a,
        toClient: b,
        forwarded: a.forwarded + b.forwarded,
        dropped: a.dropped + b.dropped,
        duplicated: a.duplicated + b.duplicated,
        corrupted: a.corrupted + b.corrupted,
        reordered: a.reordered + b.reordered,
        rebinds,
        rebindEvents,
        clients: sessions.size,
        retries,
        amplification: [...sessions.values()].map((s) => ({ ...s.amp })),
        errors: [...errors],
      };
    },
    upstreamAddresses(): string[] {
      return [...sessions.values()].flatMap((s) => {
        const a = s.upstream?.address();
        return a ? [`${a.address}:${a.port}`] : [];
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      toServer.close();
      toClient.close();
      await Promise.allSettled([...pending]);
      const sockets = [listener];
      for (const s of sessions.values()) {
        s.closed = true;
        if (s.upstream) sockets.push(s.upstream);
        sockets.push(...s.retired);
        s.retired.clear();
        s.upstream = null;
      }
      await Promise.all(sockets.map(closeSocket));
    },
  };
}
