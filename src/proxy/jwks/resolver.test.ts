import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FrozenClock } from '../../lib/clock.js';
import type { JwksSource } from '../../policy/jwt/index.js';
import { jwksOf, signingKey, type SigningKey } from '../../policy/jwt/testing/fixtures.js';
import type { Logger } from '../../telemetry/logger.js';
import { JwksResolver } from './index.js';

// A real HTTP server on 127.0.0.1 whose answer each test sets: a JWKS, a status, garbage, silence.
let server: Server;
let base: string;
let answer: { status: number; body: string } | 'hang' = { status: 200, body: '' };
let hits = 0;
let k1: SigningKey;
let k2: SigningKey;

before(async () => {
  k1 = await signingKey('ES256', 'k1');
  k2 = await signingKey('RS256', 'k2');
  server = createServer((_req, res) => {
    hits++;
    if (answer === 'hang') return; // never answers; the resolver's deadline must fire
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  hits = 0;
  answer = { status: 200, body: jwksOf(k1) };
});

const source = (timeoutMs = 2_000): JwksSource => ({ kind: 'uri', uri: `${base}/jwks`, timeoutMs });

function setup(options: { cooldown?: number; interval?: number } = {}) {
  const clock = new FrozenClock();
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = { log: (level, event, fields = {}) => events.push({ level, event, fields }) };
  const resolver = new JwksResolver({ clock, logger, refreshCooldownMs: options.cooldown ?? 30_000, refreshIntervalMs: options.interval ?? 1_200_000 });
  return { clock, events, resolver };
}

describe('JwksResolver', () => {
  test('fetches on first use, then answers from the cache', async () => {
    const { resolver } = setup();
    assert.equal((await resolver.lookup(source(), 'ES256', 'k1')).kind, 'keys');
    assert.equal((await resolver.lookup(source(), 'ES256', 'k1')).kind, 'keys');
    assert.equal(hits, 1);
  });

  test('concurrent first lookups share one fetch', async () => {
    const { resolver } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => resolver.lookup(source(), 'ES256', 'k1')));
    assert.ok(results.every((r) => r.kind === 'keys'));
    assert.equal(hits, 1);
  });

  test('an unknown kid refreshes once per cooldown, so a flood of made-up kids costs one fetch', async () => {
    const { resolver, clock } = setup({ cooldown: 30_000 });
    await resolver.lookup(source(), 'ES256', 'k1');
    clock.advance(30_000);
    for (let i = 0; i < 50; i++) assert.equal((await resolver.lookup(source(), 'ES256', `made-up-${i}`)).kind, 'no-match');
    assert.equal(hits, 2, 'one initial fetch and one refresh for the whole flood');
    clock.advance(29_999);
    await resolver.lookup(source(), 'ES256', 'still-made-up');
    assert.equal(hits, 2);
    clock.advance(1);
    await resolver.lookup(source(), 'ES256', 'still-made-up');
    assert.equal(hits, 3);
  });

  test('a rotated key is picked up on its first token once the cooldown allows a fetch', async () => {
    const { resolver, clock } = setup();
    await resolver.lookup(source(), 'ES256', 'k1');
    answer = { status: 200, body: jwksOf(k2) };
    assert.equal((await resolver.lookup(source(), 'RS256', 'k2')).kind, 'no-match', 'inside the cooldown of the first fetch');
    clock.advance(30_000);
    assert.equal((await resolver.lookup(source(), 'RS256', 'k2')).kind, 'keys');
    assert.equal((await resolver.lookup(source(), 'ES256', 'k1')).kind, 'no-match', 'the old key left the set');
  });

  test('refreshes periodically: refreshStale fetches only sets older than the interval', async () => {
    const { resolver, clock } = setup({ interval: 1_200_000 });
    await resolver.prefetch([source()]);
    assert.equal(hits, 1);
    clock.advance(1_199_999);
    await resolver.refreshStale();
    assert.equal(hits, 1);
    clock.advance(1);
    answer = { status: 200, body: jwksOf(k1, k2) };
    await resolver.refreshStale();
    assert.equal(hits, 2);
    assert.deepEqual(resolver.status()[0]!.kids, ['k1', 'k2']);
  });

  test('a lookup on a stale set answers from the cache and refreshes in the background', async () => {
    const { resolver, clock } = setup({ interval: 60_000 });
    await resolver.lookup(source(), 'ES256', 'k1');
    clock.advance(60_000);
    assert.equal((await resolver.lookup(source(), 'ES256', 'k1')).kind, 'keys');
    await resolver.prefetch([source()]); // waits for the refresh under way
    assert.equal(hits, 2);
  });

  test('a failed refresh keeps the last good set and is logged', async () => {
    const { resolver, clock, events } = setup({ interval: 60_000 });
    await resolver.lookup(source(), 'ES256', 'k1');
    for (const bad of [{ status: 500, body: 'oops' }, { status: 200, body: 'not json' }, { status: 200, body: '{"keys":[]}' }]) {
      answer = bad;
      clock.advance(60_000);
      await resolver.refreshStale();
      assert.equal((await resolver.lookup(source(), 'ES256', 'k1')).kind, 'keys', JSON.stringify(bad));
    }
    const failures = events.filter((e) => e.event === 'jwks.fetch.failed');
    assert.equal(failures.length, 3);
    assert.ok(failures.every((e) => e.level === 'warn' && e.fields.keptLastGood === true));
    assert.match(String(failures[0]!.fields.error), /status 500 \(WEFT_JWKS_FETCH_FAILED\)/);
    assert.match(String(failures[1]!.fields.error), /not valid json \(WEFT_JWKS_INVALID\)/);
    assert.equal(resolver.status()[0]!.failures, 3);
  });

  test('a source that never fetched answers unavailable, and retries only after the cooldown', async () => {
    const { resolver, clock } = setup();
    answer = { status: 503, body: '' };
    const r = await resolver.lookup(source(), 'ES256', 'k1');
    assert.equal(r.kind, 'unavailable');
    assert.match(r.kind === 'unavailable' ? r.detail : '', /status 503/);
    await resolver.lookup(source(), 'ES256', 'k1');
    assert.equal(hits, 1);
    answer = { status: 200, body: jwksOf(k1) };
    clock.advance(30_000);
    assert.equal((await resolver.lookup(source(), 'ES256', 'k1')).kind, 'keys');
  });

  test('a fetch that does not answer in time fails with the timeout', async () => {
    const { resolver } = setup();
    answer = 'hang';
    const r = await resolver.lookup(source(150), 'ES256', 'k1');
    assert.match(r.kind === 'unavailable' ? r.detail : r.kind, /timed out after 150 ms/);
  });

  test('a body over the cap, a refused connection and a non-http url fail', async () => {
    const clock = new FrozenClock();
    const resolver = new JwksResolver({ clock, maxBodyBytes: 100 });
    const results = [
      await resolver.lookup(source(), 'ES256', 'k1'),
      await resolver.lookup({ kind: 'uri', uri: 'http://127.0.0.1:1/jwks', timeoutMs: 2_000 }, 'ES256', 'k1'),
      await resolver.lookup({ kind: 'uri', uri: 'file:///etc/passwd', timeoutMs: 2_000 }, 'ES256', 'k1'),
    ].map((r) => (r.kind === 'unavailable' ? r.detail : r.kind));
    assert.match(results[0]!, /larger than 100 bytes/);
    assert.match(results[1]!, /jwks fetch failed/);
    assert.match(results[2]!, /scheme file: is not http or https/);
  });

  test('OpenID discovery finds jwks_uri on the issuer', async () => {
    const { resolver } = setup();
    answer = { status: 200, body: JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }) };
    const discovery: JwksSource = { kind: 'discovery', issuer: `${base}/`, timeoutMs: 2_000 };
    // The same server answers both documents; a discovery document is not a JWKS, so point it at itself first.
    const r = await resolver.lookup(discovery, 'ES256', 'k1');
    assert.match(r.kind === 'unavailable' ? r.detail : '', /jwks has no "keys" array/);
    assert.equal(hits, 2, 'discovery document, then jwks_uri');
    answer = { status: 200, body: JSON.stringify({ issuer: base }) };
    const noUri = await new JwksResolver().lookup(discovery, 'ES256', 'k1');
    assert.match(noUri.kind === 'unavailable' ? noUri.detail : '', /no http\(s\) jwks_uri/);
  });

  test('inline sets are parsed once; an invalid one is unavailable', async () => {
    const { resolver, events } = setup();
    const inline: JwksSource = { kind: 'inline', jwks: jwksOf(k1) };
    await resolver.prefetch([inline]);
    assert.equal((await resolver.lookup(inline, 'ES256', 'k1')).kind, 'keys');
    assert.equal((await resolver.lookup(inline, 'ES256', 'k9')).kind, 'no-match');
    assert.equal((await resolver.lookup({ kind: 'inline', jwks: '{' }, 'ES256', 'k1')).kind, 'unavailable');
    await resolver.lookup({ kind: 'inline', jwks: '{' }, 'ES256', 'k1');
    assert.equal(events.filter((e) => e.event === 'jwks.inline.invalid').length, 1);
    assert.equal(hits, 0);
  });

  test('retain forgets sources a snapshot dropped', async () => {
    const { resolver } = setup();
    await resolver.prefetch([source()]);
    resolver.retain([]);
    assert.deepEqual(resolver.status(), []);
    await resolver.lookup(source(), 'ES256', 'k1');
    assert.equal(hits, 2);
  });

  test('start and close manage the background timer', () => {
    const { resolver } = setup();
    resolver.start();
    resolver.start();
    resolver.close();
    resolver.close();
  });
});
