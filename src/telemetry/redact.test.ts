import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { createLogger } from './logger.js';
import { REDACTED, Redactor } from './redact.js';

const JWT = 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
const r = () => new Redactor({ params: ['api_tok'], cookies: ['session'], headers: ['x-jwt'] });

describe('redaction of one string', () => {
  const cases: [string, string, string][] = [
    ['ok/default token parameter', '/api?access_token=abc123&x=1', `/api?access_token=${REDACTED}&x=1`],
    ['ok/parameter name in any case', '/api?ACCESS_TOKEN=abc123', `/api?ACCESS_TOKEN=${REDACTED}`],
    ['ok/a fromParams name', '/a?b=1&api_tok=s3cr3t-value#frag', `/a?b=1&api_tok=${REDACTED}#frag`],
    ['ok/a fromCookies name in a Cookie header', 'a=1; session=opaque-value; b=2', `a=1; session=${REDACTED}; b=2`],
    ['ok/a quoted cookie value', 'session="opaque-value"', `session="${REDACTED}"`],
    ['ok/a JWT anywhere', `token was ${JWT}!`, `token was ${REDACTED}!`],
    ['ok/a JWT cut short by truncation', `/p?t=${JWT.slice(0, 60)}`, `/p?t=${REDACTED}`],
    ['ok/a JWT with percent-encoded dots', JWT.replaceAll('.', '%2E'), REDACTED],
    ['ok/a JWT glued to URL-encoded text', `Bearer%20${JWT}`, `Bearer%20${REDACTED}`],
    ['ok/an authorization header line', 'authorization: Basic dXNlcjpwYXNz\r\nhost: x', `authorization: ${REDACTED}\r\nhost: x`],
    ['ok/a headers object printed as JSON', '{"proxy-authorization":"Basic dXNlcjpwYXNz","host":"x"}', `{"proxy-authorization":"${REDACTED}","host":"x"}`],
    ['ok/a fromHeaders name', "x-jwt: 'opaque'", `x-jwt: '${REDACTED}'`],
    ['ok/a bearer token in prose', 'sent Bearer abc.def-123 upstream', `sent Bearer ${REDACTED} upstream`],
    ['ok/a PEM private key', 'key -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY----- end', `key ${REDACTED} end`],
    ['ok/a PEM private key cut short', '-----BEGIN PRIVATE KEY-----\nMIIEv', REDACTED],
    ['ok/a name inside another is not a token location', '/a?xaccess_token=1&myapi_tok=2', '/a?xaccess_token=1&myapi_tok=2'],
    ['ok/an empty value stays empty', '/a?access_token=&b=2', '/a?access_token=&b=2'],
    ['ok/a SPIFFE ID is left alone', 'spiffe://cluster.local/ns/default/sa/reviews', 'spiffe://cluster.local/ns/default/sa/reviews'],
    ['ok/a denial explanation is left alone', 'DENY default/deny-admin rule 0: request.headers[authorization] present', 'DENY default/deny-admin rule 0: request.headers[authorization] present'],
    ['ok/an ordinary path is left alone', '/api/v1/items?page=2&sort=name', '/api/v1/items?page=2&sort=name'],
  ];
  for (const [name, input, expected] of cases) test(name, () => assert.equal(r().string(input), expected));

  test('ok/a string without a secret comes back as the same string', () => {
    const s = 'inbound.path.refused: /a/b/c';
    assert.equal(r().string(s), s);
  });

  test('ok/names added later are redacted from then on, and names never go', () => {
    const red = new Redactor();
    assert.equal(red.string('/a?tok=v'), '/a?tok=v');
    red.add({ params: ['tok'] });
    red.add({ params: [] });
    assert.equal(red.string('/a?tok=v'), `/a?tok=${REDACTED}`);
  });

  test('ok/regular-expression characters in a name are taken literally', () => {
    const red = new Redactor({ params: ['a.b+c'] });
    assert.equal(red.string('/x?a.b+c=v&aXb+c=w'), `/x?a.b+c=${REDACTED}&aXb+c=w`);
  });
});

describe('redaction of log fields', () => {
  test('ok/header objects lose credential values at any depth, in any case', () => {
    const out = r().fields({ request: { headers: { Authorization: 'Bearer x', cookie: 'a=b', 'X-JWT': 'opaque', host: 'h' } } });
    assert.deepEqual(out, { request: { headers: { Authorization: REDACTED, cookie: REDACTED, 'X-JWT': REDACTED, host: 'h' } } });
  });

  test('ok/a raw header list loses the value after a credential header name', () => {
    assert.deepEqual(r().fields({ raw: ['Host', 'h', 'Authorization', 'Basic x', 'set-cookie', 'id=1'] }), { raw: ['Host', 'h', 'Authorization', REDACTED, 'set-cookie', REDACTED] });
  });

  test('ok/errors log as type, message, code and cause, all redacted', () => {
    const err = Object.assign(new Error(`fetch http://x/?access_token=abc failed`, { cause: new TypeError(`bad ${JWT}`) }), { code: 'ECONNREFUSED' });
    assert.deepEqual(r().fields({ error: err }), {
      error: { type: 'Error', message: `fetch http://x/?access_token=${REDACTED} failed`, code: 'ECONNREFUSED', cause: { type: 'TypeError', message: `bad ${REDACTED}` } },
    });
  });

  test('ok/cycles, bytes, maps, sets, dates and bigints do not break a line', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const out = r().fields({ a, b: Buffer.from('secret'), m: new Map([['authorization', 'x']]), s: new Set([JWT]), d: new Date(0), n: 10n });
    assert.deepEqual(out, { a: { name: 'a', self: '[circular]' }, b: '[6 bytes]', m: { authorization: REDACTED }, s: [REDACTED], d: '1970-01-01T00:00:00.000Z', n: '10' });
  });

  test('ok/a URL logs as its href, redacted; a throwing getter does not break the line', () => {
    const o = Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get: () => { throw new Error('no'); } });
    assert.deepEqual(r().fields({ url: new URL('http://reviews.default:9080/x?access_token=abc'), o }), {
      url: `http://reviews.default:9080/x?access_token=${REDACTED}`,
      o: { ok: 1, bad: '[unreadable]' },
    });
  });

  test('ok/the input is never changed', () => {
    const fields = { path: '/a?access_token=x', headers: { authorization: 'y' } };
    r().fields(fields);
    assert.deepEqual(fields, { path: '/a?access_token=x', headers: { authorization: 'y' } });
  });

  test('ok/a __proto__ key stays an own field, not a prototype', () => {
    const out = r().fields(JSON.parse('{"__proto__": {"authorization": "x"}}') as Record<string, unknown>);
    assert.deepEqual(Object.getOwnPropertyNames(out), ['__proto__']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  test('ok/the logger writes every line redacted', () => {
    let written = '';
    const destination = new Writable({ write: (chunk: Buffer, _e, cb) => ((written += chunk.toString()), cb()) });
    const logger = createLogger('test', { level: 'debug', destination });
    logger.redactor.add({ cookies: ['sid'] });
    logger.log('warn', 'proxy.request.failed', { url: `/x?access_token=${JWT}`, cookie: 'sid=abc', headers: { cookie: 'sid=abc' }, message: 'sid=abc' });
    assert.doesNotMatch(written, /abc|eyJ/);
    assert.match(written, /"event":"proxy.request.failed"/);
  });
});

// A secret of the kinds a request carries, shown as it appears in a log string.
const secretValue = fc.stringMatching(/^[A-Za-z0-9_~-]{12,40}$/);
const jwtSegment = fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/);
const placed = fc.oneof(
  fc.tuple(fc.constantFrom('?', '&'), fc.constantFrom('access_token', 'api_tok', 'ACCESS_TOKEN'), secretValue).map(([sep, n, v]) => ({ shown: `${sep}${n}=${v}`, secret: v })),
  fc.tuple(fc.constantFrom('; ', ';', ' '), fc.constantFrom('session', 'Session'), secretValue).map(([sep, n, v]) => ({ shown: `${sep}${n}=${v}`, secret: v })),
  fc.tuple(fc.constantFrom('authorization', 'Proxy-Authorization', 'cookie', 'x-jwt'), fc.constantFrom(': ', ':', '": "', '=', "': '"), secretValue).map(([n, sep, v]) => ({ shown: `\n${n}${sep}${v}`, secret: v })),
  fc.tuple(jwtSegment, jwtSegment, jwtSegment).map(([a, b, c]) => ({ shown: `eyJ${a}.${b}.${c}`, secret: `eyJ${a}.${b}.${c}` })),
  fc.tuple(fc.constantFrom('Bearer ', 'bearer  '), secretValue).map(([p, v]) => ({ shown: `${p}${v}`, secret: v })),
  secretValue.map((v) => ({ shown: `-----BEGIN PRIVATE KEY-----\n${v}\n-----END PRIVATE KEY-----`, secret: v })),
);
// Text around the secret: anything at all before (the secret brings its own separator), anything
// after that does not continue the secret's value (a value runs to its separator).
const before = fc.string({ maxLength: 30 });
const after = fc.oneof(fc.constant(''), fc.tuple(fc.constantFrom('&', ';', ' ', '\n', '"', '#'), fc.string({ maxLength: 30 })).map(([s, t]) => s + t));

describe('no secret survives (property)', () => {
  test('a secret embedded anywhere in a string never survives', () => {
    fc.assert(
      fc.property(before, placed, after, (pre, { shown, secret }, post) => {
        assert.ok(!r().string(pre + shown + post).includes(secret));
      }),
      { numRuns: 2000 },
    );
  });

  test('a secret anywhere in a nested object never survives, as a value or under a credential key', () => {
    const keyOf = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor'));
    fc.assert(
      fc.property(fc.object({ maxDepth: 3 }), fc.array(keyOf, { maxLength: 4 }), before, placed, after, fc.boolean(), (host, path, pre, { shown, secret }, post, asHeader) => {
        // Generated values are shared between runs while shrinking: change a copy only.
        const root = structuredClone(host);
        let node: Record<string, unknown> = root;
        for (const k of path) {
          const next: Record<string, unknown> = {};
          Object.defineProperty(node, k, { value: next, enumerable: true, configurable: true, writable: true });
          node = next;
        }
        const leaf = asHeader ? { key: 'Authorization', value: [secret] } : { key: 'leaf', value: [pre + shown + post] };
        Object.defineProperty(node, leaf.key, { value: leaf.value, enumerable: true, configurable: true, writable: true });
        assert.ok(!JSON.stringify(r().fields(root)).includes(secret));
      }),
      { numRuns: 1000 },
    );
  });
});
