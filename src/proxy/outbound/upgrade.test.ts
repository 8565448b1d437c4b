import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROTOCOL_TOKEN } from '../inbound/upgrade.js';
import { upgradeToken } from './upgrade.js';

describe('upgradeToken', () => {
  test('one protocol, with or without a version, is carried as given', () => {
    assert.deepEqual(upgradeToken('websocket'), { token: 'websocket' });
    assert.deepEqual(upgradeToken(' foo/1 '), { token: 'foo/1' });
    assert.deepEqual(upgradeToken('WebSocket'), { token: 'WebSocket' });
  });

  test('nothing, several protocols or a non-token are refused with a reason', () => {
    for (const bad of [undefined, '', '  ', 'websocket, foo/2', 'web socket', 'foo/1/2', 'a\u0000b', 'foo/']) {
      const r = upgradeToken(bad);
      assert.ok('reason' in r, String(bad));
    }
  });

  test('every token the outbound side sends, the inbound side accepts', () => {
    for (const t of ['websocket', 'foo/1', 'x-custom.proto_2/v1~a']) {
      const r = upgradeToken(t);
      assert.ok('token' in r && PROTOCOL_TOKEN.test(r.token), t);
    }
  });
});
