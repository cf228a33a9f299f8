import { Config } from 'quichex';

/** One Config per role; each can serve any number of connections. */
export async function buildConfigs(cert: string, key: string) {
  // An options object (validated as a whole before anything is set) …
  const server = new Config({
    alpn: ['myproto/1'],
    cert,
    key,
    maxIdleTimeout: 60_000,
    initialMaxStreamsBidi: 1000,
    dgram: { recvQueueLen: 256, sendQueueLen: 256 },
  })
    // … and/or chainable setters, one per quiche_config_* setter.
    .setCcAlgorithm('bbr2')
    .setMaxAckDelay(10);

  const client = new Config({ alpn: ['myproto/1'], ca: cert, dgram: true });

  const summary = {
    alpn: server.alpn,
    idleMs: server.maxIdleTimeout,
    dgram: server.dgram,
    payload: client.maxSendUdpPayloadSize,
  };
  // Optional: free the native configs now instead of leaving it to the garbage collector.
  server.free();
  client.free();
  return summary;
}
