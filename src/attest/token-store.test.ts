import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { isWeftError } from '../lib/errors.js';
import { JoinTokenError, JoinTokenStoreError } from './errors.js';
import { CA, EXPECT, tempDir, tempStore, TD } from './testing/fixtures.js';
import { JoinTokenStore } from './token-store.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
function env() {
  const e = tempStore();
  cleanups.push(e.cleanup);
  return e;
}
const base = { trustDomain: TD, namespace: 'default', serviceAccount: 'web', caFingerprint: CA };
const tokensJson = (dir: string) => join(dir, 'tokens', 'tokens.json');
const keyPem = (dir: string) => join(dir, 'tokens', 'signing-key.pem');

describe('JoinTokenStore#create', () => {
  test('ok/creates a token naming exactly the requested identity, 24h by default, reusable by default', () => {
    const { store } = env();
    const c = store.create(base);
    assert.equal(c.spiffeId, `spiffe://${TD}/ns/default/sa/web`);
    assert.equal(c.expiresAt.toISOString(), '2026-01-02T00:00:00.000Z');
    assert.equal(c.once, false);
    assert.match(c.id, /^[\w-]{22}$/);
    assert.equal(c.token.split('.').length, 3);
  });

  test('ok/ttl and once are honoured', () => {
    const { store } = env();
    const c = store.create({ ...base, ttlMs: 15 * 60_000, once: true });
    assert.equal(c.expiresAt.toISOString(), '2026-01-01T00:15:00.000Z');
    assert.equal(c.once, true);
  });

  test('ok/every token gets a distinct id', () => {
    const { store } = env();
    const ids = new Set(Array.from({ length: 50 }, () => store.create(base).id));
    assert.equal(ids.size, 50);
  });

  const refused: [string, Partial<typeof base> & { ttlMs?: number; once?: unknown }, (err: unknown) => boolean][] = [
    ['fail/a namespace with a space', { namespace: 'my ns' }, (e) => isWeftError(e, 'WEFT_SPIFFE_ID_INVALID') && /path segment characters/.test((e as Error).message)],
    ['fail/a namespace with a slash', { namespace: 'a/b' }, (e) => isWeftError(e, 'WEFT_SPIFFE_ID_INVALID')],
    ['fail/an empty service account', { serviceAccount: '' }, (e) => isWeftError(e, 'WEFT_SPIFFE_ID_INVALID')],
    ['fail/a dot-dot service account', { serviceAccount: '..' }, (e) => isWeftError(e, 'WEFT_SPIFFE_ID_INVALID')],
    ['fail/a percent-encoded service account', { serviceAccount: 'a%2Fb' }, (e) => isWeftError(e, 'WEFT_SPIFFE_ID_INVALID')],
    ['fail/an uppercase trust domain', { trustDomain: 'Cluster.local' }, (e) => isWeftError(e, 'WEFT_SPIFFE_ID_INVALID')],
    ['fail/a fingerprint without the sha256: prefix', { caFingerprint: 'ab'.repeat(32) }, (e) => e instanceof TypeError && /"caFingerprint"/.test(e.message)],
    ['fail/an uppercase-hex fingerprint', { caFingerprint: `sha256:${'AB'.repeat(32)}` }, (e) => e instanceof TypeError],
    ['fail/a short fingerprint', { caFingerprint: 'sha256:abcd' }, (e) => e instanceof TypeError],
    [
      'fail/ttl 0',
      { ttlMs: 0 },
      (e) => isWeftError(e, 'WEFT_TOKEN_TTL_INVALID') && (e as Error).message === 'invalid join token ttl 0ms: it must be more than 0s and at most 30d',
    ],
    ['fail/a negative ttl', { ttlMs: -1000 }, (e) => isWeftError(e, 'WEFT_TOKEN_TTL_INVALID')],
    ['fail/a NaN ttl', { ttlMs: Number.NaN }, (e) => isWeftError(e, 'WEFT_TOKEN_TTL_INVALID')],
    [
      'fail/a ttl over 30 days',
      { ttlMs: 31 * 86_400_000 },
      (e) => isWeftError(e, 'WEFT_TOKEN_TTL_INVALID') && /ttl 31d: it must be more than 0s and at most 30d/.test((e as Error).message),
    ],
    ['fail/once that is not a boolean', { once: 'yes' }, (e) => e instanceof TypeError],
  ];
  for (const [name, over, check] of refused) {
    test(`${name} is refused and nothing is written`, () => {
      const { store, dir } = env();
      assert.throws(() => store.create({ ...base, ...over } as typeof base), check);
      assert.equal(existsSync(join(dir, 'tokens')), false);
    });
  }

  test('ok/a ttl of exactly 30 days is accepted', () => {
    const { store } = env();
    assert.equal(store.create({ ...base, ttlMs: 30 * 86_400_000 }).expiresAt.toISOString(), '2026-01-31T00:00:00.000Z');
  });
});

describe('JoinTokenStore files', () => {
  test('signing-key.pem and tokens.json are mode 0600 in a 0700 directory', () => {
    const { store, dir } = env();
    store.create(base);
    assert.equal(statSync(keyPem(dir)).mode & 0o777, 0o600);
    assert.equal(statSync(tokensJson(dir)).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'tokens')).mode & 0o777, 0o700);
    assert.match(readFileSync(keyPem(dir), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(existsSync(join(dir, 'tokens', 'tokens.lock')), false);
  });

  test('the token text never appears in tokens.json, only its id and metadata', () => {
    const { store, dir } = env();
    const c = store.create({ ...base, once: true });
    store.verify(c.token, EXPECT);
    const text = readFileSync(tokensJson(dir), 'utf8');
    for (const part of c.token.split('.')) assert.ok(!text.includes(part), 'a token segment is in tokens.json');
    assert.deepEqual(JSON.parse(text), {
      version: 1,
      tokens: [
        {
          id: c.id,
          spiffeId: c.spiffeId,
          caFingerprint: CA,
          createdAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-01-02T00:00:00.000Z',
          once: true,
          usedAt: '2026-01-01T00:00:00.000Z',
        },
      ],
    });
  });

  test('opening a data directory creates nothing; the key is made on the first create', () => {
    const { store, dir } = env();
    assert.deepEqual(store.list(), []);
    assert.equal(existsSync(join(dir, 'tokens')), false);
  });

  test('tokens, states and the signing key persist across re-open', () => {
    const { store, dir, clock } = env();
    const a = store.create(base);
    const b = store.create({ ...base, serviceAccount: 'db', once: true });
    store.verify(b.token, EXPECT);
    const key = readFileSync(keyPem(dir), 'utf8');
    const again = JoinTokenStore.open(dir, { clock });
    assert.deepEqual(again.list().map((r) => [r.id, r.state]), [[a.id, 'active'], [b.id, 'used']]);
    assert.equal(again.verify(a.token, EXPECT).spiffeId, a.spiffeId);
    again.create(base);
    assert.equal(readFileSync(keyPem(dir), 'utf8'), key, 'the key is reused, not replaced');
  });

  test('fail/a corrupt tokens.json is refused at open naming the file', () => {
    const { store, dir } = env();
    store.create(base);
    writeFileSync(tokensJson(dir), '{"version":1,"tokens":[{"id":1}]}');
    assert.throws(
      () => JoinTokenStore.open(dir),
      (e) => e instanceof JoinTokenStoreError && e.code === 'WEFT_TOKEN_STORE_CORRUPT' && e.path === tokensJson(dir) && /tokens\[0\]: id must be a string/.test(e.message),
    );
    writeFileSync(tokensJson(dir), 'not json');
    assert.throws(() => JoinTokenStore.open(dir), (e) => isWeftError(e, 'WEFT_TOKEN_STORE_CORRUPT'));
  });

  test('fail/a signing key that is not P-256 is refused', () => {
    const { store, dir } = env();
    store.create(base);
    writeFileSync(keyPem(dir), 'garbage');
    assert.throws(() => JoinTokenStore.open(dir), (e) => isWeftError(e, 'WEFT_TOKEN_STORE_CORRUPT') && /token-signing key/.test((e as Error).message));
  });
});

describe('JoinTokenStore#list and #revoke', () => {
  test('list shows each token with its state now: active, expired, revoked, used', () => {
    const { store, clock } = env();
    const active = store.create(base);
    const expiring = store.create({ ...base, ttlMs: 1000 });
    const revoked = store.create(base);
    const used = store.create({ ...base, once: true });
    store.revoke(revoked.id);
    store.verify(used.token, EXPECT);
    clock.advance(1000);
    assert.deepEqual(
      store.list().map((r) => [r.id, r.state]),
      [[active.id, 'active'], [expiring.id, 'expired'], [revoked.id, 'revoked'], [used.id, 'used']],
    );
  });

  test('revoke returns the record and is idempotent: a second revoke keeps the first time', () => {
    const { store, clock } = env();
    const c = store.create(base);
    const first = store.revoke(c.id);
    assert.equal(first.state, 'revoked');
    assert.equal(first.revokedAt, '2026-01-01T00:00:00.000Z');
    assert.equal(first.spiffeId, c.spiffeId);
    clock.advance(60_000);
    assert.deepEqual(store.revoke(c.id), first);
  });

  test('fail/revoking an unknown id is WEFT_TOKEN_NOT_FOUND naming the id', () => {
    const { store } = env();
    store.create(base);
    assert.throws(
      () => store.revoke('AAAAAAAAAAAAAAAAAAAAAA'),
      (e) => isWeftError(e, 'WEFT_TOKEN_NOT_FOUND') && (e as Error).message === 'no join token has id AAAAAAAAAAAAAAAAAAAAAA (see weft token list)',
    );
  });

  test('fail/passing the token itself to revoke does not echo it', () => {
    const { store } = env();
    const c = store.create(base);
    assert.throws(() => store.revoke(c.token), (e) => isWeftError(e, 'WEFT_TOKEN_NOT_FOUND') && !(e as Error).message.includes(c.token.split('.')[1]!));
  });

  test('a token created by another store instance can be listed and revoked here', () => {
    const { store, dir, clock } = env();
    store.list();
    const c = JoinTokenStore.open(dir, { clock }).create(base);
    assert.equal(store.revoke(c.id).state, 'revoked');
  });
});

describe('JoinTokenStore locking', () => {
  test('a lock left by a dead process is taken over', () => {
    const { store, dir } = env();
    store.create(base);
    const lock = join(dir, 'tokens', 'tokens.lock');
    writeFileSync(lock, '2147483646\n');
    assert.equal(store.create(base).once, false);
    assert.equal(existsSync(lock), false);
  });

  test('fail/a lock held by a live process makes a change fail with WEFT_TOKEN_STORE_BUSY after about two seconds', () => {
    const { store, dir } = env();
    const c = store.create(base);
    writeFileSync(join(dir, 'tokens', 'tokens.lock'), `${process.ppid}\n`);
    assert.throws(() => store.revoke(c.id), (e) => isWeftError(e, 'WEFT_TOKEN_STORE_BUSY') && /tokens\.lock/.test((e as Error).message));
    // Reads do not take the lock.
    assert.equal(store.verify(c.token, EXPECT).tokenId, c.id);
  });

  test('a --once token presented to several processes at once is accepted by exactly one', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = JoinTokenStore.open(dir);
    const c = store.create({ ...base, once: true });
    const attest = fileURLToPath(new URL('./index.ts', import.meta.url));
    const go = join(dir, 'go');
    // Each child loads everything, says "ready", then spins until the go file appears, so the
    // verifications overlap as much as processes allow.
    const script = `
      import { existsSync } from 'node:fs';
      import { JoinTokenStore } from ${JSON.stringify(attest)};
      const [dir, token, td, ca, go] = process.argv.slice(-5);
      const store = JoinTokenStore.open(dir);
      process.stdout.write('ready\\n');
      while (!existsSync(go)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      try { store.verify(token, { trustDomain: td, caFingerprint: ca }); process.stdout.write('ok'); }
      catch (e) { process.stdout.write(e.code ?? String(e)); }`;
    let ready = 0;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const args = ['--import', 'tsx', '--input-type=module', '-e', script, dir, c.token, TD, CA, go];
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (d.toString().startsWith('ready') && ++ready === 4) writeFileSync(go, '');
        });
        child.on('error', reject);
        child.on('close', () => resolve(out.replace('ready\n', '')));
      });
    const results = (await Promise.all([run(), run(), run(), run()])).sort();
    assert.deepEqual(results, ['WEFT_TOKEN_REUSED', 'WEFT_TOKEN_REUSED', 'WEFT_TOKEN_REUSED', 'ok']);
    assert.throws(() => store.verify(c.token, EXPECT), (e) => e instanceof JoinTokenError && e.code === 'WEFT_TOKEN_REUSED');
  });
});
