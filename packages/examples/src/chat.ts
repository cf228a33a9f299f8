/**
 * Chat: many clients, one room. Each client sends lines on a bidi stream of
 * its own; the server broadcasts every line to every other client on a
 * unidirectional stream it opened to that client when it joined.
 *
 * Run: `node packages/examples/dist/chat.js` — three scripted clients talk.
 */
import { type Connection, connect, type Listener, listen, type Stream } from 'quichex';
import { type ConfigPair, isMain, localConfigs } from './shared.js';

/** Splits a byte stream into lines. */
async function* lines(stream: Stream): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of stream) {
    pending += Buffer.from(chunk).toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
  }
}

/** The chat room server. */
export class ChatServer {
  readonly #members = new Map<Connection, { name: string; out: Stream }>();
  #listener: Listener | undefined;

  /** Starts listening on 127.0.0.1; returns the port. */
  async start(configs: ConfigPair): Promise<number> {
    this.#listener = await listen({
      host: '127.0.0.1',
      port: 0,
      config: configs.server,
      onConnection: (c) => this.#join(c),
    });
    return this.#listener.address().port;
  }

  async #join(conn: Connection): Promise<void> {
    const out = await conn.openUniStream();
    const inbound = await conn.acceptStream();
    if (!inbound) return;
    let name = 'anonymous';
    void conn.closed.then(() => {
      this.#members.delete(conn);
      this.#broadcast(conn, `* ${name} left`);
    });
    for await (const line of lines(inbound)) {
      if (line.startsWith('/nick ')) {
        name = line.slice(6).trim() || name;
        this.#members.set(conn, { name, out });
        this.#broadcast(conn, `* ${name} joined`);
      } else {
        this.#broadcast(conn, `${name}: ${line}`);
      }
    }
  }

  #broadcast(from: Connection, text: string): void {
    for (const [conn, member] of this.#members) {
      // One slow or failed member must not stall or break the others.
      if (conn !== from) member.out.write(`${text}\n`).catch(() => undefined);
    }
  }

  /** Closes the room. */
  async stop(): Promise<void> {
    await this.#listener?.close();
  }
}

/** A chat client: `say()` lines, read `received`. */
export class ChatClient {
  readonly received: string[] = [];
  #conn!: Connection;
  #out!: Stream;

  /** Joins the room at `port` as `name`. */
  async join(port: number, configs: ConfigPair, name: string): Promise<void> {
    this.#conn = await connect({ host: 'localhost', port, config: configs.client });
    this.#out = await this.#conn.openStream();
    await this.#out.write(`/nick ${name}\n`);
    void (async () => {
      const inbound = await this.#conn.acceptStream();
      if (!inbound) return;
      for await (const line of lines(inbound)) this.received.push(line);
    })().catch(() => undefined);
  }

  /** Sends one line. */
  say(text: string): Promise<void> {
    return this.#out.write(`${text}\n`);
  }

  /** Leaves the room. */
  async leave(): Promise<void> {
    await this.#conn.close();
  }
}

/** Waits until `check()` is true, polling every 10 ms for at most `ms`. */
export async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited >= ms) throw new Error('timed out waiting for chat messages');
    await new Promise((r) => setTimeout(r, 10));
  }
}

if (isMain(import.meta.url)) {
  (async () => {
    const configs = await localConfigs('chat');
    const server = new ChatServer();
    const port = await server.start(configs);
    const [ada, bob, cy] = [new ChatClient(), new ChatClient(), new ChatClient()];
    await ada.join(port, configs, 'ada');
    await bob.join(port, configs, 'bob');
    await cy.join(port, configs, 'cy');
    await waitFor(() => ada.received.length >= 2);
    await ada.say('hello everyone');
    await bob.say('hi ada');
    await waitFor(() => cy.received.some((l) => l === 'bob: hi ada'));
    console.log(`cy saw:\n  ${cy.received.join('\n  ')}`);
    for (const c of [ada, bob, cy]) await c.leave();
    await server.stop();
    configs.free();
  })();
}
