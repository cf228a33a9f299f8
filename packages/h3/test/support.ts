/**
 * Shared set-up of the @quichex/h3 tests: certificates made for the file, a
 * server and agents closed after it.
 */
import { afterAll } from 'vitest';
import { type TlsFixtures, tlsFixtures } from '../../../test/support/tls-fixtures.js';
import {
  Agent,
  type AgentOptions,
  type H3Server,
  type Handler,
  type ServeOptions,
  serve,
} from '../src/index.js';

/** What a test file starts: servers and agents, closed after the file, last first. */
export interface H3TestKit {
  readonly fx: TlsFixtures;
  /** Closers, run after the file (also for what a test made by hand). */
  readonly closing: (() => Promise<unknown>)[];
  /** A server on 127.0.0.1 with the fixtures' leaf certificate; `base` is its https:// origin. */
  start(
    handler: Handler,
    options?: Pick<ServeOptions, 'gracePeriod' | 'config'>,
  ): Promise<{ server: H3Server; base: string }>;
  /** An agent trusting the fixtures' root. */
  agentWith(options?: AgentOptions): Agent;
}

/** The kit for the current test file. */
export function h3TestKit(): H3TestKit {
  const fx = tlsFixtures();
  const closing: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closing.reverse()) await close();
  });
  return {
    fx,
    closing,
    async start(handler, options = {}) {
      const server = await serve({
        host: '127.0.0.1',
        port: 0,
        cert: fx.leaf.cert,
        key: fx.leaf.key,
        handler,
        ...options,
      });
      closing.push(() => server.close({ gracePeriod: 0 }));
      return { server, base: `https://localhost:${server.address().port}` };
    },
    agentWith(options = {}) {
      const agent = new Agent({ ca: fx.rootCa.cert, ...options });
      closing.push(() => agent.close({ timeoutMs: 0 }));
      return agent;
    },
  };
}
