#!/usr/bin/env node
/**
 * `peer <impl> <role> <scenario> [options]`: one side of one benchmark, for
 * impl quichex | matrixai | tls | dgram | h3 | http2 | https. See protocol.ts for the lines it prints.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { emit, errorText, holdIdle, type Peer, serveUntilDone } from './lifecycle.js';
import { JS_IMPLS, type JsImpl, type PeerOptions, SCENARIOS, type Scenario } from './protocol.js';
import { unsupported } from './support.js';

const USAGE = `usage: peer <${JS_IMPLS.join('|')}> <server|client> <${SCENARIOS.join('|')}>
  [--port P] [--bytes N] [--streams K] [--count C] [--concurrency K] [--new-stream]
  [--size B] [--cert FILE --key FILE] [--local-address IP] [--no-pacing]
  mixed: uploader [--connections K]; prober --probe [--count N] [--interval MS] [--probe-timeout MS]
  http (h3, http2, https): [--count C --concurrency K --size B --warmup W] | [--download --bytes N]`;

function int(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

function parse(argv: string[]): {
  impl: JsImpl;
  role: 'server' | 'client';
  scenario: Scenario;
  opts: PeerOptions;
} {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      bytes: { type: 'string' },
      streams: { type: 'string' },
      count: { type: 'string' },
      concurrency: { type: 'string' },
      'new-stream': { type: 'boolean' },
      size: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'local-address': { type: 'string' },
      'no-pacing': { type: 'boolean' },
      connections: { type: 'string' },
      probe: { type: 'boolean' },
      interval: { type: 'string' },
      'probe-timeout': { type: 'string' },
      warmup: { type: 'string' },
      download: { type: 'boolean' },
    },
  });
  const [impl, role, scenario] = positionals;
  if (positionals.length !== 3) throw new Error(USAGE);
  if (!(JS_IMPLS as readonly string[]).includes(impl as string))
    throw new Error(`unknown impl ${impl}\n${USAGE}`);
  if (role !== 'server' && role !== 'client') throw new Error(`unknown role ${role}\n${USAGE}`);
  if (!(SCENARIOS as readonly string[]).includes(scenario as string))
    throw new Error(`unknown scenario ${scenario}\n${USAGE}`);
  return {
    impl: impl as JsImpl,
    role,
    scenario: scenario as Scenario,
    opts: {
      port: int('port', values.port, 0, 0),
      bytes: int('bytes', values.bytes, 8 * 1024 * 1024, 1),
      streams: int('streams', values.streams, 1, 1),
      count: int('count', values.count, 100, 1),
      concurrency: int('concurrency', values.concurrency, 1, 1),
      newStream: values['new-stream'] === true,
      size: int('size', values.size, 1200, 1),
      cert: values.cert,
      key: values.key,
      localAddress: values['local-address'],
      noPacing: values['no-pacing'] === true,
      connections: int('connections', values.connections, 4, 1),
      probe: values.probe === true,
      interval: int('interval', values.interval, 0, 0),
      probeTimeout: int('probe-timeout', values['probe-timeout'], 3000, 1),
      warmup: int('warmup', values.warmup, 0, 0),
      download: values.download === true,
    },
  };
}

async function load(impl: JsImpl): Promise<Peer> {
  switch (impl) {
    case 'quichex':
      return (await import('./peers/quichex.js')).quichexPeer;
    case 'matrixai':
      return (await import('./peers/matrixai.js')).matrixaiPeer;
    case 'tls':
      return (await import('./peers/tls.js')).tlsPeer;
    case 'dgram':
      return (await import('./peers/dgram.js')).dgramPeer;
    case 'h3':
      return (await import('./peers/h3.js')).h3Peer;
    case 'http2':
      return (await import('./peers/http2.js')).http2Peer;
    case 'https':
      return (await import('./peers/https.js')).httpsPeer;
  }
}

async function main(): Promise<number> {
  const { impl, role, scenario, opts } = parse(process.argv.slice(2));
  const why = unsupported(impl, scenario, { newStream: opts.newStream, noPacing: opts.noPacing });
  if (why !== null) {
    emit({ error: `n/a: ${why}` });
    return 3;
  }
  const peer = await load(impl);
  if (role === 'server') {
    await serveUntilDone(await peer.server(scenario, opts));
    return 0;
  }
  if (opts.port === 0) throw new Error('the client needs --port');
  const result = await peer.client(scenario, opts, { holdIdle });
  emit({ result });
  return 0;
}

main().then(
  (code) => {
    // Sockets of connections still draining must not keep the process alive.
    process.exit(code);
  },
  (err: unknown) => {
    emit({ error: errorText(err) });
    process.exit(1);
  },
);
