import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { altSvc } from '@quichex/h3';

/**
 * An HTTP/2 (and HTTP/1.1) server that tells browsers HTTP/3 is available
 * on UDP `h3Port` of the same host: they switch on their next request.
 */
export function advertiseHttp3(cert: string, key: string, h3Port: number): Http2SecureServer {
  return createSecureServer({ cert, key, allowHTTP1: true }, (_req, res) => {
    res.setHeader('alt-svc', altSvc(h3Port));
    res.end('served over TCP; HTTP/3 is on offer\n');
  });
}
