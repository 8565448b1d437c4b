// Hostile shapes around upgrades and trailers (issue 9), each through real sidecars on 127.0.0.1:
// a peer that never offered extended CONNECT, a peer sending malformed upgrade streams, an app
// answering 101 to what asked for no upgrade (or for another protocol, or with a head that never
// ends), trailer sections over the bounds or carrying fields a trailer may not, and upgrade
// requests with a body or a method other than GET. Every case ends in a clear answer or a cut,
// and the sidecars keep serving.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect as h2connect, createSecureServer, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { endpoint, idOf, within } from '../proxy/helpers.js';
import { closeServer, HOST, listen, parseResponses, RawClient, startHttp1Pair, type Http1Pair } from '../proxy/http1-rig.js';
import { PROXY_ERROR_HEADER } from '../../src/proxy/index.js';

/**
 * A misbehaving app on raw sockets: reads one request head and answers by path.
 *   /plain-101      101 to a request that asked for no upgrade
 *   /wrong-token    101 naming another protocol than the one asked
 *   /endless-head   a 101 head that never ends (1 MB of fields)
 *   /stall-head     half a 101 head, then nothing
 *   anything else   200 "ok"
 */
function rawApp(seen: string[], sockets: Set<Socket>): NetServer {
  return createNetServer({ allowHalfOpen: false }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const path = /^[A-Z]+ (\S+) /.exec(head)?.[1] ?? '';
      seen.push(path);
      head = head.slice(end + 4);
      if (path === '/plain-101') socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nraw bytes');
      else if (path === '/wrong-token') socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: something-else\r\n\r\n');
      else if (path === '/endless-head') {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n');
        const line = `x-pad: ${'a'.repeat(1000)}\r\n`;
        for (let i = 0; i < 1000 && !socket.destroyed; i++) socket.write(line);
      } else if (path === '/stall-head') socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upg');
      else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
  });
}

function proxyError(res: { headers: Record<string, string[]> }): string {
  return res.headers[PROXY_ERROR_HEADER]?.[0] ?? '';
}

/** One raw HTTP/1.1 exchange through the outbound listener; resolves with the first response. */
async function rawExchange(port: number, text: string): Promise<ReturnType<typeof parseResponses>['responses'][number]> {
  const c = new RawClient(port);
  c.write(text);
  const buf = await c.until((b) => parseResponses(b, []).responses.length > 0, 'an answer');
  c.destroy();
  const { responses } = parseResponses(buf, []);
  assert.equal(responses.length, 1, `no complete answer in ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`);
  return responses[0]!;
}

const UPGRADE = (path: string, token = 'websocket', extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: ${token}\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n${extra}\r\n`;

describe('upgrades from and to hostile parties', () => {
  const seen: string[] = [];
  const appSockets = new Set<Socket>();
  const app = rawApp(seen, appSockets);
  let pair: Http1Pair;

  before(async () => {
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    pair = await startHttp1Pair((app.address() as { port: number }).port);
  });
  after(async () => {
    for (const s of appSockets) s.destroy();
    await pair.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  });

  test('an app answering 101 to a request that asked for no upgrade: 502 to the caller, nothing switched', async () => {
    const r = await rawExchange(pair.outboundPort, `GET /plain-101 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
    assert.equal(r.status, 502);
    assert.doesNotMatch(r.body.toString(), /raw bytes/);
    const ok = await rawExchange(pair.outboundPort, `GET /fine HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
    assert.equal(ok.status, 200);
  });

  test('an app switching to another protocol than the one asked: 502 UPE, never a 101', async () => {
    const r = await rawExchange(pair.outboundPort, UPGRADE('/wrong-token'));
    assert.equal(r.status, 502);
    assert.match(proxyError(r), /^UPE WEFT_PROXY_UPGRADE_FAILED: /);
  });

  test('an app whose 101 head never ends is cut at the header limit: 502, never a 101', async () => {
    const r = await rawExchange(pair.outboundPort, UPGRADE('/endless-head'));
    assert.equal(r.status, 502);
    assert.match(proxyError(r), /^UPE WEFT_PROXY_UPGRADE_FAILED: /);
  });

  test('an app that stalls in its 101 head loses its connection when the caller gives up', async () => {
    const before = seen.filter((p) => p === '/stall-head').length;
    const c = new RawClient(pair.outboundPort);
    c.write(UPGRADE('/stall-head'));
    await within(15_000, 'the app to see the request', (async () => {
      while (seen.filter((p) => p === '/stall-head').length === before) await new Promise((r) => setImmediate(r));
    })());
    const stalled = [...appSockets].at(-1)!;
    const closed = once(stalled, 'close');
    c.destroy();
    await within(15_000, 'the app connection to close', closed);
  });

  test('an upgrade with a body, on another method, or offering several protocols is refused (400) before the mesh', async () => {
    const count = seen.length;
    const withBody = await rawExchange(pair.outboundPort, UPGRADE('/body', 'websocket', 'content-length: 5\r\n') + 'hello');
    assert.equal(withBody.status, 400);
    assert.match(proxyError(withBody), /an upgrade request carries no body/);
    const chunked = await rawExchange(pair.outboundPort, UPGRADE('/body', 'websocket', 'transfer-encoding: chunked\r\n') + '5\r\nhello\r\n0\r\n\r\n');
    assert.equal(chunked.status, 400);
    const post = await rawExchange(pair.outboundPort, UPGRADE('/x', 'websocket').replace(/^GET/, 'POST'));
    assert.equal(post.status, 400);
    assert.match(proxyError(post), /carried on GET only/);
    const several = await rawExchange(pair.outboundPort, UPGRADE('/x', 'websocket, foo/2'));
    assert.equal(several.status, 400);
    assert.equal(seen.length, count, 'the app saw a refused upgrade');
  });
});

describe('a peer that never offered extended CONNECT', () => {
  let pair: Http1Pair;
  let fake: ReturnType<typeof createSecureServer>;
  let streams = 0;

  before(async () => {
    const plain = createServer((_req, res) => res.end('unused'));
    pair = await startHttp1Pair(await listen(plain));
    await closeServer(plain);
    // A sidecar of an older build: a valid SVID, h2, and no SETTINGS_ENABLE_CONNECT_PROTOCOL.
    const id = await pair.mesh.identity('details');
    fake = createSecureServer({ key: id.keyPem, cert: id.certChainPem, ca: id.bundlePem, requestCert: true, ALPNProtocols: ['h2'] });
    fake.on('stream', (stream) => {
      streams++;
      stream.respond({ ':status': 200 });
      stream.end();
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    pair.directory.set(HOST, [endpoint((fake.address() as { port: number }).port, idOf('details'))], [idOf('details')]);
  });
  after(async () => {
    await pair.close();
    await new Promise<void>((resolve) => fake.close(() => resolve()));
  });

  test('the upgrade is answered 502 UPE and no stream is opened on that peer', async () => {
    const r = await rawExchange(pair.outboundPort, UPGRADE('/ws'));
    assert.equal(r.status, 502);
    assert.match(proxyError(r), /^UPE WEFT_PROXY_UPGRADE_FAILED: the peer sidecar does not accept upgrades/);
    assert.equal(streams, 0);
    // Plain requests to the same peer still go.
    const ok = await rawExchange(pair.outboundPort, `GET /plain HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
    assert.equal(ok.status, 200);
    assert.equal(streams, 1);
  });
});

describe('malformed upgrade streams and trailers from a peer speaking HTTP/2 itself', () => {
  const appSaw: { url: string; headers: IncomingMessage['headers']; trailers: NodeJS.Dict<string> }[] = [];
  const app = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      appSaw.push({ url: req.url ?? '', headers: req.headers, trailers: req.trailers });
      res.end('ok');
    });
  });
  app.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    appSaw.push({ url: req.url ?? '', headers: req.headers, trailers: {} });
    socket.destroy();
  });
  let pair: Http1Pair;
  let session: ClientHttp2Session;

  before(async () => {
    pair = await startHttp1Pair(await listen(app));
    const peer = await pair.mesh.identity('productpage');
    session = h2connect(`https://127.0.0.1:${pair.serverPort}`, { key: peer.keyPem, cert: peer.certChainPem, ca: peer.bundlePem, checkServerIdentity: () => undefined });
    await within(15_000, 'peer settings', once(session, 'remoteSettings'));
  });
  after(async () => {
    session.destroy();
    await pair.close();
    await closeServer(app);
  });

  function exchange(headers: Record<string, string>, opts: { endStream: boolean; body?: string; trailers?: Record<string, string> }): Promise<{ status: number; rstCode: number; body: string }> {
    return within(
      15_000,
      'a peer stream',
      new Promise((resolve) => {
        const s = session.request(headers, { endStream: opts.endStream, waitForTrailers: opts.trailers !== undefined });
        let status = 0;
        let body = '';
        s.on('response', (h: IncomingHttpHeaders) => (status = Number(h[':status'])));
        s.on('error', () => undefined);
        s.setEncoding('utf8').on('data', (d: string) => (body += d));
        if (opts.trailers !== undefined) s.once('wantTrailers', () => s.sendTrailers(opts.trailers!));
        s.once('close', () => resolve({ status, rstCode: s.rstCode ?? 0, body }));
        if (!opts.endStream) s.end(opts.body);
      }),
    );
  }

  test('the serving sidecar offers extended CONNECT', () => {
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
  });

  test('an upgrade stream whose :protocol is not one token, or that ends at once, is a 400; the app sees nothing', async () => {
    const count = appSaw.length;
    const bad = await exchange({ ':method': 'CONNECT', ':protocol': 'web socket', ':path': '/x', ':scheme': 'http', ':authority': HOST }, { endStream: false });
    assert.equal(bad.status, 400);
    const ended = await exchange({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/x', ':scheme': 'http', ':authority': HOST }, { endStream: true });
    assert.equal(ended.status, 400);
    assert.equal(appSaw.length, count);
  });

  // Connection-specific fields (transfer-encoding...) and pseudo-headers never get this far: Node's
  // HTTP/2 refuses to send them and nghttp2 to receive them in a trailer section (RFC 9113 §8.1).
  test('trailers with routing, identity or authentication fields: only the harmless ones reach the app', async () => {
    const r = await exchange(
      { ':method': 'POST', ':path': '/t', ':scheme': 'http', ':authority': HOST, te: 'trailers' },
      { endStream: false, body: 'abc', trailers: { 'x-ok': '1', host: 'evil', 'x-forwarded-client-cert': 'By=spiffe://evil', authorization: 'Bearer x', cookie: 'a=b', 'x-weft-proxy-error': 'forged' } },
    );
    assert.equal(r.status, 200);
    assert.deepEqual(appSaw.at(-1)!.trailers, { 'x-ok': '1' });
    assert.ok(Number(pair.server.stats().trailer_fields_dropped_total) >= 5);
  });

  test('a Trailer announcement on a body with a length: the body arrives, the trailers cannot follow in HTTP/1.1 and are dropped', async () => {
    const before = Number(pair.server.stats().trailer_fields_dropped_total);
    const r = await exchange({ ':method': 'POST', ':path': '/len', ':scheme': 'http', ':authority': HOST, 'content-length': '3', trailer: 'x-late' }, { endStream: false, body: 'abc', trailers: { 'x-late': '1' } });
    assert.equal(r.status, 200);
    const seen = appSaw.at(-1)!;
    assert.equal(seen.url, '/len');
    assert.equal(seen.headers.trailer, undefined);
    assert.deepEqual(seen.trailers, {});
    assert.equal(Number(pair.server.stats().trailer_fields_dropped_total), before + 1);
  });

  test('content-length in an HTTP/2 trailer section resets the stream; the app never gets the request whole', async () => {
    const count = appSaw.length;
    const r = await exchange({ ':method': 'POST', ':path': '/cl', ':scheme': 'http', ':authority': HOST, te: 'trailers' }, { endStream: false, body: 'abc', trailers: { 'content-length': '99' } });
    assert.equal(r.status, 0);
    assert.equal(r.rstCode, 1 /* PROTOCOL_ERROR */);
    assert.equal(appSaw.length, count);
  });

  test('a trailer section over the bounds is refused, not trimmed: the app never gets the request whole', async () => {
    const count = appSaw.length;
    const many: Record<string, string> = {};
    for (let i = 0; i < 100; i++) many[`x-t${i}`] = 'v';
    const r = await exchange({ ':method': 'POST', ':path': '/many', ':scheme': 'http', ':authority': HOST, te: 'trailers' }, { endStream: false, body: 'abc', trailers: many });
    assert.equal(r.status, 400);
    assert.match(r.body, /request trailers refused: the trailer section has more than 64 fields/);
    assert.equal(appSaw.length, count);
    assert.ok(Number(pair.server.stats().trailer_sections_refused_total) >= 1);
  });
});

describe('trailer abuse from the calling app', () => {
  const app = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/many-trailers') {
        res.writeHead(200, { trailer: 'x-t0' });
        res.write('body');
        const t: [string, string][] = [];
        for (let i = 0; i < 100; i++) t.push([`x-t${i}`, 'v']);
        res.addTrailers(t);
        res.end();
        return;
      }
      res.end('ok');
    });
  });
  let pair: Http1Pair;

  before(async () => {
    pair = await startHttp1Pair(await listen(app));
  });
  after(async () => {
    await pair.close();
    await closeServer(app);
  });

  test('framing fields in a request trailer are a 400 at the outbound listener', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`POST /t HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ncontent-length: 10\r\n\r\n`);
    const buf = await c.until((b) => parseResponses(b, []).responses.length > 0, 'an answer');
    c.destroy();
    assert.equal(parseResponses(buf, []).responses[0]?.status, 400);
  });

  test('an app response with an oversized trailer section is cut, not passed on trimmed', async () => {
    const outcome = await within(15_000, 'the cut response', new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: pair.outboundPort, path: '/many-trailers', headers: { host: HOST }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(`complete with ${Object.keys(res.trailers).length} trailers`));
        res.on('error', () => resolve('cut'));
        res.on('aborted', () => resolve('cut'));
      });
      req.on('error', () => resolve('cut'));
      req.end();
    }));
    assert.equal(outcome, 'cut');
    assert.ok(Number(pair.server.stats().trailer_sections_refused_total) >= 1);
  });
});
