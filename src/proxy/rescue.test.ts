import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROXY_ERROR_CODES, ProxyError } from './errors.js';
import { rescue } from './rescue.js';

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
});
