/**
 * Turning failures into one line a person can act on: what went wrong, and
 * how to fix it. Exit codes: 1 runtime failure, 2 bad usage.
 */
import { QuicError } from 'quichex';

/** A failure the user caused and can fix (bad argument, missing file). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The one-line explanation of `err`. */
export function explain(err: unknown): string {
  if (err instanceof UsageError) return err.message;
  if (err instanceof QuicError) {
    switch (err.code) {
      case 'QUICHE_ERR_TLS_FAIL':
        return `TLS handshake failed (${err.message}). Check --ca (the server's CA or self-signed certificate), the host name, or use --insecure for a test server.`;
      case 'ERR_QUIC_ALPN_MISMATCH':
        return 'the server does not speak the requested application protocol: pass the same --alpn on both sides.';
      case 'ERR_QUIC_UNREACHABLE':
        return `${err.message}: is the server running, and is the address and port right?`;
      case 'ERR_QUIC_HANDSHAKE_TIMEOUT':
        return `${err.message}: the server did not answer; check the address, port and any firewall.`;
      case 'ERR_QUIC_CONNECTION_REFUSED':
        return 'the server refused the connection (it is at its connection limit); try again later.';
      case 'ERR_QUIC_SOCKET':
        return `${err.message}. If the port is in use, pick another with --port (0 picks a free one).`;
      default:
        return err.message;
    }
  }
  if (err instanceof RangeError || err instanceof TypeError) return `invalid argument: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return `no such file: ${e.path ?? e.message}`;
  if (e?.code === 'EACCES') return `permission denied: ${e.path ?? e.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Exit code for `err`. */
export function exitCode(err: unknown): number {
  return err instanceof UsageError || err instanceof TypeError || err instanceof RangeError ? 2 : 1;
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:4433`). */
export function parseHostPort(
  text: string | undefined,
  what = 'HOST:PORT',
): { host: string; port: number; rest: string } {
  if (!text) throw new UsageError(`missing ${what}`);
  const m = /^(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})(\/.*)?$/.exec(text);
  if (!m)
    throw new UsageError(
      `bad address ${JSON.stringify(text)}: expected ${what}, e.g. localhost:4433 or [::1]:4433`,
    );
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError(`bad port ${m[3]}: must be 1..65535`);
  return { host: (m[1] ?? m[2]) as string, port, rest: m[4] ?? '' };
}
