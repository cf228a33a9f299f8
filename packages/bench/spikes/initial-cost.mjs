// Measures what an Initial from an unknown client costs a listener: memory per
// half-open connection, and server CPU per Initial that is accepted, Retried
// or refused. Run: node --expose-gc packages/bench/spikes/initial-cost.mjs
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { generateLocalCertificate } from '@quichex/cli';
import * as q from '@quichex/ffi';
import { Config, listen } from 'quichex';

const N = Number(process.env.N ?? 2000);
const { cert, key } = await generateLocalCertificate();

/** N genuine first Initials from fresh quiche clients. */
function initials(n) {
  const cfg = q.quiche_config_new(q.QUICHE_PROTOCOL_VERSION);
  const alpn = q.encodeAlpn(['echo']);
  q.quiche_config_set_application_protos(cfg, alpn, alpn.length);
  q.quiche_config_verify_peer(cfg, false);
  const local = q.encodeSockaddr('127.0.0.1', 40000);
  const peer = q.encodeSockaddr('127.0.0.1', 4433);
  const info = new Uint8Array(q.StructSize.quiche_send_info);
  const out = [];
  for (let i = 0; i < n; i++) {
    const scid = randomBytes(16);
    const c = q.quiche_connect('localhost', scid, 16, local.buf, local.len, peer.buf, peer.len, cfg);
    const buf = Buffer.alloc(1350);
    const len = q.quiche_conn_send(c, buf, buf.length, info);
    out.push(buf.subarray(0, len));
    q.quiche_conn_free(c);
  }
  q.quiche_config_free(cfg);
  return out;
}

async function run(label, options) {
  const packets = initials(N);
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    config: new Config({ alpn: ['echo'], cert, key }),
    ...options,
  });
  const tx = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
  tx.bind(0, '127.0.0.1');
  await once(tx, 'listening');
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  // Send in small bursts so that the socket buffer never overflows.
  for (let i = 0; i < packets.length; i += 50) {
    for (const p of packets.slice(i, i + 50)) tx.send(p, listener.address().port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 300));
  const cpu = process.cpuUsage(cpu0);
  globalThis.gc?.();
  const mem = process.memoryUsage();
  const s = listener.stats();
  // The sender's own CPU (building nothing here, only sends) is included; it is small against quiche's.
  console.log(
    `${label}: ${N} Initials -> accepted ${s.accepted}, retries ${s.retriesSent}, refused ${s.initialsRefused}, handshaking ${s.handshaking}; ` +
      `CPU ${((cpu.user + cpu.system) / N).toFixed(1)} us/Initial; RSS +${((mem.rss - rss0) / 1024 / Math.max(1, s.handshaking)).toFixed(1)} KiB and heap +${((mem.heapUsed - heap0) / 1024 / Math.max(1, s.handshaking)).toFixed(1)} KiB per half-open connection`,
  );
  tx.close();
  await listener.close({ timeoutMs: 100 });
}

await run('accepted (half-open)', {
  retry: false,
  maxHandshakes: 1_000_000,
  maxHandshakesPerAddress: 1_000_000,
});
await run('retried', { retry: true });
await run('refused', { retry: false, maxHandshakes: 1, maxHandshakesPerAddress: 1_000_000 });
