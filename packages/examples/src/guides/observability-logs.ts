import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Config, connect } from 'quichex';

/** One connection with a qlog (for qvis) and a TLS key log (for Wireshark). */
export async function connectWithLogs(port: number, ca: string, dir: string) {
  const conn = await connect({
    host: 'localhost',
    port,
    config: new Config({ alpn: ['echo'], ca }),
    qlogDir: path.join(dir, 'qlog'), // one <traceId>-client.sqlog per connection
    keylogFile: path.join(dir, 'keys.log'), // appended, NSS key log format
  });
  const { traceId } = conn.info();
  const stream = await conn.openStream();
  await stream.end('logged');
  await stream.readAll();
  await conn.close();

  const qlogs = readdirSync(path.join(dir, 'qlog'));
  const labels = readFileSync(path.join(dir, 'keys.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]);
  return { traceId, qlogs, labels };
}
