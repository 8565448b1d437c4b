// A token id is typed on command lines (`weft token revoke ID`): it never starts with "-", which
// a shell command would read as a flag.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { buildJoinToken } from './create-join-token.js';
import { TOKEN_ID_PATTERN } from './join-token.js';
import { jwkThumbprint } from './signing-key.js';
import { CA, TD } from './testing/fixtures.js';

test('token ids are 22 base64url characters and never start with "-"', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = { privateKey, publicKey, kid: jwkThumbprint(publicKey) };
  const opts = { trustDomain: TD, namespace: 'default', serviceAccount: 'web', ttlMs: 60_000, once: true, caFingerprint: CA };
  // 2000 draws: with 1 in 64 starting with "-", about 31 would without the redraw.
  for (let i = 0; i < 2000; i++) {
    const { created } = buildJoinToken(opts, 1_767_225_600_000, key);
    assert.match(created.id, TOKEN_ID_PATTERN);
    assert.ok(!created.id.startsWith('-'), created.id);
  }
});
