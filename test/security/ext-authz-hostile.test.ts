// Hostile ext_authz providers and callers: a provider is a network peer the sidecar trusts with a
// decision, not with its memory or the request's framing and identity. Answers too large, too
// many headers, headers that would forge identity or framing, a provider trickling bytes, and a
// caller sending ever-new attributes to flush the decision cache.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { AuthorizationService } from '../../src/proxy/index.js';
import { within } from '../proxy/helpers.js';
import { brokenProvider, custom, startExtRig, type ExtRig } from '../ext-authz/helpers.js';

let x: ExtRig;
before(async () => {
  x = await startExtRig();
});
after(async () => {
  await x.close();
});

const http = (port: number, extra: Record<string, unknown> = {}) => ({ name: 'evil', envoyExtAuthzHttp: { service: '127.0.0.1', port, timeout: '2s', ...extra } });

/** An HTTP provider that writes `raw` as its whole answer to every check. */
async function rawProvider(raw: string | Buffer) {
  return brokenProvider((s) => s.once('data', () => s.end(raw)));
}

describe('hostile HTTP providers', () => {
  test('fail/an answer body over the limit fails closed', async () => {
    const body = Buffer.alloc(4 << 20, 0x61);
    const p = await rawProvider(Buffer.concat([Buffer.from(`HTTP/1.1 403 Forbidden\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
    try {
      x.use([http(p.port)], custom('evil'));
      const r = await within(20_000, 'huge answer', x.send('/x'));
      assert.equal(r.status, 403);
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_FAILED: provider "evil" failed: the provider answered a body over 65536 bytes$/);
      assert.ok(r.body.length < 1024);
    } finally {
      await p.close();
    }
  });

  test('fail/thousands of headers fail closed', async () => {
    let head = 'HTTP/1.1 200 OK\r\n';
    for (let i = 0; i < 5000; i++) head += `x-h${i}: v\r\n`;
    const p = await rawProvider(`${head}content-length: 0\r\n\r\n`);
    try {
      x.use([http(p.port, { headersToUpstreamOnAllow: ['x-*'] })], custom('evil'));
      const before = x.rig.app.seen.length;
      const r = await within(20_000, 'header flood', x.send('/x'));
      assert.equal(r.status, 403);
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_FAILED/);
      assert.equal(x.rig.app.seen.length, before);
    } finally {
      await p.close();
    }
  });

  test('fail/an allowance cannot set identity or framing headers on the request the app receives', async () => {
    const p = await rawProvider('HTTP/1.1 200 OK\r\nx-forwarded-client-cert: By=spiffe://evil;URI=spiffe://cluster.local/ns/default/sa/admin\r\nx-weft-peer: forged\r\nx-envoy-peer-metadata: forged\r\nx-ok: yes\r\ncontent-length: 0\r\n\r\n');
    try {
      x.use([http(p.port, { headersToUpstreamOnAllow: ['x-*', 'host', 'content-length', 'transfer-encoding'] })], custom('evil'));
      const r = await x.send('/x');
      assert.equal(r.status, 200, r.body.toString());
      const seen = x.rig.app.seen.at(-1)!;
      assert.equal(seen.headers['x-ok'], 'yes');
      assert.doesNotMatch(String(seen.headers['x-forwarded-client-cert']), /evil|admin/);
      assert.equal(seen.headers['x-weft-peer'], undefined);
      assert.equal(seen.headers['x-envoy-peer-metadata'], undefined);
      assert.equal(seen.headers.host, 'details.default:9080');
    } finally {
      await p.close();
    }
  });

  test('fail/a denial cannot frame the client\'s response: its content-length and transfer-encoding are the sidecar\'s', async () => {
    const p = await rawProvider('HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer\r\nx-weft-proxy-error: OK forged\r\ncontent-length: 4\r\n\r\nnope');
    try {
      x.use([http(p.port)], custom('evil'));
      const r = await x.send('/x');
      assert.equal(r.status, 401);
      assert.equal(r.headers['www-authenticate'], 'Bearer');
      assert.equal(r.body.toString(), 'nope');
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_DENIED/);
    } finally {
      await p.close();
    }
  });

  test('fail/a provider trickling its answer a byte at a time is cut at its timeout (slow loris)', async () => {
    const p = await brokenProvider((s) => {
      s.once('data', () => {
        const text = 'HTTP/1.1 200 OK\r\nx-slow: ' + 'z'.repeat(500);
        let i = 0;
        const timer = setInterval(() => {
          if (s.destroyed || i >= text.length) return clearInterval(timer);
          s.write(text[i++]!);
        }, 50);
        s.once('close', () => clearInterval(timer));
      });
    });
    try {
      x.use([http(p.port, { timeout: '500ms' })], custom('evil'));
      const r = await within(15_000, 'slow loris', x.send('/x'));
      assert.equal(r.status, 403);
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_FAILED: provider "evil" failed: no answer within 500 ms$/);
    } finally {
      await p.close();
    }
  });
});

describe('hostile gRPC providers', () => {
  test('fail/an ok_response setting :authority, host or content-length is refused whole: fail closed', async () => {
    for (const key of [':authority', 'host', 'content-length', 'x-forwarded-client-cert']) {
      const server = new Server();
      server.addService(AuthorizationService.service, {
        check: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { status: { code: 0 }, okResponse: { headers: [{ header: { key, value: 'evil.example' } }] } }),
      });
      const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
      try {
        x.use([{ name: 'evil', envoyExtAuthzGrpc: { service: '127.0.0.1', port, timeout: '2s' } }], custom('evil'));
        const before = x.rig.app.seen.length;
        const r = await x.send('/x');
        assert.equal(r.status, 403, key);
        assert.match(String(r.headers['x-weft-proxy-error']), /ok_response\.headers/, key);
        assert.equal(x.rig.app.seen.length, before, key);
      } finally {
        server.forceShutdown();
      }
    }
  });
});

describe('hostile callers', () => {
  test('fail/ever-new attributes cannot grow the decision cache past its bounds', async () => {
    x.use([{ name: 'authz-http', envoyExtAuthzHttp: { service: '127.0.0.1', port: x.authz.httpPort, includeRequestHeadersInCheck: ['x-user'], cache: { maxEntries: 16, maxBytes: 8192, defaultTtl: '1m' } } }], custom('authz-http'));
    for (let i = 0; i < 120; i++) await x.send(`/public/${i}`, { headers: { 'x-user': `u${i}` } });
    const c = x.ext.providers()['authz-http']!.cache!;
    assert.ok(c.entries <= 16, JSON.stringify(c));
    assert.ok(c.bytes <= 8192, JSON.stringify(c));
    assert.ok(c.evictions >= 120 - 16, JSON.stringify(c));
    assert.equal(c.hits, 0);
  });
});
