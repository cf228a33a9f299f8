/**
 * Config: validation that names the option (before any native side effect),
 * chainable setters, congestion control choices that really connect, and
 * free() semantics. Also the argument checks of connect() and listen().
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CcAlgorithm,
  Config,
  type ConfigOptions,
  type ConnectOptions,
  connect,
  type Listener,
  type ListenOptions,
  listen,
  QuicError,
  resourceCounts,
} from '../src/index.js';
import { clientConfig, echoServer, serverConfig, testCerts } from './support/fixtures.js';
import { echo, within } from './support/net.js';

/** Expects `fn` to throw `type` with a message naming `option`. */
function expectBad(fn: () => unknown, type: typeof TypeError | typeof RangeError, option: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected a ${type.name} for ${option}`).toBeInstanceOf(type);
  expect((thrown as Error).message).toContain(option);
}

describe('Config validation', () => {
  const bad: Array<[string, ConfigOptions | unknown, typeof TypeError | typeof RangeError, string]> = [
    ['negative idle timeout', { maxIdleTimeout: -1 }, RangeError, 'maxIdleTimeout'],
    ['fractional idle timeout', { maxIdleTimeout: 1.5 }, TypeError, 'maxIdleTimeout'],
    ['idle timeout as a string', { maxIdleTimeout: '5' }, TypeError, 'maxIdleTimeout'],
    ['alpn as a string', { alpn: 'x' }, TypeError, 'alpn'],
    ['alpn with a number', { alpn: ['x', 1] }, TypeError, 'alpn'],
    ['empty alpn list', { alpn: [] }, RangeError, 'alpn'],
    ['empty alpn name', { alpn: [''] }, RangeError, 'alpn'],
    ['alpn name over 255 bytes', { alpn: ['x'.repeat(256)] }, RangeError, 'alpn'],
    ['unknown cc algorithm', { ccAlgorithm: 'vegas' }, RangeError, 'ccAlgorithm'],
    ['unknown option', { maxIdle: 5 }, TypeError, 'maxIdle'],
    ['short reset token', { statelessResetToken: new Uint8Array(15) }, RangeError, 'statelessResetToken'],
    ['long reset token', { statelessResetToken: new Uint8Array(17) }, RangeError, 'statelessResetToken'],
    ['reset token as a string', { statelessResetToken: 'x'.repeat(16) }, RangeError, 'statelessResetToken'],
    ['recv payload below 1200', { maxRecvUdpPayloadSize: 1199 }, RangeError, 'maxRecvUdpPayloadSize'],
    ['recv payload above 65527', { maxRecvUdpPayloadSize: 65528 }, RangeError, 'maxRecvUdpPayloadSize'],
    ['send payload below 1200', { maxSendUdpPayloadSize: 100 }, RangeError, 'maxSendUdpPayloadSize'],
    ['negative max data', { initialMaxData: -1 }, RangeError, 'initialMaxData'],
    ['max data beyond a varint', { initialMaxData: 1n << 62n }, RangeError, 'initialMaxData'],
    [
      'negative stream window',
      { initialMaxStreamDataBidiLocal: -1 },
      RangeError,
      'initialMaxStreamDataBidiLocal',
    ],
    ['too many streams', { initialMaxStreamsBidi: (1n << 60n) + 1n }, RangeError, 'initialMaxStreamsBidi'],
    ['ack delay exponent 21', { ackDelayExponent: 21 }, RangeError, 'ackDelayExponent'],
    ['max ack delay 2^14', { maxAckDelay: 16384 }, RangeError, 'maxAckDelay'],
    ['migration flag as a string', { disableActiveMigration: 'yes' }, TypeError, 'disableActiveMigration'],
    [
      'zero initial cwnd',
      { initialCongestionWindowPackets: 0 },
      RangeError,
      'initialCongestionWindowPackets',
    ],
    ['hystart as a number', { hystart: 1 }, TypeError, 'hystart'],
    ['negative pacing rate', { maxPacingRate: -1 }, RangeError, 'maxPacingRate'],
    ['dgram as a string', { dgram: 'on' }, TypeError, 'dgram'],
    ['dgram queue of 0', { dgram: { recvQueueLen: 0 } }, RangeError, 'recvQueueLen'],
    ['connection id limit of 1', { activeConnectionIdLimit: 1 }, RangeError, 'activeConnectionIdLimit'],
    ['empty ticket key', { ticketKey: new Uint8Array(0) }, RangeError, 'ticketKey'],
    ['empty curves list', { curvesList: '' }, TypeError, 'curvesList'],
    ['unknown curve', { curvesList: 'NOT-A-CURVE' }, RangeError, 'curvesList'],
    ['verifyPeer as a string', { verifyPeer: 'true' }, TypeError, 'verifyPeer'],
    ['zero PMTU probes', { pmtudMaxProbes: 0 }, RangeError, 'pmtudMaxProbes'],
    ['zero amplification factor', { maxAmplificationFactor: 0 }, RangeError, 'maxAmplificationFactor'],
    ['negative version', { version: -1 }, RangeError, 'version'],
    ['version beyond 32 bits', { version: 2 ** 32 }, RangeError, 'version'],
    ['empty certificate path', { certChainFile: '' }, TypeError, 'certChainFile'],
    ['key that is not PEM', { key: 'not a key' }, TypeError, 'key'],
    ['cert of the wrong type', { cert: 42 }, TypeError, 'cert'],
  ];

  it.each(bad)('%s', (_name, options, type, option) => {
    expectBad(() => new Config(options as ConfigOptions), type, option);
  });

  it('rejects options that are not an object', () => {
    expectBad(() => new Config(null as unknown as ConfigOptions), TypeError, 'options');
    expectBad(() => new Config(5 as unknown as ConfigOptions), TypeError, 'options');
  });

  it('setters validate the same way', () => {
    const c = new Config();
    try {
      expectBad(() => c.setMaxIdleTimeout(-5), RangeError, 'maxIdleTimeout');
      expectBad(() => c.setCcAlgorithm('vegas' as CcAlgorithm), RangeError, 'ccAlgorithm');
      expectBad(() => c.setStatelessResetToken(new Uint8Array(8)), RangeError, 'statelessResetToken');
      expectBad(() => c.setApplicationProtos('x' as unknown as string[]), TypeError, 'alpn');
      expectBad(() => c.enableDgram(true, { sendQueueLen: -1 }), RangeError, 'sendQueueLen');
    } finally {
      c.free();
    }
  });

  it('a failed construction leaves no native config behind', () => {
    const before = resourceCounts().configs;
    for (const [, options] of bad) {
      try {
        new Config(options as ConfigOptions);
      } catch {
        // expected
      }
    }
    expect(resourceCounts().configs).toBe(before);
  });

  it('a missing certificate file is a TypeError naming the option and the file', () => {
    expect(() => new Config({ certChainFile: '/nonexistent/quichex/cert.pem' })).toThrow(
      /^certChainFile: cannot read \/nonexistent\/quichex\/cert\.pem \(ENOENT\)$/,
    );
  });

  it('accepts values at the edges of each range', () => {
    const c = new Config({
      maxIdleTimeout: 0,
      maxRecvUdpPayloadSize: 1200,
      maxSendUdpPayloadSize: 65527,
      initialMaxData: (1n << 62n) - 1n,
      ackDelayExponent: 20,
      maxAckDelay: 16383,
      initialCongestionWindowPackets: 1000,
      activeConnectionIdLimit: 2,
      statelessResetToken: new Uint8Array(16),
      ticketKey: new Uint8Array(48),
      curvesList: 'X25519:P-256',
      pmtudMaxProbes: 255,
      maxAmplificationFactor: 255,
      dgram: { recvQueueLen: 1, sendQueueLen: 1_000_000 },
    });
    expect(c.maxIdleTimeout).toBe(0);
    expect(c.maxSendUdpPayloadSize).toBe(65527);
    expect(c.dgram).toEqual({ enabled: true, recvQueueLen: 1, sendQueueLen: 1_000_000 });
    c.free();
  });
});

describe('connect() and listen() argument checks', () => {
  let config: Config;
  let withCert: Config;
  beforeAll(() => {
    config = clientConfig();
    withCert = serverConfig();
  });
  afterAll(() => {
    config.free();
    withCert.free();
  });

  async function expectConnectBad(
    options: Partial<ConnectOptions> & Record<string, unknown>,
    type: typeof TypeError | typeof RangeError,
    option: string,
  ): Promise<void> {
    const sockets = resourceCounts().sockets;
    const err = await connect({ host: '127.0.0.1', port: 4433, config, ...options } as ConnectOptions).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, `expected a ${type.name} for ${option}`).toBeInstanceOf(type);
    expect((err as Error).message).toContain(option);
    // Thrown before any socket was opened.
    expect(resourceCounts().sockets).toBe(sockets);
  }

  async function expectListenBad(
    options: Partial<ListenOptions> & Record<string, unknown>,
    type: typeof TypeError | typeof RangeError,
    option: string,
  ): Promise<void> {
    const sockets = resourceCounts().sockets;
    const err = await listen({
      host: '127.0.0.1',
      port: 0,
      config: withCert,
      ...options,
    } as ListenOptions).then(
      async (l) => {
        await l.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err, `expected a ${type.name} for ${option}`).toBeInstanceOf(type);
    expect((err as Error).message).toContain(option);
    expect(resourceCounts().sockets).toBe(sockets);
  }

  it('connect: port out of range, before any socket is opened', async () => {
    await expectConnectBad({ port: 70000 }, RangeError, 'port');
    await expectConnectBad({ port: 0 }, RangeError, 'port');
    await expectConnectBad({ port: -1 }, RangeError, 'port');
    await expectConnectBad({ port: 1.5 }, TypeError, 'port');
    await expectConnectBad({ port: '4433' as unknown as number }, TypeError, 'port');
  });

  it('connect: the other options', async () => {
    await expectConnectBad({ host: '' }, TypeError, 'host');
    await expectConnectBad({ config: {} as Config }, TypeError, 'config');
    await expectConnectBad({ handshakeTimeout: 0 }, RangeError, 'handshakeTimeout');
    await expectConnectBad({ serverName: '' }, TypeError, 'serverName');
    await expectConnectBad({ serverName: 'x'.repeat(256) }, RangeError, 'serverName');
    await expectConnectBad({ localAddress: 'not-an-ip' }, TypeError, 'localAddress');
    await expectConnectBad({ localPort: 65536 }, RangeError, 'localPort');
    await expectConnectBad({ signal: 'abort' as unknown as AbortSignal }, TypeError, 'signal');
    const noAlpn = new Config();
    try {
      await expectConnectBad({ config: noAlpn }, TypeError, 'alpn');
    } finally {
      noAlpn.free();
    }
  });

  it('listen: a config without a certificate is a TypeError', async () => {
    const noCert = new Config({ alpn: ['test'] });
    try {
      await expectListenBad({ config: noCert }, TypeError, 'certificate');
    } finally {
      noCert.free();
    }
  });

  it('listen: the other options', async () => {
    await expectListenBad({ port: 70000 }, RangeError, 'port');
    await expectListenBad({ port: -1 }, RangeError, 'port');
    await expectListenBad({ config: 'config' as unknown as Config }, TypeError, 'config');
    await expectListenBad({ maxConnections: -1 }, RangeError, 'maxConnections');
    await expectListenBad({ retry: 'yes' as unknown as boolean }, TypeError, 'retry');
    await expectListenBad({ onConnection: 5 as unknown as () => void }, TypeError, 'onConnection');
    await expectListenBad({ signal: {} as AbortSignal }, TypeError, 'signal');
    const noAlpn = new Config({ certChainFile: testCerts().cert, privKeyFile: testCerts().key });
    try {
      await expectListenBad({ config: noAlpn }, TypeError, 'alpn');
    } finally {
      noAlpn.free();
    }
  });
});

describe('chainable setters', () => {
  it('every setter returns the same Config', () => {
    const c = new Config();
    try {
      const results: Config[] = [
        c.setApplicationProtos(['a', 'b']),
        c.setMaxIdleTimeout(1000),
        c.setMaxRecvUdpPayloadSize(1500),
        c.setMaxSendUdpPayloadSize(1400),
        c.setInitialMaxData(1 << 20),
        c.setInitialMaxStreamDataBidiLocal(1 << 16),
        c.setInitialMaxStreamDataBidiRemote(1 << 16),
        c.setInitialMaxStreamDataUni(1 << 16),
        c.setInitialMaxStreamsBidi(10),
        c.setInitialMaxStreamsUni(10n),
        c.setAckDelayExponent(3),
        c.setMaxAckDelay(25),
        c.setDisableActiveMigration(true),
        c.setCcAlgorithm('reno'),
        c.setInitialCongestionWindowPackets(10),
        c.enableHystart(false),
        c.enablePacing(false),
        c.setMaxPacingRate(1_000_000n),
        c.setEnableCubicIdleRestartFix(true),
        c.setUseInitialMaxDataAsFlowControlWin(false),
        c.enableDgram(true, { recvQueueLen: 10, sendQueueLen: 10 }),
        c.setMaxConnectionWindow(1 << 24),
        c.setMaxStreamWindow(1 << 22),
        c.setActiveConnectionIdLimit(4),
        c.setStatelessResetToken(new Uint8Array(16).fill(7)),
        c.setDisableDcidReuse(false),
        c.setTicketKey(new Uint8Array(48).fill(1)),
        c.setCurvesList('X25519'),
        c.verifyPeer(false),
        c.grease(false),
        c.discoverPmtu(false),
        c.setPmtudMaxProbes(3),
        c.enableEarlyData(),
        c.setMaxAmplificationFactor(3),
        c.loadCertChainFromPemFile(testCerts().cert),
        c.loadPrivKeyFromPemFile(testCerts().key),
        c.loadVerifyLocationsFromFile(testCerts().caCert),
        c.loadCertChainFromPem(readFileSync(testCerts().cert, 'utf8')),
        c.loadPrivKeyFromPem(readFileSync(testCerts().key)),
        c.loadVerifyLocationsFromPem(readFileSync(testCerts().caCert, 'utf8')),
      ];
      for (const r of results) expect(r).toBe(c);
      expect(c.alpn).toEqual(['a', 'b']);
      expect(c.maxIdleTimeout).toBe(1000);
      expect(c.earlyData).toBe(true);
      expect(c.hasCertificate).toBe(true);
    } finally {
      c.free();
    }
  });
});

describe('congestion control', () => {
  let server: Listener;
  beforeAll(async () => {
    server = await echoServer();
  });
  afterAll(() => server.close());

  it.each(['reno', 'cubic', 'bbr2'] as const)('%s makes a working connection', async (algorithm) => {
    const config = clientConfig().setCcAlgorithm(algorithm);
    try {
      const conn = await connect({
        host: '127.0.0.1',
        port: server.address().port,
        config,
        serverName: 'localhost',
      });
      try {
        // Enough data to leave slow start's first window.
        const payload = Buffer.alloc(256 * 1024, algorithm);
        const stream = await conn.openStream();
        const [, echoed] = await within(
          Promise.all([stream.end(payload), stream.readAll()]),
          10_000,
          `a 256 KiB echo with ${algorithm}`,
        );
        expect(echoed.equals(payload)).toBe(true);
        expect(conn.stats().sentBytes).toBeGreaterThan(payload.length);
      } finally {
        await conn.close();
      }
    } finally {
      config.free();
    }
  });

  it('a server config can choose its own algorithm too', async () => {
    const l = await echoServer({ config: serverConfig({ ccAlgorithm: 'bbr2' }) });
    try {
      const conn = await connect({
        host: '127.0.0.1',
        port: l.address().port,
        config: clientConfig({ ccAlgorithm: 'reno' }),
        serverName: 'localhost',
      });
      expect(await echo(conn, 'mixed')).toBe('mixed');
      await conn.close();
    } finally {
      await l.close();
    }
  });
});

describe('free()', () => {
  it('is idempotent, and a freed config cannot be used', async () => {
    const before = resourceCounts().configs;
    const c = clientConfig();
    expect(resourceCounts().configs).toBe(before + 1);
    expect(c.freed).toBe(false);
    c.free();
    c.free();
    expect(c.freed).toBe(true);
    expect(resourceCounts().configs).toBe(before);

    for (const use of [
      () => c.setMaxIdleTimeout(1),
      () => c.setCcAlgorithm('cubic'),
      () => c.verifyPeer(true),
    ]) {
      let thrown: unknown;
      try {
        use();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(QuicError);
      expect(thrown).toMatchObject({ code: 'ERR_QUIC_DESTROYED' });
    }
    const sockets = resourceCounts().sockets;
    await expect(connect({ host: '127.0.0.1', port: 4433, config: c })).rejects.toMatchObject({
      code: 'ERR_QUIC_DESTROYED',
    });
    const s = serverConfig();
    s.free();
    await expect(listen({ host: '127.0.0.1', port: 0, config: s })).rejects.toMatchObject({
      code: 'ERR_QUIC_DESTROYED',
    });
    expect(resourceCounts().sockets).toBe(sockets);
  });

  it('Symbol.dispose frees it (using)', () => {
    const before = resourceCounts().configs;
    let kept: Config | undefined;
    {
      using c = new Config({ alpn: ['test'] });
      kept = c;
      expect(resourceCounts().configs).toBe(before + 1);
    }
    expect(kept.freed).toBe(true);
    expect(resourceCounts().configs).toBe(before);
  });

  it('connections outlive the config they were made with', async () => {
    const l = await echoServer();
    try {
      const config = clientConfig();
      const conn = await connect({
        host: '127.0.0.1',
        port: l.address().port,
        config,
        serverName: 'localhost',
      });
      config.free();
      expect(await echo(conn, 'still here')).toBe('still here');
      await conn.close();
    } finally {
      await l.close();
    }
  });
});
