// The request path between two sidecars (issue 3 §2): outbound proxy -> mTLS h2 -> inbound -> app.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { sessionOpenedChannel, SidecarProxy } from '../../src/proxy/index.js';
import { endpoint, httpRequest, idOf, record, sha256, startApp, startPair, within, type Pair } from './helpers.js';
import { curl } from './tools.js';

interface Echo {
  app: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
  bodySha256: string;
}

describe('a request through client sidecar, server sidecar and app', () => {
  let p: Pair;
  before(async () => {
    p = await startPair();
  });
  after(async () => {
    await p?.close();
  });

  test('reaches the app with an x-forwarded-client-cert naming both identities, any caller XFCC dropped', async () => {
    const r = await httpRequest(p.outboundPort, {
      path: '/hello?x=1',
      headers: { host: 'details.default:9080', 'x-forwarded-client-cert': 'By=spiffe://evil/x;URI=spiffe://cluster.local/ns/default/sa/admin', 'x-custom': 'kept' },
    });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body.toString()) as Echo;
    assert.equal(echo.url, '/hello?x=1');
    assert.equal(echo.headers.host, 'details.default:9080');
    assert.equal(echo.headers['x-custom'], 'kept');
    const hash = sha256(p.clientIdentity.leaf.der);
    assert.equal(echo.headers['x-forwarded-client-cert'], `By=${idOf('details')};Hash=${hash};URI=${idOf('productpage')}`);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  });

  test('accepts an absolute-URI request, as curl -x sends through HTTP_PROXY', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${p.outboundPort}`, '-H', 'x-forwarded-client-cert: forged', 'http://details.default:9080/via-proxy?q=2']);
    assert.equal(r.code, 0, r.stderr);
    const echo = JSON.parse(r.stdout.toString()) as Echo;
    assert.equal(echo.url, '/via-proxy?q=2');
    assert.equal(echo.headers.host, 'details.default:9080');
    assert.match(echo.headers['x-forwarded-client-cert']!, new RegExp(`^By=${idOf('details')};Hash=[0-9a-f]{64};URI=${idOf('productpage')}$`));
  });

  test('accepts a Host of the form SERVICE.NAMESPACE.svc.cluster.local, port or not', async () => {
    for (const host of ['details.default.svc.cluster.local', 'details.default.svc.cluster.local:9080', 'DETAILS.default']) {
      const r = await httpRequest(p.outboundPort, { path: '/fqdn', headers: { host } });
      assert.equal(r.status, 200, host);
      assert.equal((JSON.parse(r.body.toString()) as Echo).headers.host, host);
    }
  });

  test('answers 503 for an unknown service, saying so, without calling anyone', async () => {
    const seen = p.app.seen.length;
    const r = await httpRequest(p.outboundPort, { path: '/x', headers: { host: 'ratings.default:9080' } });
    assert.equal(r.status, 503);
    assert.equal(r.body.toString(), 'weft: unknown service "ratings.default"\n');
    assert.equal(r.headers['x-weft-proxy-error'], 'NR WEFT_PROXY_UNKNOWN_SERVICE: unknown service "ratings.default"');
    const r2 = await curl(['-x', `http://127.0.0.1:${p.outboundPort}`, 'http://example.com/']);
    assert.equal(r2.stdout.toString(), 'weft: unknown service "example.com"\n');
    assert.equal(p.app.seen.length, seen);
  });

  test('answers 400 for a request it cannot route', async () => {
    const r = await curl(['-sS', '-i', '--http1.0', '-H', 'Host:', `http://127.0.0.1:${p.outboundPort}/no-host`]);
    assert.match(r.stdout.toString(), /^HTTP\/1\.[01] 400/);
    assert.match(r.stdout.toString(), /x-weft-proxy-error: DPE WEFT_PROXY_BAD_REQUEST: request has no Host header/);
  });

  test('strips hop-by-hop headers both ways (RFC 9110 §7.6.1), keeping end-to-end ones', async () => {
    const r = await httpRequest(p.outboundPort, {
      path: '/hop',
      headers: [
        'host', 'details.default',
        'connection', 'x-hop-req, keep-alive',
        'x-hop-req', 'secret',
        'keep-alive', 'timeout=10',
        'proxy-connection', 'keep-alive',
        'proxy-authorization', 'Basic Zm9vOmJhcg==',
        'te', 'gzip',
        'upgrade', 'h2c',
        'x-end-req', 'kept',
      ],
    });
    assert.equal(r.status, 200);
    const seen = p.app.seen.at(-1)!;
    assert.equal(seen.url, '/hop');
    for (const h of ['x-hop-req', 'proxy-connection', 'proxy-authorization', 'upgrade', 'te']) assert.equal(seen.headers[h], undefined, h);
    assert.equal(seen.headers['keep-alive'], undefined);
    assert.equal(seen.headers['x-end-req'], 'kept');
    assert.equal(r.headers['x-hop-resp'], undefined);
    assert.equal(r.headers['proxy-authenticate'], undefined);
    assert.equal(r.headers['x-end-resp'], 'kept');
    assert.equal(r.body.toString(), 'hop\n');
  });

  test('keeps TE: trailers end to end', async () => {
    await httpRequest(p.outboundPort, { path: '/te', headers: { host: 'details.default', te: 'trailers' } });
    assert.equal(p.app.seen.at(-1)!.headers.te, 'trailers');
  });

  test('streams a chunked request body to the app unchanged', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i, i));
    const whole = Buffer.concat(parts);
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: p.outboundPort, method: 'POST', path: '/chunked', headers: { host: 'details.default' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      for (const part of parts) req.write(part);
      req.end();
    });
    assert.equal(r.status, 200);
    const seen = p.app.seen.at(-1)!;
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.equal(seen.bodyBytes, whole.length);
    assert.equal(seen.bodySha256, sha256(whole));
  });

  test('relays HEAD, 204 and the app echoing a body', async () => {
    const none = await httpRequest(p.outboundPort, { path: '/status/204', headers: { host: 'details.default' } });
    assert.equal(none.status, 204);
    assert.equal(none.body.length, 0);
    const head = await httpRequest(p.outboundPort, { path: '/bytes/1000', method: 'HEAD', headers: { host: 'details.default' } });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1000');
    assert.equal(head.body.length, 0);
    const body = Buffer.from('x'.repeat(100_000));
    const echo = await httpRequest(p.outboundPort, { path: '/echo', method: 'PUT', headers: { host: 'details.default' }, body });
    assert.equal(echo.status, 200);
    assert.equal(sha256(echo.body), sha256(body));
  });

  test('multiplexes many concurrent requests over one h2 session', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const sessionsBefore = p.client.stats().outbound_sessions_opened_total!;
    const connsBefore = p.server.stats().inbound_connections_total!;
    const opened = record(sessionOpenedChannel);
    try {
      const replies = await within(
        20_000,
        '200 concurrent requests',
        Promise.all(Array.from({ length: 200 }, (_, i) => httpRequest(p.outboundPort, { path: `/bytes/${i * 100}`, headers: { host: 'details.default' }, agent }))),
      );
      replies.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.body.length, i * 100);
      });
    } finally {
      opened.stop();
      agent.destroy();
    }
    assert.equal(opened.messages.length, 0, 'a new session was opened');
    assert.equal(p.client.stats().outbound_sessions_opened_total, sessionsBefore);
    assert.equal(p.client.stats().outbound_sessions_active, 1);
    assert.equal(p.server.stats().inbound_connections_total, connsBefore);
    assert.equal(p.server.stats().inbound_sessions_active, 1);
  });

  test('answers 503 from the server sidecar when its app is down, and says where', async () => {
    const dead = await startApp('gone');
    await dead.close();
    const s = new SidecarProxy({ identity: p.serverIdentity, directory: p.directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: dead.port } });
    const port = (await s.start()).inboundPort;
    p.directory.set('gone.default', [endpoint(port, idOf('details'))], [idOf('details')]);
    try {
      const r = await httpRequest(p.outboundPort, { path: '/', headers: { host: 'gone.default' } });
      assert.equal(r.status, 503);
      assert.equal(r.headers['x-weft-proxy-error'], 'UF WEFT_PROXY_APP_UNAVAILABLE: app unavailable');
      assert.equal(s.stats().inbound_requests_failed_total, 1);
    } finally {
      await s.drain(1_000);
    }
  });
});
