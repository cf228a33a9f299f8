// Measures what a completed handshake costs a quichex listener in CPU: a
// listener configured like the benchmark's quichex server, driven by the
// native harness's client (so the client's own cost is out of the picture),
// with process.cpuUsage() read before the client starts and after the last
// connection has drained and been freed.
//
// Run (after `npm run build` and scripts/build-bench-native.sh):
//   node packages/bench/spikes/handshake-cost.mjs [count] [concurrency] [rounds]
// Add `--cpu-prof` before the script to profile the server side.
// QUICHEX_BENCH_NATIVE overrides the path of the native harness.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLocalCertificate } from '@quichex/cli';
import { Config, listen } from 'quichex';

const here = path.dirname(fileURLToPath(import.meta.url));
const NATIVE = process.env.QUICHEX_BENCH_NATIVE || path.join(here, '..', 'native', 'bin', 'quiche-bench');
const count = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 1);
const rounds = Number(process.argv[4] ?? 3);
const MiB = 1024 * 1024;

const { cert, key } = await generateLocalCertificate();

// The benchmark's quichex server (packages/bench/src/peers/quichex.ts).
const listener = await listen({
  host: '127.0.0.1',
  port: 0,
  config: new Config({
    alpn: ['quichex-bench'],
    maxSendUdpPayloadSize: 1350,
    maxIdleTimeout: 30_000,
    initialMaxData: 64 * MiB,
    initialMaxStreamDataBidiLocal: 16 * MiB,
    initialMaxStreamDataBidiRemote: 16 * MiB,
    initialMaxStreamDataUni: 16 * MiB,
    initialMaxStreamsBidi: 100_000,
    cert,
    key,
  }),
  maxHandshakesPerAddress: 1_000_000,
  onConnection: async (conn) => {
    for await (const stream of conn.streams()) stream.destroy();
  },
});
const port = listener.address().port;

// CLIENT=quichex drives it with the benchmark's quichex client instead (its
// CPU is then reported too, read with /usr/bin/time).
const QUICHEX_CLIENT = process.env.CLIENT === 'quichex';
const PEER = path.join(here, '..', 'dist', 'peer.js');

function client(n) {
  const args = [
    '--scenario',
    'handshake',
    '--port',
    String(port),
    '--count',
    String(n),
    '--concurrency',
    String(concurrency),
  ];
  const [cmd, argv] = QUICHEX_CLIENT
    ? [
        '/usr/bin/time',
        [
          '-f',
          'CPU %U %S',
          process.execPath,
          ...(process.env.CLIENT_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          PEER,
          'quichex',
          'client',
          'handshake',
          ...args.slice(2),
        ],
      ]
    : [NATIVE, ['client', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.includes('"result"'));
      if (code !== 0 || !line) return reject(new Error(`client exited ${code}: ${out} ${err}`));
      const result = JSON.parse(line).result;
      const m = /CPU ([\d.]+) ([\d.]+)/.exec(err);
      if (m) result.clientCpuUs = ((Number(m[1]) + Number(m[2])) * 1e6) / n;
      resolve(result);
    });
  });
}

async function drained() {
  while (listener.connections.size > 0) await new Promise((r) => setTimeout(r, 5));
}

await client(Math.min(200, count)); // warm-up (JIT, pools)
await drained();
const results = [];
for (let r = 0; r < rounds; r++) {
  const cpu0 = process.cpuUsage();
  const res = await client(count);
  const t1 = performance.now();
  await drained();
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / count;
  results.push(us);
  console.log(
    `round ${r + 1}: ${count} handshakes, ${concurrency} at a time: server CPU ${us.toFixed(1)} us/handshake ` +
      `(user ${(cpu.user / count).toFixed(1)}, sys ${(cpu.system / count).toFixed(1)}); ` +
      `client saw ${Math.round(res.perSecond)}/s${res.clientCpuUs ? ` and used ${res.clientCpuUs.toFixed(0)} us/handshake (process total)` : ''}; drained ${Math.round(performance.now() - t1)} ms after`,
  );
}
results.sort((a, b) => a - b);
console.log(
  `server CPU per handshake: min ${results[0].toFixed(1)} median ${results[results.length >> 1].toFixed(1)} us`,
);
await listener.close({ timeoutMs: 100 });
