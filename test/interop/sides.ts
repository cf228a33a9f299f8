/**
 * How the runner starts one side of a cell: a server that reports its port,
 * and the client run(s) that download the files. Drivers that follow the
 * contract of README.md (quichex's hq-interop and h3 drivers, aioquic,
 * quic-go, quinn) all start the same way; ngtcp2's example programs
 * (gtlsserver/gtlsclient) are started through the helpers of
 * peers/ngtcp2.mjs, and what they cannot print (RESUMED, ZERO_RTT, MIGRATED)
 * is derived from the quichex h3 server's log and the relay.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Proc, startProc, waitForLine } from './proc.js';
import type { RelayCounters } from './relay.js';

/** The client options of the driver contract. */
export interface ClientFlags {
  resume?: boolean;
  zeroRtt?: boolean;
  migrate?: boolean;
  keyUpdate?: boolean;
  maxStreamsWait?: boolean;
}

/** What a case asks of the server. */
export interface ServerNeeds {
  retry?: boolean;
  /** Offer or accept ChaCha20-Poly1305 only. */
  chacha20?: boolean;
}

export interface ServerStart extends ServerNeeds {
  host: string;
  cert: string;
  key: string;
  root: string;
  /** The server exits on its own after this long (a backstop; the runner stops it). */
  lifetimeS: number;
}

export interface ClientStart {
  host: string;
  port: number;
  ca: string;
  out: string;
  /** Scratch directory of this run (session files and such). */
  scratch: string;
  timeoutS: number;
  paths: string[];
  flags: ClientFlags;
  chacha20?: boolean;
}

/** One side's launcher. */
export interface Side {
  readonly name: string;
  /** Why it cannot run at all (not installed), or null. */
  unavailable(): string | null;
  /** Why it cannot be the server of a case needing `needs`, or null. */
  serverUnsupported(needs: ServerNeeds): string | null;
  /** Why it cannot be the client with these flags, or null. */
  clientUnsupported(flags: ClientFlags, chacha20: boolean): string | null;
  startServer(o: ServerStart, name: string): Promise<{ proc: Proc; port: number }>;
  /** The client command lines, run one after the other. */
  clientCommands(o: ClientStart): Promise<string[][]>;
  /** Result lines the client cannot print itself, derived after the runs. */
  derivedLines?(d: { flags: ClientFlags; server: Proc; relay: RelayCounters | null }): string[];
}

const READY_TIMEOUT_MS = 20_000;
const CHACHA_ONLY = 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305';
const NO_CIPHER_OPTION =
  'the hq-interop driver contract has no cipher option, and the quiche C API cannot restrict cipher suites (see the ngtcp2 rows)';

function flagArgs(f: ClientFlags): string[] {
  const out: string[] = [];
  if (f.resume) out.push('--resume');
  if (f.zeroRtt) out.push('--zero-rtt');
  if (f.migrate) out.push('--migrate');
  if (f.keyUpdate) out.push('--key-update');
  if (f.maxStreamsWait) out.push('--max-streams-wait');
  return out;
}

/** A contract server's command line: `argv` and the options of `o`. */
export function contractServerArgv(argv: string[], o: ServerStart): string[] {
  return [
    ...argv,
    '--host',
    o.host,
    '--port',
    '0',
    '--cert',
    o.cert,
    '--key',
    o.key,
    '--root',
    o.root,
    ...(o.retry ? ['--retry'] : []),
    '--timeout',
    String(o.lifetimeS),
  ];
}

/** Starts a contract server and waits for its `READY <port>`. */
async function startContractServer(
  argv: string[],
  o: ServerStart,
  name: string,
): Promise<{ proc: Proc; port: number }> {
  const proc = startProc(name, contractServerArgv(argv, o));
  const port = Number((await waitForLine(proc, /^READY (\d+)$/, READY_TIMEOUT_MS))[1]);
  return { proc, port };
}

/** A contract client's command line: `argv`, the options of `o`, `flags`, then the paths. */
export function contractClient(
  argv: string[],
  o: Pick<ClientStart, 'host' | 'port' | 'ca' | 'out' | 'timeoutS' | 'paths'>,
  flags: string[],
): string[] {
  return [
    ...argv,
    '--host',
    o.host,
    '--port',
    String(o.port),
    '--ca',
    o.ca,
    '--server-name',
    'localhost',
    '--out',
    o.out,
    '--timeout',
    String(o.timeoutS),
    ...flags,
    ...o.paths,
  ];
}

/** A driver that follows the whole contract (hq-interop). */
export function contractSide(
  name: string,
  command: (role: 'server' | 'client') => string[],
  unavailable: () => string | null,
  options: { restrictsCiphers?: boolean } = {},
): Side {
  return {
    name,
    unavailable,
    serverUnsupported: (needs) => (needs.chacha20 && !options.restrictsCiphers ? NO_CIPHER_OPTION : null),
    clientUnsupported: (_flags, chacha20) =>
      chacha20 && !options.restrictsCiphers ? NO_CIPHER_OPTION : null,
    startServer: (o, label) => startContractServer(command('server'), o, label),
    clientCommands: async (o) => [contractClient(command('client'), o, flagArgs(o.flags))],
  };
}

/**
 * quichex's HTTP/3 driver (peers/quichex/h3.mjs): the contract's download,
 * Retry, and the client's --resume / --zero-rtt (no --migrate or
 * --key-update). It accepts ChaCha20 like any quiche endpoint, so a
 * ChaCha20-only peer can test it.
 */
export function quichexH3Side(script: string, unavailable: () => string | null): Side {
  const argv = (role: 'server' | 'client'): string[] => [process.execPath, script, role];
  return {
    name: 'quichex',
    unavailable,
    serverUnsupported: () => null,
    clientUnsupported: (flags) => {
      const extra = flagArgs({ ...flags, maxStreamsWait: false, resume: false, zeroRtt: false });
      return extra.length ? `quichex’s h3.mjs client has no ${extra.join(' ')}` : null;
    },
    startServer: (o, label) => startContractServer(argv('server'), o, label),
    clientCommands: async (o) => [
      contractClient(
        argv('client'),
        o,
        flagArgs({ ...o.flags, migrate: false, keyUpdate: false, maxStreamsWait: false }),
      ),
    ],
  };
}

// -- ngtcp2 ------------------------------------------------------------------------------

interface Command {
  command: string;
  args: string[];
}

/** The parts of peers/ngtcp2.mjs the runner uses. */
interface Ngtcp2Module {
  ngtcp2Available(): boolean;
  ngtcp2ServerCommand(o: {
    host: string;
    port: number;
    cert: string;
    key: string;
    root: string;
    retry?: boolean;
  }): Command;
  ngtcp2ClientCommand(o: Ngtcp2ClientOptions): Command;
  ngtcp2ResumptionCommands(
    o: Ngtcp2ClientOptions & { stateDir: string; zeroRtt: boolean },
  ): [Command, Command];
  parseH3ServerHandshakes(
    stderr: string,
  ): { resumed: boolean; earlyData: 'accepted' | 'rejected' | 'none' }[];
  pickUdpPort(host: string): Promise<number>;
  waitUdpPortBound(port: number, timeoutMs?: number): Promise<void>;
}

interface Ngtcp2ClientOptions {
  host: string;
  port: number;
  out: string;
  paths: string[];
  serverName?: string;
  keyUpdateAfter?: string;
  changeLocalAddrAfter?: string;
  idleTimeout?: string;
}

/** Options first: getopt would take them anywhere, but this keeps the command line readable. */
function withOptions(c: Command, options: string[]): string[] {
  return [c.command, ...options, ...c.args];
}

/** ngtcp2's gtlsserver / gtlsclient (Debian), through peers/ngtcp2.mjs. */
export function ngtcp2Side(moduleFile: string): Side {
  let loaded: Ngtcp2Module | null = null;
  const mod = async (): Promise<Ngtcp2Module> => {
    loaded ??= (await import(pathToFileURL(moduleFile).href)) as Ngtcp2Module;
    return loaded;
  };
  const ciphers = (chacha20: boolean | undefined): string[] => (chacha20 ? [`--ciphers=${CHACHA_ONLY}`] : []);
  return {
    name: 'ngtcp2',
    unavailable: () => {
      if (!existsSync(moduleFile)) return `missing ${path.basename(moduleFile)}`;
      if (!existsSync('/usr/sbin/gtlsserver') || !existsSync('/usr/bin/gtlsclient')) {
        return 'no /usr/sbin/gtlsserver or /usr/bin/gtlsclient: `apt-get install ngtcp2-server ngtcp2-client`';
      }
      return null;
    },
    serverUnsupported: () => null,
    clientUnsupported: () => null,
    async startServer(o, label) {
      const m = await mod();
      const port = await m.pickUdpPort(o.host);
      const c = m.ngtcp2ServerCommand({ ...o, port, retry: o.retry ?? false });
      const proc = startProc(label, withOptions(c, ciphers(o.chacha20)));
      await Promise.race([
        m.waitUdpPortBound(port, READY_TIMEOUT_MS),
        proc.exited.then((e) => {
          throw new Error(`gtlsserver exited (${e.code ?? e.signal}) before binding port ${port}`);
        }),
      ]);
      return { proc, port };
    },
    async clientCommands(o) {
      const m = await mod();
      const base: Ngtcp2ClientOptions = {
        host: o.host,
        port: o.port,
        out: o.out,
        paths: o.paths,
        idleTimeout: `${Math.min(o.timeoutS, 15)}s`,
        ...(o.flags.keyUpdate ? { keyUpdateAfter: '200ms' } : {}),
        ...(o.flags.migrate ? { changeLocalAddrAfter: '300ms' } : {}),
      };
      const extra = ciphers(o.chacha20);
      if (o.flags.resume || o.flags.zeroRtt) {
        const [first, second] = m.ngtcp2ResumptionCommands({
          ...base,
          stateDir: o.scratch,
          zeroRtt: o.flags.zeroRtt ?? false,
        });
        return [withOptions(first, extra), withOptions(second, extra)];
      }
      return [withOptions(m.ngtcp2ClientCommand(base), extra)];
    },
    derivedLines({ flags, server, relay }) {
      const lines: string[] = [];
      if (flags.resume || flags.zeroRtt) {
        const hs = loaded?.parseH3ServerHandshakes(server.stderr.join('\n')) ?? [];
        const second = hs[1];
        lines.push(`RESUMED ${second ? second.resumed : false}`);
        if (flags.zeroRtt)
          lines.push(`ZERO_RTT ${second ? second.earlyData : 'none'} (quichex h3 server's log)`);
      }
      if (flags.migrate) {
        // gtlsclient prints nothing with -q; the relay saw the client's new address.
        lines.push(`MIGRATED ${relay ? relay.clients >= 2 : false} (new client addresses seen by the relay)`);
      }
      if (flags.keyUpdate)
        lines.push('KEY_UPDATE initiated (gtlsclient --key-update=200ms; not observed on the wire)');
      return lines;
    },
  };
}
