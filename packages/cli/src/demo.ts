/**
 * `quichex demo`: a listener and a client in one process, over real UDP on
 * loopback. It shows a handshake, several concurrent streams, datagrams and
 * a short bulk transfer, then prints what the connection saw.
 *
 * Run: `npm run demo` (or `quichex demo`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Config, type Connection, connect, listen, quicheVersion } from 'quichex';
import { generateLocalCertificate } from './certificates.js';

/** What {@link runDemo} measured. */
export interface DemoSummary {
  readonly quicheVersion: string;
  readonly handshakeMs: number;
  readonly alpn: string;
  readonly streams: number;
  readonly streamBytesVerified: number;
  readonly datagramsSent: number;
  readonly datagramsEchoed: number;
  readonly bulkBytes: number;
  readonly bulkMs: number;
  readonly bulkMBps: number;
  readonly bulkSha256Match: boolean;
  readonly rttMs: number;
  readonly cwnd: number;
  readonly packetsSent: number;
  readonly packetsLost: number;
}

async function serve(conn: Connection): Promise<void> {
  conn.on('datagram', (d) => {
    try {
      conn.sendDatagram(d);
    } catch {
      // datagrams are best effort
    }
  });
  for await (const stream of conn.streams()) {
    void (async () => {
      if (stream.direction === 'uni') {
        // The bulk transfer: digest it and answer on a uni stream of our own.
        const hash = createHash('sha256');
        for await (const chunk of stream) hash.update(chunk);
        const reply = await conn.openUniStream();
        await reply.end(hash.digest('hex'));
        return;
      }
      for await (const chunk of stream) await stream.write(chunk);
      await stream.end();
    })().catch(() => undefined);
  }
}

/** Runs the demo and returns its measurements. */
export async function runDemo(
  options: { streams?: number; bulkBytes?: number; datagrams?: number } = {},
): Promise<DemoSummary> {
  const streams = options.streams ?? 8;
  const bulkBytes = options.bulkBytes ?? 32 * 1024 * 1024;
  const datagrams = options.datagrams ?? 20;
  const { cert, key } = await generateLocalCertificate();
  const serverConfig = new Config({
    alpn: ['quichex-demo'],
    cert,
    key,
    dgram: true,
    initialMaxStreamsBidi: 1000,
  });
  const clientConfig = new Config({ alpn: ['quichex-demo'], ca: cert, dgram: true });
  const listener = await listen({ host: '127.0.0.1', port: 0, config: serverConfig, onConnection: serve });
  try {
    const t0 = performance.now();
    const conn = await connect({ host: 'localhost', port: listener.address().port, config: clientConfig });
    const handshakeMs = performance.now() - t0;

    // Several concurrent echo streams, each checked byte for byte.
    let verified = 0;
    await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        const payload = randomBytes(1024 * (i + 1));
        const s = await conn.openStream();
        const echoed = s.readAll();
        await s.end(payload);
        if (!(await echoed).equals(payload)) throw new Error(`stream ${s.id} echo mismatch`);
        verified += payload.length;
      }),
    );

    // Datagrams: unreliable, so count what comes back within a short window.
    let echoedDatagrams = 0;
    conn.on('datagram', () => {
      echoedDatagrams++;
    });
    for (let i = 0; i < datagrams; i++) conn.sendDatagram(`telemetry ${i}`);
    for (let i = 0; i < 50 && echoedDatagrams < datagrams; i++) await new Promise((r) => setTimeout(r, 10));

    // Bulk: a uni stream that the server digests and answers on a uni stream.
    const bulk = await conn.openUniStream();
    const source = createHash('sha256');
    const chunk = randomBytes(1024 * 1024);
    const b0 = performance.now();
    const answer = conn.acceptStream().then((s) => s?.readAll());
    for (let sent = 0; sent < bulkBytes; sent += chunk.length) {
      source.update(chunk);
      await bulk.write(chunk);
    }
    await bulk.end();
    const digest = (await answer)?.toString();
    const bulkMs = performance.now() - b0;

    const stats = conn.stats();
    const path = conn.pathStats()[0];
    const summary: DemoSummary = {
      quicheVersion: quicheVersion(),
      handshakeMs,
      alpn: conn.info().alpn,
      streams,
      streamBytesVerified: verified,
      datagramsSent: datagrams,
      datagramsEchoed: echoedDatagrams,
      bulkBytes,
      bulkMs,
      bulkMBps: bulkBytes / 1e6 / (bulkMs / 1000),
      bulkSha256Match: digest === source.digest('hex'),
      rttMs: Number(path?.rtt ?? 0) / 1e6,
      cwnd: path?.cwnd ?? 0,
      packetsSent: stats.sent,
      packetsLost: stats.lost,
    };
    await conn.close({ errorCode: 0, reason: 'demo done' });
    return summary;
  } finally {
    await listener.close();
    serverConfig.free();
    clientConfig.free();
  }
}

/** Prints a summary as a person would want to read it. */
export function formatSummary(s: DemoSummary): string {
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return [
    `quichex demo (quiche ${s.quicheVersion}), client and server on 127.0.0.1 over UDP`,
    `  handshake        ${s.handshakeMs.toFixed(1)} ms, ALPN "${s.alpn}"`,
    `  streams          ${s.streams} concurrent echoes, ${s.streamBytesVerified} bytes verified`,
    `  datagrams        ${s.datagramsEchoed}/${s.datagramsSent} echoed (unreliable by design)`,
    `  bulk transfer    ${mb(s.bulkBytes)} in ${s.bulkMs.toFixed(0)} ms = ${s.bulkMBps.toFixed(1)} MB/s, SHA-256 ${s.bulkSha256Match ? 'match' : 'MISMATCH'}`,
    `  path             RTT ${s.rttMs.toFixed(3)} ms, cwnd ${s.cwnd} bytes`,
    `  packets          ${s.packetsSent} sent, ${s.packetsLost} lost`,
  ].join('\n');
}

/** `quichex demo` help. */
export const demoHelp = `Usage: quichex demo [--bytes SIZE] [--streams N]

Runs a QUIC listener and client in this process on 127.0.0.1: handshake,
concurrent echo streams, datagrams and a bulk transfer with a SHA-256 check,
then prints what the connection saw.
`;
