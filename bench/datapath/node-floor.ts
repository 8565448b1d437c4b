// The floor of the platform, for the datapath benchmark's `node-floor` path: the least a Node.js
// sidecar pair can do for the same hop, with nothing of weft in it. The client side is Node's
// HTTP/1.1 server relaying each request as a stream on one HTTP/2 session over mutual TLS; the
// server side is Node's HTTP/2 server relaying each stream to the app through an undici Pool.
// No routing, no identity checks beyond OpenSSL's chain verification, no policy, no counters.
//
//   node node-floor.js client LISTEN_PORT UPSTREAM_PORT CERT KEY BUNDLE
//   node node-floor.js server LISTEN_PORT APP_PORT CERT KEY BUNDLE
// Prints the bound port on one line once listening.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createSecureServer, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { Pool } from 'undici';

const [role, listen, upstream, cert, key, bundle] = process.argv.slice(2) as [string, string, string, string, string, string];
const tls = { cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(bundle) };
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te']);

if (role === 'client') {
  let session: ClientHttp2Session | undefined;
  const h2 = (): ClientHttp2Session => {
    if (session === undefined || session.closed || session.destroyed) {
      session = connect(`https://127.0.0.1:${upstream}`, { ...tls, checkServerIdentity: () => undefined, settings: { initialWindowSize: 256 * 1024 } });
      session.on('error', () => (session = undefined));
    }
    return session;
  };
  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const headers: Record<string, string | string[]> = { ':method': req.method!, ':path': req.url!, ':authority': req.headers.host ?? 'x', ':scheme': 'http' };
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
    const stream = h2().request(headers, { endStream: req.method === 'GET' || req.method === 'HEAD' });
    stream.on('response', (h: IncomingHttpHeaders) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(h)) if (v !== undefined && k[0] !== ':') out[k] = v;
      res.writeHead(Number(h[':status']), out);
      stream.pipe(res);
    });
    stream.on('error', () => res.destroy());
    if (req.method !== 'GET' && req.method !== 'HEAD') req.pipe(stream);
  });
  server.listen(Number(listen), '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
} else {
  const pool = new Pool(`http://127.0.0.1:${upstream}`, { pipelining: 1, keepAliveTimeout: 30_000 });
  const server = createSecureServer({ ...tls, requestCert: true, rejectUnauthorized: true, settings: { initialWindowSize: 256 * 1024 } });
  server.on('stream', (stream, h) => {
    const headers: Record<string, string | string[]> = { host: String(h[':authority']) };
    for (const [k, v] of Object.entries(h)) if (v !== undefined && k[0] !== ':') headers[k] = v;
    pool.request({ method: h[':method'] as 'GET', path: h[':path']!, headers }).then(
      ({ statusCode, headers: rh, body }) => {
        const out: Record<string, string | string[] | number> = { ':status': statusCode };
        for (const [k, v] of Object.entries(rh)) if (v !== undefined && !HOP.has(k)) out[k] = v;
        stream.respond(out);
        body.pipe(stream);
      },
      () => stream.close(),
    );
    stream.on('error', () => undefined);
  });
  server.listen(Number(listen), '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}
