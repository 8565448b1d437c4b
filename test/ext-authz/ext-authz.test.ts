// CUSTOM AuthorizationPolicies end to end: a sidecar pair on 127.0.0.1, the serving sidecar
// asking the example authorization server (HTTP and gRPC ext_authz) about the requests its CUSTOM
// rules select. Unhappy paths first-class: denials with the provider's answer, a provider down,
// slow or answering garbage, bodies over the limit, and the decision cache.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authz, brokenProvider, custom, deadPort, startExtRig, type ExtRig } from './helpers.js';

const DENY_PUBLIC = authz('deny-public', '  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/public/*"] } }] }]');

const HTTP = (port: number, extra: Record<string, unknown> = {}): { name: string; envoyExtAuthzHttp: { service: string; port: number } & Record<string, unknown> } => ({
  name: 'authz-http',
  envoyExtAuthzHttp: { service: '127.0.0.1', port, pathPrefix: '/check', headersToUpstreamOnAllow: ['x-authz-*'], headersToDownstreamOnAllow: ['x-authz-note'], includeRequestHeadersInCheck: ['x-user', 'x-ttl'], ...extra },
});
const GRPC = (port: number, extra: Record<string, unknown> = {}): { name: string; envoyExtAuthzGrpc: { service: string; port: number } & Record<string, unknown> } => ({
  name: 'authz-grpc',
  envoyExtAuthzGrpc: { service: 'localhost', port, ...extra },
});

let x: ExtRig;
before(async () => {
  x = await startExtRig();
});
after(async () => {
  await x.close();
});

for (const kind of ['http', 'grpc'] as const) {
  describe(`${kind} provider`, () => {
    const provider = (extra: Record<string, unknown> = {}) => (kind === 'http' ? HTTP(x.authz.httpPort, extra) : GRPC(x.authz.grpcPort, extra));
    const name = kind === 'http' ? 'authz-http' : 'authz-grpc';
    const seen = () => (kind === 'http' ? x.authz.seen.http : x.authz.seen.grpc);

    test('ok/the provider allows: the app gets the request with the provider\'s headers', async () => {
      x.use([provider()], custom(name));
      const before = x.rig.app.seen.length;
      const r = await x.send('/hello', { headers: { 'x-user': 'alice' } });
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(x.rig.app.seen.length, before + 1);
      assert.equal(x.rig.app.seen.at(-1)!.headers['x-authz-user'], 'alice');
      const check = seen().at(-1)!;
      assert.equal(check.method, 'GET');
      assert.equal(check.path, kind === 'http' ? '/check/hello' : '/hello');
      if (kind === 'grpc') assert.equal(check.principal, 'spiffe://cluster.local/ns/default/sa/productpage');
    });

    test('fail/the provider denies: its status, body and headers reach the client, flagged UAEX, and the app sees nothing', async () => {
      x.use([provider()], custom(name));
      const before = x.rig.app.seen.length;
      const r = await x.send('/secure/admin/x');
      assert.equal(r.status, 451);
      assert.equal(r.body.toString(), 'admins only\n');
      assert.equal(r.headers['x-authz-reason'], 'admin-area');
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_DENIED: denied by provider "authz-(http|grpc)"$/);
      assert.equal(x.rig.app.seen.length, before);
      assert.ok(x.logger.find('inbound.ext_authz.denied').some((l) => l.fields.provider === name && l.fields.responseFlags === 'UAEX'));
      assert.ok((x.rig.serverStats().local_replies_uaex_total ?? 0) > 0);
    });

    test('fail/default deny of the provider: 403 with its body', async () => {
      x.use([provider()], custom(name));
      const r = await x.send('/anything');
      assert.equal(r.status, 403);
      assert.equal(r.body.toString(), 'denied by the example authorizer\n');
    });

    test('ok/requests the CUSTOM rules do not select never reach the provider', async () => {
      x.use([provider()], custom(name, '[{ to: [{ operation: { paths: ["/guarded/*"] } }] }]'));
      const n = seen().length;
      const r = await x.send('/open');
      assert.equal(r.status, 200);
      assert.equal(seen().length, n);
      assert.equal((await x.send('/guarded/x')).status, 403);
      assert.equal(seen().length, n + 1);
    });

    test('fail/a provider allowing does not bypass a DENY policy', async () => {
      x.use([provider()], custom(name) + '---\n' + DENY_PUBLIC);
      const r = await x.send('/public/x');
      assert.equal(r.status, 403);
      assert.equal(r.body.toString(), 'RBAC: access denied');
    });

    test('fail/the provider is down: statusOnError (403 by default), or the configured one', async () => {
      const port = await deadPort();
      x.use([kind === 'http' ? HTTP(port) : GRPC(port)], custom(name));
      const r = await x.send('/public/x');
      assert.equal(r.status, 403, r.body.toString());
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_FAILED: provider "authz-(http|grpc)" failed: /, JSON.stringify([r.headers, r.body.toString(), x.logger.lines.slice(-3)]));
      x.use([kind === 'http' ? HTTP(port, { statusOnError: '503' }) : GRPC(port, { statusOnError: '503' })], custom(name));
      assert.equal((await x.send('/public/x')).status, 503);
    });

    test('ok/the provider is down with failOpen: the request goes on, counted as failed open', async () => {
      const port = await deadPort();
      x.use([kind === 'http' ? HTTP(port, { failOpen: true }) : GRPC(port, { failOpen: true })], custom(name));
      const r = await x.send('/public/x');
      assert.equal(r.status, 200);
      assert.ok(x.logger.find('inbound.ext_authz.failed_open').some((l) => l.fields.provider === name));
    });

    test('fail/a provider slower than its timeout fails closed', async () => {
      const silent = await brokenProvider(() => undefined);
      try {
        x.use([kind === 'http' ? HTTP(silent.port, { timeout: '300ms' }) : GRPC(silent.port, { timeout: '300ms' })], custom(name));
        const r = await x.send('/public/x');
        assert.equal(r.status, 403);
        assert.match(String(r.headers['x-weft-proxy-error']), /UAEX WEFT_EXTAUTHZ_FAILED: provider "authz-(http|grpc)" failed: /);
      } finally {
        await silent.close();
      }
    });

    test('fail/a provider answering garbage fails closed', async () => {
      const garbage = await brokenProvider((s) => s.end('\x00\x01garbage that is neither HTTP/1.1 nor HTTP/2\r\n\r\n'));
      try {
        x.use([kind === 'http' ? HTTP(garbage.port) : GRPC(garbage.port)], custom(name));
        const r = await x.send('/public/x');
        assert.equal(r.status, 403);
        assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_FAILED/);
      } finally {
        await garbage.close();
      }
    });

    test('ok/includeRequestBodyInCheck: the provider reads the body, the app still gets all of it', async () => {
      x.use([provider({ includeRequestBodyInCheck: { maxRequestBytes: 4096 } })], custom(name));
      const body = `letmein ${'x'.repeat(1000)}`;
      const r = await x.send('/upload', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(x.rig.app.seen.at(-1)!.bodyBytes, Buffer.byteLength(body));
      assert.equal(seen().at(-1)!.body, body);
      assert.equal((await x.send('/upload', { method: 'POST', body: 'no password here' })).status, 403);
    });

    test('ok/includeRequestBodyInCheck with an empty body, with or without a length, still forwards', async () => {
      x.use([provider({ includeRequestBodyInCheck: { maxRequestBytes: 64 } })], custom(name));
      const a = await x.send('/public/empty', { method: 'POST', body: '' });
      assert.equal(a.status, 200, a.body.toString());
      const b = await x.send('/public/chunked', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: '' });
      assert.equal(b.status, 200, b.body.toString());
      assert.equal(x.rig.app.seen.at(-1)!.bodyBytes, 0);
    });

    test('fail/a body over maxRequestBytes without allowPartialMessage is 413, ahead of failOpen', async () => {
      x.use([provider({ failOpen: true, includeRequestBodyInCheck: { maxRequestBytes: 16 } })], custom(name));
      const n = seen().length;
      const r = await x.send('/upload', { method: 'POST', body: `letmein${'y'.repeat(100)}` });
      assert.equal(r.status, 413);
      assert.match(String(r.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_BODY_TOO_LARGE/);
      assert.equal(seen().length, n);
    });

    test('ok/allowPartialMessage: the provider gets the first maxRequestBytes, marked partial; the app gets the whole body', async () => {
      x.use([provider({ includeRequestBodyInCheck: { maxRequestBytes: 16, allowPartialMessage: true } })], custom(name));
      const body = `letmein${'z'.repeat(5000)}`;
      const r = await x.send('/upload', { method: 'POST', body });
      assert.equal(r.status, 200, r.body.toString());
      const check = seen().at(-1)!;
      assert.equal(check.body, body.slice(0, 16));
      assert.equal(check.headers['x-envoy-auth-partial-body'], 'true');
      assert.equal(x.rig.app.seen.at(-1)!.bodyBytes, body.length);
    });

    test('ok/decision cache: identical checks are answered once by the provider; a request differing in a sent attribute is asked again', async () => {
      x.use([provider({ cache: { maxEntries: 100, defaultTtl: '1m' } })], custom(name));
      const n = seen().length;
      for (let i = 0; i < 10; i++) assert.equal((await x.send('/public/cached', { headers: { 'x-user': 'alice' } })).status, 200);
      assert.equal(seen().length, n + 1);
      assert.equal(x.rig.app.seen.at(-1)!.headers['x-authz-user'], 'alice', 'a cached allowance still applies its header changes');
      assert.equal((await x.send('/public/cached2', { headers: { 'x-user': 'alice' } })).status, 200);
      assert.equal(seen().length, n + 2);
      // Denials are cached as well, with their status and body.
      for (let i = 0; i < 3; i++) assert.equal((await x.send('/secure/admin/1')).status, 451);
      assert.equal(seen().length, n + 3);
      const stats = x.ext.providers()[name]!.cache!;
      assert.ok(stats.hits >= 11, JSON.stringify(stats));
    });

    test('ok/decision cache: a provider\'s TTL of 0 keeps its answer out of the cache', async () => {
      x.use([provider({ cache: { maxEntries: 100, defaultTtl: '1m' } })], custom(name));
      const n = seen().length;
      for (let i = 0; i < 3; i++) assert.equal((await x.send('/public/ttl', { headers: { 'x-ttl': 'zero' } })).status, 200);
      assert.equal(seen().length, n + 3);
    });

    test('ok/decision cache: a snapshot changing the CUSTOM policies drops it; an unchanged one keeps it', async () => {
      x.use([provider({ cache: { maxEntries: 100, defaultTtl: '1m' } })], custom(name));
      const n = seen().length;
      assert.equal((await x.send('/public/snap')).status, 200);
      x.use([provider({ cache: { maxEntries: 100, defaultTtl: '1m' } })], custom(name));
      assert.equal((await x.send('/public/snap')).status, 200);
      assert.equal(seen().length, n + 1, 'same provider, same policy version: the cache stays');
      x.use([provider({ cache: { maxEntries: 100, defaultTtl: '2m' } })], custom(name));
      assert.equal((await x.send('/public/snap')).status, 200);
      assert.equal(seen().length, n + 2, 'the provider changed: its cache is gone');
    });
  });
}

describe('providers and policies', () => {
  test('ok/plaintext client: the provider\'s headersToDownstreamOnAllow reach the response; a denial carries its answer', async () => {
    x.use([HTTP(x.authz.httpPort)], custom('authz-http'), { plaintext: true });
    const r = await x.sendPlain('/public/x', { 'x-user': 'alice' });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['x-authz-note'], 'seen');
    assert.equal(x.rig.app.seen.at(-1)!.headers['x-authz-user'], 'alice');
    const d = await x.sendPlain('/secure/admin/x');
    assert.equal(d.status, 451);
    assert.equal(d.headers['x-authz-reason'], 'admin-area');
    assert.equal(d.body.toString(), 'admins only\n');
    const check = x.authz.seen.http.at(-1)!;
    assert.equal(check.path, '/check/secure/admin/x');
  });

  test('fail/an unknown provider fails closed, and the denial says why', async () => {
    x.use([], custom('nowhere'));
    const r = await x.send('/public/x');
    assert.equal(r.status, 403);
    const denied = x.rig.decided.at(-1);
    assert.equal(denied?.allow, false);
  });
});
