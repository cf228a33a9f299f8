/**
 * A supervised server: each connection gets its own handler object, and a
 * handler that fails (throws, rejects, or its peer misbehaves) takes down
 * only its own connection: quichex closes it with application error
 * `HANDLER_ERROR_CODE`, and every other connection carries on.
 *
 * Run: `node packages/examples/dist/connection-handler.js`.
 */
import { type CloseInfo, type Connection, connect, type Listener, listen } from 'quichex';
import { type ConfigPair, isMain, localConfigs } from './shared.js';

/** What an application implements per connection. */
export interface ConnectionHandler {
  /** Runs for the life of the connection; throwing closes this connection only. */
  handle(conn: Connection): Promise<void>;
}

/** Starts a listener that creates one handler per connection. */
export function serveWith(configs: ConfigPair, makeHandler: () => ConnectionHandler): Promise<Listener> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    config: configs.server,
    onConnection: (conn) => makeHandler().handle(conn),
  });
}

/** Uppercases each request; the request "crash" makes this handler fail. */
export class UppercaseHandler implements ConnectionHandler {
  async handle(conn: Connection): Promise<void> {
    for await (const stream of conn.streams()) {
      const text = (await stream.readAll()).toString();
      if (text === 'crash') throw new Error('handler failure on purpose');
      await stream.end(text.toUpperCase());
    }
  }
}

/** Sends one request on a new connection; returns the reply and how the connection ended. */
export async function ask(
  port: number,
  configs: ConfigPair,
  text: string,
): Promise<{ reply: string | null; closed: CloseInfo }> {
  const conn = await connect({ host: 'localhost', port, config: configs.client });
  const stream = await conn.openStream();
  await stream.end(text);
  let reply: string | null = null;
  try {
    reply = (await stream.readAll()).toString();
  } catch {
    reply = null; // the server closed this connection
  }
  if (reply !== null) await conn.close();
  return { reply, closed: await conn.closed };
}

if (isMain(import.meta.url)) {
  (async () => {
    const configs = await localConfigs('supervised');
    const listener = await serveWith(configs, () => new UppercaseHandler());
    const port = listener.address().port;
    const healthy = await ask(port, configs, 'still here');
    const crashed = await ask(port, configs, 'crash');
    const after = await ask(port, configs, 'and still here');
    console.log(`healthy: ${healthy.reply}`);
    console.log(
      `crashed: closed by server with application code ${crashed.closed.errorCode} (${crashed.closed.reason})`,
    );
    console.log(`after:   ${after.reply}`);
    await listener.close();
    configs.free();
  })();
}
