import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROXY_ERROR_CODES, ProxyError, RESPONSE_FLAGS } from './errors.js';
import { proxyErrorValue, rescue, responseFlagOf } from './rescue.js';

describe('rescue', () => {
  test('maps every proxy error code to a status, keeping the client-safe reason', () => {
    const expected: Record<string, number> = {
      WEFT_PROXY_BAD_REQUEST: 400,
      WEFT_PROXY_UNKNOWN_SERVICE: 503,
      WEFT_PROXY_UNKNOWN_PORT: 404,
      WEFT_PROXY_NO_ENDPOINTS: 503,
      WEFT_PROXY_SECURE_NAMING: 503,
      WEFT_PROXY_UPSTREAM_UNAVAILABLE: 503,
      WEFT_PROXY_UPSTREAM_RESET: 502,
      WEFT_PROXY_STREAMS_EXHAUSTED: 503,
      WEFT_PROXY_APP_UNAVAILABLE: 503,
      WEFT_PROXY_IDENTITY_REVOKED: 503,
      WEFT_PROXY_PEER_REFUSED: 403,
      WEFT_PROXY_EGRESS_BLOCKED: 502,
      WEFT_PROXY_DNS_FAILED: 503,
      WEFT_PROXY_DEADLINE_EXCEEDED: 504,
      WEFT_PROXY_UPGRADE_FAILED: 502,
      WEFT_PROXY_NO_ROUTE: 404,
      WEFT_PROXY_NO_CLUSTER: 503,
      WEFT_PROXY_OVERFLOW: 503,
      WEFT_PROXY_UPSTREAM_TIMEOUT: 504,
      WEFT_PROXY_FAULT_ABORT: 503,
    };
    assert.deepEqual(Object.keys(expected).sort(), [...PROXY_ERROR_CODES].sort());
    for (const code of PROXY_ERROR_CODES) {
      const r = rescue(new ProxyError(code, 'short reason', { message: 'internal detail with spiffe://td/ns/x/sa/y' }));
      assert.equal(r.status, expected[code], code);
      assert.equal(r.body, 'weft: short reason\n');
      assert.equal(r.code, code);
    }
  });

  test('turns anything else into a 502 without leaking its message', () => {
    const r = rescue(new Error('ECONNRESET at 10.0.0.7'));
    assert.equal(r.status, 502);
    assert.equal(r.body, 'weft: internal proxy error\n');
  });

  test('every code carries an Envoy response flag, first in the header value', () => {
    const flags: Record<string, string> = {
      WEFT_PROXY_BAD_REQUEST: 'DPE',
      WEFT_PROXY_UNKNOWN_SERVICE: 'NR',
      WEFT_PROXY_UNKNOWN_PORT: 'NR',
      WEFT_PROXY_NO_ENDPOINTS: 'UH',
      WEFT_PROXY_SECURE_NAMING: 'UF',
      WEFT_PROXY_UPSTREAM_UNAVAILABLE: 'UF',
      WEFT_PROXY_UPSTREAM_RESET: 'UR',
      WEFT_PROXY_STREAMS_EXHAUSTED: 'UO',
      WEFT_PROXY_APP_UNAVAILABLE: 'UF',
      WEFT_PROXY_IDENTITY_REVOKED: 'UF',
      WEFT_PROXY_PEER_REFUSED: 'UF',
      WEFT_PROXY_EGRESS_BLOCKED: 'NR',
      WEFT_PROXY_DNS_FAILED: 'DF',
      WEFT_PROXY_DEADLINE_EXCEEDED: 'UT',
      WEFT_PROXY_UPGRADE_FAILED: 'UPE',
      WEFT_PROXY_NO_ROUTE: 'NR',
      WEFT_PROXY_NO_CLUSTER: 'NC',
      WEFT_PROXY_OVERFLOW: 'UO',
      WEFT_PROXY_UPSTREAM_TIMEOUT: 'UT',
      WEFT_PROXY_FAULT_ABORT: 'FI',
    };
    for (const code of PROXY_ERROR_CODES) {
      const r = rescue(new ProxyError(code, 'short reason'));
      assert.equal(r.flag, flags[code], code);
      const value = proxyErrorValue(r);
      assert.equal(value, `${flags[code]} ${code}: short reason`);
      assert.equal(responseFlagOf(value), flags[code]);
    }
    assert.equal(rescue(new Error('x')).flag, 'UR');
  });

  test('reads a flag only from a value that starts with one', () => {
    for (const flag of RESPONSE_FLAGS) assert.equal(responseFlagOf(`${flag} WEFT_X: y`), flag);
    for (const other of ['', 'UH', 'WEFT_PROXY_NO_ENDPOINTS: no endpoints', 'uh WEFT_X: y', 'XX WEFT_X: y', ' UH WEFT_X: y']) {
      assert.equal(responseFlagOf(other), undefined, JSON.stringify(other));
    }
  });
});
