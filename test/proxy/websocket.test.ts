// Upgrades end to end (issue 9): a WebSocket client (ws) calls a ws server through the sidecar
// pair, the upgrade carried between the sidecars as RFC 8441 extended CONNECT; a custom upgrade
// token with half-close over raw sockets; a policy DENY on the upgrade path; an app that declines.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { authz, inboundPolicy, ISSUER } from '../security/helpers.js';
import type { InboundPolicy } from '../../src/proxy/index.js';
import { within } from './helpers.js';
import { curl } from './tools.js';
import { closeServer, HOST, listen, parseResponses, RawClient, startHttp1Pair, type Http1Pair } from './http1-rig.js';

interface Upgraded {
  url: string;
  headers: IncomingMessage['headers'];
}

/** The app: WebSocket echo on /echo, `foo/1` (a custom protocol) on /raw, a refusal on /decline. */
const events = new EventEmitter();

function upgradeApp(upgrades: Upgraded[], requests: string[]): { server: ReturnType<typeof createServer>; wss: WebSocketServer } {
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('plain\n');
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = isBinary ? '' : String(data);
      if (text === 'server-close') return void ws.close(4002, 'server says bye');
      ws.send(data, { binary: isBinary });
    });
    void req;
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    socket.on('error', () => undefined);
    if (req.url === '/app-ends') {
      // Ends its half at once, keeps reading the caller's until the caller ends too.
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${req.headers.upgrade}\r\n\r\n`);
      socket.end('APP DONE');
      let late = '';
      socket.on('data', (c: Buffer) => (late += c.toString()));
      socket.on('end', () => events.emit('late', late));
      return;
    }
    if (req.url === '/decline') {
      socket.end('HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nx-app: yes\r\nconnection: close\r\n\r\nno thanks');
      return;
    }
    if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      return;
    }
    // foo/1: each chunk answered upper-cased; after the caller's FIN the app still writes, then ends.
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${req.headers.upgrade}\r\nx-foo-session: 7\r\n\r\n`);
    socket.on('data', (c: Buffer) => socket.write(c.toString('latin1').toUpperCase()));
    socket.on('end', () => socket.end('BYE AFTER YOUR END'));
  });
  return { server, wss };
}

/** A ws client through the outbound listener: the connection is opened to the sidecar, Host names the service. */
function wsThrough(port: number, path: string): WebSocket {
  return new WebSocket(`ws://${HOST}${path}`, { createConnection: () => connect({ host: '127.0.0.1', port }), maxPayload: 8 * 1024 * 1024 });
}

async function opened(ws: WebSocket): Promise<IncomingMessage> {
  const [res] = (await within(15_000, 'websocket open', once(ws, 'upgrade'))) as [IncomingMessage];
  if (ws.readyState !== WebSocket.OPEN) await within(15_000, 'websocket open', once(ws, 'open'));
  return res;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(
    20_000,
    'a message',
    new Promise((resolve) => ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary }))),
  );
}

describe('upgrades through a sidecar pair', () => {
  const upgrades: Upgraded[] = [];
  const requests: string[] = [];
  const { server, wss } = upgradeApp(upgrades, requests);
  let pair: Http1Pair;
  let policy: InboundPolicy | undefined;

  before(async () => {
    pair = await startHttp1Pair(await listen(server), () => policy);
  });
  after(async () => {
    for (const c of wss.clients) c.terminate();
    await pair.close();
    await closeServer(server);
  });

  test('WebSocket: text and binary messages echo, the app sees the handshake headers and the peer identity', async () => {
    const ws = wsThrough(pair.outboundPort, '/echo?room=1');
    const res = await opened(ws);
    assert.equal(res.statusCode, 101);
    assert.ok(typeof res.headers['sec-websocket-accept'] === 'string');
    ws.send('hello');
    assert.deepEqual(await nextMessage(ws), { data: Buffer.from('hello'), isBinary: false });
    const bin = Buffer.from([0, 1, 2, 255, 254]);
    ws.send(bin);
    assert.deepEqual(await nextMessage(ws), { data: bin, isBinary: true });
    const seen = upgrades.at(-1)!;
    assert.equal(seen.url, '/echo?room=1');
    assert.equal(seen.headers.upgrade, 'websocket');
    assert.equal(seen.headers.host, HOST);
    assert.match(String(seen.headers['x-forwarded-client-cert']), /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/productpage/);
    ws.close(1000, 'done');
    const [code, reason] = (await within(15_000, 'close', once(ws, 'close'))) as [number, Buffer];
    assert.equal(code, 1000);
    assert.equal(String(reason), 'done');
  });

  test('WebSocket: a 4 MB message crosses both ways intact', async () => {
    const ws = wsThrough(pair.outboundPort, '/echo');
    await opened(ws);
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
    ws.send(big);
    const back = await nextMessage(ws);
    assert.equal(back.isBinary, true);
    assert.ok(back.data.equals(big), 'the echoed 4 MB message differs');
    ws.close();
    await within(15_000, 'close', once(ws, 'close'));
  });

  test('WebSocket: the app closes, and the close handshake reaches the caller', async () => {
    const ws = wsThrough(pair.outboundPort, '/echo');
    await opened(ws);
    ws.send('server-close');
    const [code, reason] = (await within(15_000, 'close', once(ws, 'close'))) as [number, Buffer];
    assert.equal(code, 4002);
    assert.equal(String(reason), 'server says bye');
  });

  test('a policy DENY on the upgrade path is a 403 before any connection to the app', async () => {
    policy = inboundPolicy({ yaml: authzDeny('/echo-denied') });
    try {
      const before = upgrades.length;
      const ws = wsThrough(pair.outboundPort, '/echo-denied');
      ws.on('error', () => undefined);
      const [, res] = (await within(15_000, 'unexpected-response', once(ws, 'unexpected-response'))) as [unknown, IncomingMessage];
      assert.equal(res.statusCode, 403);
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      await within(15_000, 'body', once(res, 'end'));
      assert.equal(body, 'RBAC: access denied');
      ws.terminate();
      assert.equal(upgrades.length, before, 'the app saw the denied upgrade');
      // The same policy lets another path through: it was decided on the GET the upgrade stands for.
      const ok = wsThrough(pair.outboundPort, '/echo');
      await opened(ok);
      ok.close();
      await within(15_000, 'close', once(ok, 'close'));
    } finally {
      policy = undefined;
    }
  });

  test('RequestAuthentication and an ALLOW on GET decide the upgrade: no token 403, a forged one 401, a valid one switches with its claims', async () => {
    const keys = await generateKeyPair('ES256', { extractable: true });
    const other = (await generateKeyPair('ES256')).privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
    const sign = (key: CryptoKey): Promise<string> => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setSubject('alice').setIssuedAt().setExpirationTime('5m').sign(key);
    policy = inboundPolicy({ yaml: authz('ws-users', '  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }], to: [{ operation: { methods: ["GET"], paths: ["/echo"] } }] }]'), jwks });
    try {
      const before = upgrades.length;
      const status = async (token: string | undefined): Promise<number> => {
        const c = new RawClient(pair.outboundPort);
        c.write(`GET /echo HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n${token === undefined ? '' : `authorization: Bearer ${token}\r\n`}\r\n`);
        const buf = await c.until((b) => b.includes('\r\n\r\n'), 'an answer');
        c.destroy();
        return Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.toString('latin1'))?.[1] ?? 0);
      };
      assert.equal(await status(undefined), 403);
      assert.equal(await status(await sign(other as CryptoKey)), 401);
      assert.equal(upgrades.length, before, 'the app saw a refused upgrade');
      assert.equal(await status(await sign(keys.privateKey as CryptoKey)), 101);
      const seen = upgrades.at(-1)!;
      assert.equal(seen.headers['x-jwt-sub'], 'alice');
      assert.equal(seen.headers.authorization, undefined, 'the verified token is not passed on');
    } finally {
      policy = undefined;
    }
  });

  test('an app that declines the upgrade: its answer reaches the caller as a normal response', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`GET /decline HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n`);
    const buf = await c.end();
    const { responses } = parseResponses(buf, []);
    assert.equal(responses.length, 1, buf.toString('latin1'));
    assert.equal(responses[0]!.status, 426);
    assert.equal(responses[0]!.headers['x-app']?.[0], 'yes');
    assert.equal(responses[0]!.body.toString(), 'no thanks');
  });

  test('a custom upgrade token (foo/1) is carried, with half-close both ways', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`GET /raw HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: foo/1\r\n\r\n`);
    const head = await c.until((b) => b.includes('\r\n\r\n'), 'the 101');
    const text = head.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(text, /\r\nupgrade: foo\/1\r\n/i);
    assert.match(text, /\r\nx-foo-session: 7\r\n/);
    assert.equal(upgrades.at(-1)!.headers.upgrade, 'foo/1');
    const start = c.buf.length;
    c.write('ping');
    await c.until((b) => b.subarray(start).toString() === 'PING', 'the echo');
    // Half-close: our FIN reaches the app, which still answers on the open half, then ends.
    c.socket.end();
    const all = await c.end();
    assert.equal(all.subarray(start).toString(), 'PINGBYE AFTER YOUR END');
    assert.equal(c.ended, true);
  });

  test('an absolute-form upgrade request (the app using the sidecar as its HTTP proxy) is carried too', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`GET http://${HOST}/raw?via=proxy HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: foo/1\r\n\r\n`);
    const head = await c.until((b) => b.includes('\r\n\r\n'), 'the 101');
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
    assert.equal(upgrades.at(-1)!.url, '/raw?via=proxy');
    const start = c.buf.length;
    c.write('abc');
    await c.until((b) => b.subarray(start).toString() === 'ABC', 'the echo');
    c.destroy();
  });

  test('the app ending first: the caller reads the end and its later bytes still reach the app', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`GET /app-ends HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: foo/1\r\n\r\n`);
    const head = await c.until((b) => b.includes('\r\n\r\n') && c.ended, 'the 101 and the app\'s end');
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
    assert.ok(head.toString('latin1').endsWith('\r\n\r\nAPP DONE'));
    const got = within(15_000, 'the late bytes at the app', once(events, 'late'));
    c.socket.end('late words');
    const [late] = (await got) as [string];
    assert.equal(late, 'late words');
    await c.end();
  });

  test('plain requests keep working beside upgrades on the same sidecars', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`GET /plain HTTP/1.1\r\nhost: ${HOST}\r\nconnection: close\r\n\r\n`);
    const { responses } = parseResponses(await c.end(), []);
    assert.equal(responses[0]!.status, 200);
    assert.equal(requests.at(-1), '/plain');
  });

  test('an h2c upgrade offer (curl --http2) is declined: the request is served as HTTP/1.1', async () => {
    const before = upgrades.length;
    const out = await curl(['-v', '--http2', '-H', `host: ${HOST}`, `http://127.0.0.1:${pair.outboundPort}/h2c-offer`]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /> Upgrade: h2c/i);
    assert.match(out.stderr, /< HTTP\/1\.1 200/);
    assert.equal(out.stdout.toString(), 'plain\n');
    assert.equal(requests.at(-1), '/h2c-offer');
    assert.equal(upgrades.length, before, 'the app was asked to switch to h2c');
  });

  test('every upgrade is accounted for once its connections are gone', async () => {
    const stats = (): Promise<[number, number]> => Promise.resolve([Number(pair.client.stats().outbound_upgrades_active), Number(pair.server.stats().inbound_upgrades_active)]);
    // Bounded polling of two gauges (closes finish asynchronously on both sidecars).
    let last: [number, number] = [-1, -1];
    for (let i = 0; i < 300; i++) {
      last = await stats();
      if (last[0] === 0 && last[1] === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(last, [0, 0], 'upgrades still counted active (outbound, inbound)');
    assert.ok(Number(pair.client.stats().outbound_upgrades_total) >= 6);
    assert.ok(Number(pair.server.stats().inbound_upgrades_total) >= 6);
  });
});

/** A DENY AuthorizationPolicy for one path of app: details. */
function authzDeny(path: string): string {
  return `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-path, namespace: default }\nspec:\n  selector: { matchLabels: { app: details } }\n  action: DENY\n  rules: [{ to: [{ operation: { methods: ["GET"], paths: ["${path}"] } }] }]\n`;
}

describe('drain with WebSockets open', () => {
  test('both sidecars drain within their period and the open WebSocket is closed, not left hanging', async () => {
    const { server } = upgradeApp([], []);
    const pair = await startHttp1Pair(await listen(server));
    try {
      const ws = wsThrough(pair.outboundPort, '/echo');
      await opened(ws);
      ws.on('error', () => undefined);
      const closed = within(15_000, 'the websocket to close', once(ws, 'close'));
      await within(15_000, 'drain', pair.close());
      await closed;
      assert.equal(ws.readyState, WebSocket.CLOSED);
    } finally {
      await closeServer(server);
    }
  });
});
