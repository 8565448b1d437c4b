import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileCors, corsPreflight, corsResponseHeaders } from './cors.js';

const headers = (h: Record<string, string>) => (n: string) => h[n];
const cors = compileCors({
  allowOrigins: [{ exact: 'https://a.example' }, { regex: 'https://.*\\.b\\.example' }],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['x-a'],
  exposeHeaders: ['x-e'],
  maxAge: '24h',
  allowCredentials: true,
});
const preflight = (origin: string) => headers({ origin, 'access-control-request-method': 'POST' });

describe('corsPreflight', () => {
  test('an allowed origin gets the allow headers, answered locally', () => {
    assert.deepEqual(corsPreflight(cors, 'OPTIONS', preflight('https://x.b.example')), {
      kind: 'respond',
      status: 200,
      headers: [
        ['access-control-allow-origin', 'https://x.b.example'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-allow-methods', 'GET,POST'],
        ['access-control-allow-headers', 'x-a'],
        ['access-control-max-age', '86400'],
      ],
    });
  });
  test('an unmatched preflight is forwarded by default, answered bare with IGNORE', () => {
    assert.deepEqual(corsPreflight(cors, 'OPTIONS', preflight('https://evil.example')), { kind: 'continue' });
    const ignore = compileCors({ allowOrigins: [{ exact: 'https://a.example' }], unmatchedPreflights: 'IGNORE' });
    assert.deepEqual(corsPreflight(ignore, 'OPTIONS', preflight('https://evil.example')), { kind: 'respond', status: 200, headers: [] });
  });
  test('not a preflight: no Origin, no request method, not OPTIONS, no policy', () => {
    assert.deepEqual(corsPreflight(cors, 'OPTIONS', headers({ 'access-control-request-method': 'GET' })), { kind: 'continue' });
    assert.deepEqual(corsPreflight(cors, 'OPTIONS', headers({ origin: 'https://a.example' })), { kind: 'continue' });
    assert.deepEqual(corsPreflight(cors, 'GET', preflight('https://a.example')), { kind: 'continue' });
    assert.deepEqual(corsPreflight(undefined, 'OPTIONS', preflight('https://a.example')), { kind: 'continue' });
  });
  test('a regex origin matches the whole origin', () => {
    assert.deepEqual(corsPreflight(cors, 'OPTIONS', preflight('https://x.b.example.evil.com')), { kind: 'continue' });
  });
});

describe('corsResponseHeaders', () => {
  test('an allowed origin gets allow-origin, credentials and expose headers', () => {
    assert.deepEqual(corsResponseHeaders(cors, headers({ origin: 'https://a.example' })), [
      ['access-control-allow-origin', 'https://a.example'],
      ['access-control-allow-credentials', 'true'],
      ['access-control-expose-headers', 'x-e'],
    ]);
  });
  test('another origin or none gets nothing', () => {
    assert.deepEqual(corsResponseHeaders(cors, headers({ origin: 'https://A.example' })), []);
    assert.deepEqual(corsResponseHeaders(cors, headers({})), []);
  });
  test('a refused origin regex matches nothing and is reported', () => {
    const c = compileCors({ allowOrigins: [{ regex: '(a)\\1' }] })!;
    assert.match(c.errors[0]!, /allowOrigins\[0\]: .*backreferences/);
    assert.deepEqual(corsResponseHeaders(c, headers({ origin: 'aa' })), []);
  });
});
