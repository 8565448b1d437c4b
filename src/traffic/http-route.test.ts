import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HTTPRoute } from '../config/generated/types.js';
import type { DirectDecision, ForwardDecision, NoRouteDecision, RedirectDecision, RouteDecision, StreamDecision } from './decision.js';
import { RATINGS, req, REVIEWS, table, vs } from './testing/fixtures.js';

const one = (route: HTTPRoute, over: Parameters<typeof req>[1] = {}): RouteDecision => {
  const t = table([vs('default', 'r', { hosts: ['reviews'], http: [route] })]);
  return t.route(req(REVIEWS, over));
};
const fwd = (d: RouteDecision) => {
  assert.equal(d.kind, 'forward', JSON.stringify(d));
  return d as ForwardDecision;
};
const to = (host: string, extra: object = {}) => ({ destination: { host }, ...extra });

describe('weighted destinations', () => {
  test('weights need not sum to 100; 0-weight destinations are skipped', () => {
    const d = fwd(one({ route: [to('reviews', { weight: 3 }), to('ratings', { weight: 0 }), to('ratings', { weight: 1, destination: { host: 'ratings', subset: 'v2' } })] }));
    assert.deepEqual(d.destinations.map((x) => [x.host, x.subset, x.weight]), [[REVIEWS, undefined, 3], [RATINGS, 'v2', 1]]);
  });
  test('a single destination gets 100 whatever its weight', () => {
    assert.equal(fwd(one({ route: [to('reviews', { weight: 0 })] })).destinations[0]!.weight, 100);
  });
  test('the destination port: given, else the only port of the host, else the request port', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [{ route: [
      { destination: { host: 'ratings', port: { number: 7000 } }, weight: 1 },
      { destination: { host: 'details.shop' }, weight: 1 },
      { destination: { host: 'productpage' }, weight: 1 },
    ] }] })]);
    assert.deepEqual(fwd(t.route(req(REVIEWS, { port: 9080 }))).destinations.map((x) => x.port), [7000, 80, 9080]);
  });
  test('unknown destination hosts are dropped (Istio blackholes them) and reported', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [{ route: [to('nosuch', { weight: 50 }), to('ratings', { weight: 50 })] }] })]);
    assert.deepEqual(fwd(t.route(req(REVIEWS))).destinations.map((x) => x.host), [RATINGS]);
    assert.deepEqual(t.issues, [{ resource: 'VirtualService/default/r', path: 'spec.http[0].route[0].destination.host', message: 'nosuch is neither a service nor a ServiceEntry host: the destination is dropped' }]);
  });
  test('a route with no known destination is a 503 NC no-route with the reason', () => {
    const d = one({ route: [to('nosuch.example.com')] }) as NoRouteDecision;
    assert.deepEqual([d.kind, d.status, d.flag], ['no-route', 503, 'NC']);
    assert.match(d.reason, /no destination is a service or a ServiceEntry host/);
  });
  test('every destination at weight 0 fails closed', () => {
    assert.match((one({ route: [to('reviews', { weight: 0 }), to('ratings', { weight: 0 })] }) as NoRouteDecision).reason, /every destination has weight 0/);
  });
});

describe('rewrite', () => {
  test('uri replaces the matched prefix and keeps the query', () => {
    const d = fwd(one({ match: [{ uri: { prefix: '/old' } }], rewrite: { uri: '/new' }, route: [to('reviews')] }, { path: '/old/x?q=1' }));
    assert.equal(d.path, '/new/x?q=1');
  });
  test('uri replaces the whole path after an exact or regex match', () => {
    assert.equal(fwd(one({ match: [{ uri: { exact: '/a' } }], rewrite: { uri: '/b' }, route: [to('reviews')] }, { path: '/a?z' })).path, '/b?z');
    assert.equal(fwd(one({ match: [{ uri: { regex: '/a.*' } }], rewrite: { uri: '/b' }, route: [to('reviews')] }, { path: '/abc' })).path, '/b');
  });
  test('without a URI match the implicit prefix / is replaced (as Istio does)', () => {
    assert.equal(fwd(one({ rewrite: { uri: '/v2' }, route: [to('reviews')] }, { path: '/foo' })).path, '/v2foo');
  });
  test('ignoreUriCase replaces the prefix as the request spelled it', () => {
    assert.equal(fwd(one({ match: [{ uri: { prefix: '/api' }, ignoreUriCase: true }], rewrite: { uri: '/x' }, route: [to('reviews')] }, { path: '/API/v1' })).path, '/x/v1');
  });
  test('uriRegexRewrite substitutes with \\1 captures and wins over uri', () => {
    const d = fwd(one({ rewrite: { uri: '/ignored', uriRegexRewrite: { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' } }, route: [to('reviews')] }, { path: '/service/foo/v1/api?x=1' }));
    assert.equal(d.path, '/v1/api/instance/foo?x=1');
  });
  test('a $ in the replacement stays literal', () => {
    assert.equal(fwd(one({ rewrite: { uriRegexRewrite: { match: 'a', rewrite: '$1\\0$' } }, route: [to('reviews')] }, { path: '/ab' })).path, '/$1a$b');
  });
  test('a rewrite regex RE2 refuses fails closed', () => {
    assert.match((one({ rewrite: { uriRegexRewrite: { match: '(?<=a)b', rewrite: 'c' } }, route: [to('reviews')] }) as NoRouteDecision).reason, /lookbehind/);
  });
  test('authority: rewrite.authority, or a host header set', () => {
    assert.equal(fwd(one({ rewrite: { authority: 'new.example' }, route: [to('reviews')] })).authority, 'new.example');
    assert.equal(fwd(one({ headers: { request: { set: { Host: 'h.example' } } }, route: [to('reviews')] })).authority, 'h.example');
    assert.equal(fwd(one({ route: [to('reviews')] })).path, undefined);
  });
});

describe('headers', () => {
  test('set and add lowercased; pseudo-headers and host dropped', () => {
    const d = fwd(one({ headers: { request: { set: { 'X-A': '1', ':path': '/evil', host: 'h' }, add: { 'x-b': '2', ':method': 'POST' }, remove: ['X-C', 'host'] }, response: { set: { 'x-r': 'v' } } }, route: [to('reviews', { headers: { response: { add: { 'x-d': 'd' } } } })] }));
    assert.deepEqual(d.requestHeaders, { set: [['x-a', '1']], add: [['x-b', '2']], remove: ['x-c'] });
    assert.deepEqual(d.responseHeaders, { set: [['x-r', 'v']], add: [], remove: [] });
    assert.deepEqual(d.destinations[0]!.headers.response.add, [['x-d', 'd']]);
    assert.equal(d.authority, 'h');
  });
});

describe('redirect and direct response', () => {
  test('a redirect defaults to 301 and keeps the query', () => {
    const d = one({ redirect: { uri: '/v2' } }, { path: '/v1?x=1', authority: 'reviews:9080' }) as RedirectDecision;
    assert.deepEqual([d.kind, d.status, d.location], ['redirect', 301, 'http://reviews:9080/v2?x=1']);
  });
  test('prefixRewrite, authority, scheme, port and redirectCode', () => {
    const d = one({ match: [{ uri: { prefix: '/old' } }], redirect: { prefixRewrite: '/new', authority: 'b.example', scheme: 'https', port: 8443, redirectCode: 308 } }, { path: '/old/a' }) as RedirectDecision;
    assert.deepEqual([d.status, d.location], [308, 'https://b.example:8443/new/a']);
  });
  test('derivePort FROM_PROTOCOL_DEFAULT drops the port; FROM_REQUEST_PORT keeps the request port', () => {
    assert.equal((one({ redirect: { scheme: 'https', derivePort: 'FROM_PROTOCOL_DEFAULT' } }, { path: '/a', authority: 'reviews:9080' }) as RedirectDecision).location, 'https://reviews/a');
    assert.equal((one({ redirect: { authority: 'x.example', derivePort: 'FROM_REQUEST_PORT' } }, { path: '/a', port: 9080 }) as RedirectDecision).location, 'http://x.example:9080/a');
  });
  test('an https redirect drops port 80 of the plain-text request', () => {
    assert.equal((one({ redirect: { scheme: 'https' } }, { path: '/', authority: 'reviews:80' }) as RedirectDecision).location, 'https://reviews/');
  });
  test('a direct response with a string or base64 body', () => {
    const d = one({ directResponse: { status: 418, body: { string: 'teapot' } } }) as DirectDecision;
    assert.deepEqual([d.kind, d.status, d.body], ['direct', 418, 'teapot']);
    const b = one({ directResponse: { status: 200, body: { bytes: Buffer.from('hi').toString('base64') } } }) as DirectDecision;
    assert.equal(Buffer.from(b.body as Uint8Array).toString(), 'hi');
  });
});

describe('timeout, retries, fault, mirrors, CORS on the decision', () => {
  test('timeout: none by default, the route value otherwise, 0s disables', () => {
    assert.equal(fwd(one({ route: [to('reviews')] })).timeoutMs, undefined);
    assert.equal(fwd(one({ timeout: '1.5s', route: [to('reviews')] })).timeoutMs, 1500);
    assert.equal(fwd(one({ timeout: '0s', route: [to('reviews')] })).timeoutMs, undefined);
  });
  test('retries, fault, mirrors and corsPolicy are compiled onto the decision', () => {
    const d = fwd(one({
      retries: { attempts: 4, retryOn: '5xx,bogus' },
      fault: { abort: { httpStatus: 503, percentage: { value: 10 } } },
      mirror: { host: 'ratings' },
      mirrorPercentage: { value: 5 },
      corsPolicy: { allowOrigins: [{ exact: 'https://a.example' }] },
      route: [to('reviews')],
    }));
    assert.equal(d.retry.attempts, 4);
    assert.deepEqual(d.fault?.abort, { httpStatus: 503, grpcStatus: undefined, perMillion: 100_000 });
    assert.deepEqual(d.mirrors, [{ host: RATINGS, subset: undefined, port: undefined, perMillion: 50_000 }]);
    assert.equal(d.cors?.origins.length, 1);
  });
  test('an unknown mirror host is dropped and reported', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [{ mirrors: [{ destination: { host: 'ratings' } }, { destination: { host: 'ghost.example' } }], route: [to('reviews')] }] })]);
    assert.deepEqual(fwd(t.route(req(REVIEWS))).mirrors.map((m) => [m.host, m.perMillion]), [[RATINGS, 1_000_000]]);
    assert.deepEqual(t.issues.map((i) => `${i.path}: ${i.message}`), ['spec.http[0].mirrors[1].destination.host: ghost.example is neither a service nor a ServiceEntry host: the mirror is dropped']);
  });
  test('an unknown retryOn token is reported as an issue', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [{ retries: { attempts: 1, retryOn: 'bogus' }, route: [to('reviews')] }] })]);
    assert.deepEqual(t.issues.map((i) => i.message), ['unknown retryOn tokens ignored: bogus']);
  });
});

describe('TLS and TCP routes', () => {
  const t = table([vs('default', 'r', {
    hosts: ['productpage'],
    tls: [{ match: [{ sniHosts: ['productpage.default.svc.cluster.local'], port: 9443 }], route: [{ destination: { host: 'ratings', port: { number: 9443 } } }] }],
    tcp: [
      { match: [{ port: 9080, destinationSubnets: ['10.0.0.0/8'] }], route: [{ destination: { host: 'reviews' }, weight: 80 }, { destination: { host: 'ratings' }, weight: 20 }] },
      { match: [{ port: 9080 }], route: [{ destination: { host: 'reviews' } }] },
    ],
  })]);
  const PP = 'productpage.default.svc.cluster.local';
  test('TLS routes by SNI and port', () => {
    assert.deepEqual(t.routeTls(PP, 'ProductPage.default.svc.cluster.local', 9443), { kind: 'forward', virtualService: 'default/r', destinations: [{ host: RATINGS, subset: undefined, port: 9443, weight: 100 }] });
    assert.match((t.routeTls(PP, 'other.example', 9443) as { reason: string }).reason, /no tls route of VirtualService default\/r matches/);
  });
  test('a short sniHosts name matches the fully qualified SNI', () => {
    const s = table([vs('default', 's', { hosts: ['productpage'], tls: [{ match: [{ sniHosts: ['productpage'] }], route: [{ destination: { host: 'ratings' } }] }] })]);
    assert.equal(s.routeTls(PP, 'productpage.default.svc.cluster.local', 9443).kind, 'forward');
    assert.equal(s.routeTls(PP, 'productpage', 9443).kind, 'forward');
    assert.equal(s.routeTls(PP, 'ratings.default.svc.cluster.local', 9443).kind, 'no-route');
  });
  test('TCP routes by port and destination subnet, weighted', () => {
    const dests = (d: StreamDecision) => (d.kind === 'forward' ? d.destinations.map((x) => [x.host, x.weight]) : d.reason);
    assert.deepEqual(dests(t.routeTcp(PP, 9080, '10.1.2.3')), [[REVIEWS, 80], [RATINGS, 20]]);
    assert.deepEqual(dests(t.routeTcp(PP, 9080, '192.168.0.1')), [[REVIEWS, 100]]);
    assert.deepEqual(dests(t.routeTcp(PP, 9080)), [[REVIEWS, 100]]);
    assert.equal(t.routeTcp(PP, 9443).kind, 'no-route');
  });
  test('without TLS or TCP routes: the host itself', () => {
    assert.deepEqual(table([]).routeTcp(REVIEWS, 9080), { kind: 'forward', virtualService: undefined, destinations: [{ host: REVIEWS, subset: undefined, port: 9080, weight: 100 }] });
    assert.equal(table([]).routeTls('nosuch.example', 'nosuch.example', 443).kind, 'no-route');
  });
});
