/**
 * `Alt-Svc` (RFC 7838) values that advertise an HTTP/3 endpoint from an
 * HTTP/1.1 or HTTP/2 server.
 *
 * @module
 */

/**
 * The `Alt-Svc` header value saying "HTTP/3 is available on UDP `port` of
 * this host for `maxAge` seconds" (default 86 400).
 *
 * @example
 * ```ts
 * res.setHeader('alt-svc', altSvc(443)); // 'h3=":443"; ma=86400'
 * ```
 */
export function altSvc(port: number, maxAge = 86_400): string {
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new RangeError(`port must be 1..65535, got ${port}`);
  if (!Number.isInteger(maxAge) || maxAge < 0)
    throw new RangeError(`maxAge must be an integer ≥ 0, got ${maxAge}`);
  return `h3=":${port}"; ma=${maxAge}`;
}
