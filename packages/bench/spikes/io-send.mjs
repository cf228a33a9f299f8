// Spike behind PERFORMANCE.md's "Batched I/O" table: the sender's CPU per 1350-byte datagram
// on loopback for node:dgram send(), libc sendmmsg (32 per call) and sendmsg with UDP GSO (32
// segments per call), through koffi. Run: node packages/bench/spikes/io-send.mjs
import dgram from 'node:dgram';
import koffi from 'koffi';

const N = 200_000,
  SIZE = 1350,
  BATCH = 32;
const sink = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
await new Promise((r) => sink.bind(0, '127.0.0.1', r));
let received = 0;
sink.on('message', () => received++);
const port = sink.address().port;
const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int, int, int)');
const connect = libc.func('int connect(int, const void *, uint32_t)');
const sendmmsg = libc.func('int sendmmsg(int, void *, unsigned int, int)');
const sendmsg = libc.func('intptr_t sendmsg(int, void *, int)');
const setsockopt = libc.func('int setsockopt(int, int, int, const void *, uint32_t)');
const close = libc.func('int close(int)');
function sa() {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16BE(port, 2);
  b.set([127, 0, 0, 1], 4);
  return b;
}
async function drain() {
  await new Promise((r) => setTimeout(r, 300));
}
const payload = Buffer.alloc(SIZE, 7);

async function viaDgram() {
  const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  s.connect(port);
  await new Promise((r) => s.once('connect', r));
  received = 0;
  const t = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    s.send(payload);
    if (i % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t;
  await drain();
  s.close();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, received };
}
function rawSocket() {
  const fd = socket(2, 2, 0);
  const b = Buffer.alloc(4);
  b.writeInt32LE(4 << 20);
  setsockopt(fd, 1, 7, b, 4);
  const a = sa();
  if (connect(fd, a, 16) !== 0) throw new Error('connect');
  return fd;
}
async function viaSendmmsg() {
  const fd = rawSocket();
  // struct mmsghdr { struct msghdr (56 B); unsigned int msg_len; } = 64 B; iovec 16 B.
  const data = koffi.alloc('uint8_t', SIZE * BATCH);
  const iov = koffi.alloc('uint8_t', 16 * BATCH);
  const mm = koffi.alloc('uint8_t', 64 * BATCH);
  const iv = Buffer.from(koffi.view(iov, 16 * BATCH));
  const mv = Buffer.from(koffi.view(mm, 64 * BATCH));
  mv.fill(0);
  for (let i = 0; i < BATCH; i++) {
    iv.writeBigUInt64LE(data + BigInt(i * SIZE), i * 16);
    iv.writeBigUInt64LE(BigInt(SIZE), i * 16 + 8);
    mv.writeBigUInt64LE(iov + BigInt(i * 16), i * 64 + 16);
    mv.writeBigUInt64LE(1n, i * 64 + 24);
  }
  received = 0;
  const t = performance.now();
  const c0 = process.cpuUsage();
  let sent = 0;
  while (sent < N) {
    const n = sendmmsg(fd, mm, BATCH, 0);
    if (n > 0) sent += n;
    else await new Promise((r) => setImmediate(r));
    if ((sent / BATCH) % 8 === 0) await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t;
  await drain();
  close(fd);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, received };
}
async function viaGso() {
  const fd = rawSocket();
  const data = koffi.alloc('uint8_t', SIZE * BATCH);
  const iov = koffi.alloc('uint8_t', 16);
  const msg = koffi.alloc('uint8_t', 56);
  const cm = koffi.alloc('uint8_t', 24);
  const iv = Buffer.from(koffi.view(iov, 16));
  iv.writeBigUInt64LE(data, 0);
  iv.writeBigUInt64LE(BigInt(SIZE * BATCH), 8);
  const c = Buffer.from(koffi.view(cm, 24));
  c.fill(0);
  c.writeBigUInt64LE(18n, 0);
  c.writeInt32LE(17, 8);
  c.writeInt32LE(103, 12);
  c.writeUInt16LE(SIZE, 16); // cmsghdr: len=CMSG_LEN(2)=18, SOL_UDP=17, UDP_SEGMENT=103
  const m = Buffer.from(koffi.view(msg, 56));
  m.fill(0);
  m.writeBigUInt64LE(iov, 16);
  m.writeBigUInt64LE(1n, 24);
  m.writeBigUInt64LE(cm, 32);
  m.writeBigUInt64LE(24n, 40);
  received = 0;
  const t = performance.now();
  const c0 = process.cpuUsage();
  let sent = 0;
  let calls = 0;
  while (sent < N) {
    const n = sendmsg(fd, msg, 0);
    if (n > 0) sent += BATCH;
    else await new Promise((r) => setImmediate(r));
    if (++calls % 8 === 0) await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t;
  await drain();
  close(fd);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, received };
}
for (const [name, fn] of [
  ['node:dgram send', viaDgram],
  ['sendmmsg x32 (koffi)', viaSendmmsg],
  ['UDP GSO x32 (koffi)', viaGso],
]) {
  const r = await fn();
  console.log(
    `${name.padEnd(22)} ${N} x ${SIZE} B: ${(((N / r.ms) * 1000) / 1000).toFixed(0)} k pkt/s wall, sender CPU ${((r.cpuMs * 1000) / N).toFixed(2)} µs/pkt, receiver got ${r.received}`,
  );
}
sink.close();
