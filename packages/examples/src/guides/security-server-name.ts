import { Config, connect } from 'quichex';

/** Connect by address but verify the certificate against a name. */
export async function connectByAddress(address: string, port: number, ca: string, serverName: string) {
  const conn = await connect({
    host: address, // an IP literal: no SNI, and the certificate must name this address
    port,
    serverName, // sent as SNI and matched against the certificate instead
    config: new Config({ alpn: ['echo'], ca }),
  });
  const name = conn.info().serverName;
  await conn.close();
  return name;
}
