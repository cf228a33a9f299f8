/**
 * A recording UDP relay between one client and one server on 127.0.0.1:
 * the client dials the relay, the relay forwards both ways and keeps a copy
 * of every datagram (the fuzzer's corpus), and can inject datagrams in
 * either direction from its own address — which the client takes for the
 * server's and the server for the client's.
 */
import type dgram from 'node:dgram';
import { type CorpusEntry, kindOf } from './mutate.js';
import { bindUdp, closeUdp, HOST } from './raw.js';

export class Relay {
  readonly socket: dgram.Socket;
  readonly serverPort: number;
  /** Datagrams seen, in order (at most `maxRecord`). */
  readonly recorded: CorpusEntry[] = [];
  /** Datagrams forwarded, per direction. */
  readonly forwarded = { c2s: 0, s2c: 0 };
  maxRecord = 2000;
  #client: number | null = null;

  private constructor(socket: dgram.Socket, serverPort: number) {
    this.socket = socket;
    this.serverPort = serverPort;
    socket.on('message', (msg, rinfo) => {
      const dir = rinfo.port === serverPort ? 's2c' : 'c2s';
      if (dir === 'c2s') this.#client = rinfo.port;
      if (this.recorded.length < this.maxRecord)
        this.recorded.push({ dir, kind: kindOf(msg), bytes: Buffer.from(msg) });
      const to = dir === 'c2s' ? serverPort : this.#client;
      if (to === null) return;
      this.forwarded[dir]++;
      socket.send(msg, to, HOST);
    });
    socket.on('error', () => undefined);
  }

  /** Binds a relay in front of 127.0.0.1:`serverPort`. */
  static async open(serverPort: number): Promise<Relay> {
    return new Relay(await bindUdp(), serverPort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends `packet` from the relay: to the server (`c2s`) or to the last client seen (`s2c`). */
  inject(dir: 'c2s' | 's2c', packet: Uint8Array): void {
    const to = dir === 'c2s' ? this.serverPort : this.#client;
    if (to !== null) this.socket.send(packet, to, HOST);
  }

  close(): void {
    closeUdp(this.socket);
  }
}
