// Vectors for SPIFFE-ID §2 (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md) and
// properties of the parser and formatter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SpiffeIdError, type SpiffeIdRule } from './errors.js';
import {
  formatSpiffeId,
  isSpiffeId,
  MAX_SPIFFE_ID_BYTES,
  MAX_TRUST_DOMAIN_BYTES,
  parseSpiffeId,
  parseTrustDomain,
  trustDomainId,
  workloadOf,
  workloadSpiffeId,
} from './spiffe-id.js';

type Vector =
  | { name: `ok/${string}`; input: string; expect: { trustDomain: string; path: string } }
  | { name: `fail/${string}`; input: string; expect: { rule: SpiffeIdRule; message: string } };

const TD_255 = `${'a'.repeat(251)}.org`;
const TD_256 = `${'a'.repeat(252)}.org`;
const PREFIX = 'spiffe://example.org';
/** A path that makes the whole ID exactly `bytes` long. */
const pathOfLength = (bytes: number): string => `/${'p'.repeat(bytes - PREFIX.length - 1)}`;

const VECTORS: readonly Vector[] = [
  // §1.1 shape
  { name: 'ok/trust domain only (its own ID)', input: 'spiffe://example.org', expect: { trustDomain: 'example.org', path: '' } },
  { name: 'ok/one segment', input: 'spiffe://example.org/workload', expect: { trustDomain: 'example.org', path: '/workload' } },
  { name: 'ok/istio form', input: 'spiffe://cluster.local/ns/default/sa/web', expect: { trustDomain: 'cluster.local', path: '/ns/default/sa/web' } },
  { name: 'fail/empty', input: '', expect: { rule: 'empty', message: 'cannot be empty' } },
  { name: 'fail/no scheme', input: 'example.org/workload', expect: { rule: 'scheme', message: 'scheme is missing or invalid' } },
  { name: 'fail/other scheme', input: 'https://example.org/workload', expect: { rule: 'scheme', message: 'scheme is missing or invalid' } },
  { name: 'fail/one slash after the scheme', input: 'spiffe:/example.org/workload', expect: { rule: 'scheme', message: 'must start with "spiffe://"' } },
  { name: 'fail/uppercase scheme', input: 'SPIFFE://example.org/workload', expect: { rule: 'scheme', message: 'the scheme must be lowercase' } },
  { name: 'fail/mixed-case scheme', input: 'Spiffe://example.org/workload', expect: { rule: 'scheme', message: 'the scheme must be lowercase' } },
  { name: 'fail/leading space', input: ' spiffe://example.org/workload', expect: { rule: 'scheme', message: 'scheme is missing or invalid' } },

  // §1.2 trust domain
  { name: 'ok/trust domain with every allowed character', input: 'spiffe://a-b_c.9z/x', expect: { trustDomain: 'a-b_c.9z', path: '/x' } },
  { name: 'ok/IPv4-looking trust domain is just a name', input: 'spiffe://127.0.0.1/x', expect: { trustDomain: '127.0.0.1', path: '/x' } },
  { name: 'ok/double dot in the trust domain', input: 'spiffe://example..org/x', expect: { trustDomain: 'example..org', path: '/x' } },
  { name: 'ok/leading dash in the trust domain', input: 'spiffe://-example.org/x', expect: { trustDomain: '-example.org', path: '/x' } },
  { name: 'ok/trailing dot in the trust domain', input: 'spiffe://example.org./x', expect: { trustDomain: 'example.org.', path: '/x' } },
  { name: 'ok/255-byte trust domain', input: `spiffe://${TD_255}/x`, expect: { trustDomain: TD_255, path: '/x' } },
  { name: 'fail/256-byte trust domain', input: `spiffe://${TD_256}/x`, expect: { rule: 'trust-domain-too-long', message: 'trust domain is 256 bytes, the limit is 255' } },
  { name: 'fail/missing trust domain', input: 'spiffe:///workload', expect: { rule: 'trust-domain-missing', message: 'trust domain is missing' } },
  { name: 'fail/scheme alone', input: 'spiffe://', expect: { rule: 'trust-domain-missing', message: 'trust domain is missing' } },
  { name: 'fail/uppercase trust domain', input: 'spiffe://Example.org/workload', expect: { rule: 'trust-domain-lowercase', message: 'trust domain must be lowercase' } },
  { name: 'fail/all-uppercase trust domain', input: 'spiffe://EXAMPLE.ORG', expect: { rule: 'trust-domain-lowercase', message: 'trust domain must be lowercase' } },
  { name: 'fail/port', input: 'spiffe://example.org:8443/workload', expect: { rule: 'trust-domain-characters', message: 'found ":" at offset 11' } },
  { name: 'fail/userinfo', input: 'spiffe://user@example.org/workload', expect: { rule: 'trust-domain-characters', message: 'found "@" at offset 4' } },
  { name: 'fail/userinfo with password', input: 'spiffe://user:pw@example.org/w', expect: { rule: 'trust-domain-characters', message: 'found ":"' } },
  { name: 'fail/IPv6 literal', input: 'spiffe://[::1]/workload', expect: { rule: 'trust-domain-characters', message: 'found "[" at offset 0' } },
  { name: 'fail/percent-encoded trust domain', input: 'spiffe://ex%61mple.org/w', expect: { rule: 'trust-domain-characters', message: 'found "%"' } },
  { name: 'fail/non-ASCII trust domain', input: 'spiffe://exämple.org/w', expect: { rule: 'trust-domain-characters', message: 'found U+00E4 at offset 2' } },
  { name: 'fail/emoji trust domain', input: 'spiffe://😀.org/w', expect: { rule: 'trust-domain-characters', message: 'found U+1F600 at offset 0' } },
  { name: 'fail/space in the trust domain', input: 'spiffe://exa mple.org/w', expect: { rule: 'trust-domain-characters', message: 'lowercase letters, numbers, dots, dashes, and underscores' } },
  { name: 'fail/query on the trust domain', input: 'spiffe://example.org?x=1', expect: { rule: 'trust-domain-characters', message: 'found "?"' } },
  { name: 'fail/fragment on the trust domain', input: 'spiffe://example.org#f', expect: { rule: 'trust-domain-characters', message: 'found "#"' } },

  // §1.3 path
  { name: 'ok/uppercase in the path', input: 'spiffe://example.org/MyService/V2', expect: { trustDomain: 'example.org', path: '/MyService/V2' } },
  { name: 'ok/segment starting with a dot', input: 'spiffe://example.org/.path', expect: { trustDomain: 'example.org', path: '/.path' } },
  { name: 'ok/segment starting with two dots', input: 'spiffe://example.org/..path', expect: { trustDomain: 'example.org', path: '/..path' } },
  { name: 'ok/three dots', input: 'spiffe://example.org/...', expect: { trustDomain: 'example.org', path: '/...' } },
  { name: 'ok/dashes, underscores and digits', input: 'spiffe://example.org/a-b_c/0.9', expect: { trustDomain: 'example.org', path: '/a-b_c/0.9' } },
  { name: 'fail/trailing slash after the trust domain', input: 'spiffe://example.org/', expect: { rule: 'path-trailing-slash', message: 'path cannot have a trailing slash' } },
  { name: 'fail/trailing slash after a segment', input: 'spiffe://example.org/a/', expect: { rule: 'path-trailing-slash', message: 'path cannot have a trailing slash' } },
  { name: 'fail/empty segment', input: 'spiffe://example.org//a', expect: { rule: 'path-empty-segment', message: 'path cannot contain empty segments' } },
  { name: 'fail/empty segment in the middle', input: 'spiffe://example.org/a//b', expect: { rule: 'path-empty-segment', message: 'path cannot contain empty segments' } },
  { name: 'fail/dot segment', input: 'spiffe://example.org/./a', expect: { rule: 'path-dot-segment', message: 'path cannot contain dot segments' } },
  { name: 'fail/dot-dot segment', input: 'spiffe://example.org/a/../b', expect: { rule: 'path-dot-segment', message: 'path cannot contain dot segments' } },
  { name: 'fail/final dot segment', input: 'spiffe://example.org/a/.', expect: { rule: 'path-dot-segment', message: 'path cannot contain dot segments' } },
  { name: 'fail/final dot-dot segment', input: 'spiffe://example.org/a/..', expect: { rule: 'path-dot-segment', message: 'path cannot contain dot segments' } },
  { name: 'fail/percent-encoding in the path', input: 'spiffe://example.org/a%20b', expect: { rule: 'path-characters', message: 'percent-encoding is not allowed' } },
  { name: 'fail/query', input: 'spiffe://example.org/a?x=1', expect: { rule: 'path-characters', message: 'found "?" at offset 2' } },
  { name: 'fail/fragment', input: 'spiffe://example.org/a#frag', expect: { rule: 'path-characters', message: 'found "#"' } },
  { name: 'fail/non-ASCII path', input: 'spiffe://example.org/café', expect: { rule: 'path-characters', message: 'found U+00E9 at offset 4' } },
  { name: 'fail/space in the path', input: 'spiffe://example.org/a b', expect: { rule: 'path-characters', message: 'letters, numbers, dots, dashes, and underscores' } },
  { name: 'fail/tilde', input: 'spiffe://example.org/~user', expect: { rule: 'path-characters', message: 'found "~"' } },
  { name: 'fail/sub-delims', input: 'spiffe://example.org/a;b=c', expect: { rule: 'path-characters', message: 'found ";"' } },
  { name: 'fail/colon in the path', input: 'spiffe://example.org/a:b', expect: { rule: 'path-characters', message: 'found ":"' } },
  { name: 'fail/backslash', input: 'spiffe://example.org/a\\b', expect: { rule: 'path-characters', message: 'found "\\"' } },
  { name: 'fail/NUL byte', input: 'spiffe://example.org/a\u0000', expect: { rule: 'path-characters', message: 'found U+0000' } },
  { name: 'fail/empty segment reported before a later bad character', input: 'spiffe://example.org//a?', expect: { rule: 'path-empty-segment', message: 'empty segments' } },

  // §1.4 length
  { name: 'ok/2048-byte ID', input: `${PREFIX}${pathOfLength(MAX_SPIFFE_ID_BYTES)}`, expect: { trustDomain: 'example.org', path: pathOfLength(MAX_SPIFFE_ID_BYTES) } },
  { name: 'fail/2049-byte ID', input: `${PREFIX}${pathOfLength(MAX_SPIFFE_ID_BYTES + 1)}`, expect: { rule: 'too-long', message: 'is 2049 bytes, the limit is 2048' } },
];

describe('SPIFFE-ID vectors', () => {
  test('the length vectors are as long as they claim', () => {
    assert.equal(TD_255.length, MAX_TRUST_DOMAIN_BYTES);
    assert.equal(TD_256.length, MAX_TRUST_DOMAIN_BYTES + 1);
    assert.equal(`${PREFIX}${pathOfLength(MAX_SPIFFE_ID_BYTES)}`.length, MAX_SPIFFE_ID_BYTES);
  });

  for (const v of VECTORS) {
    test(v.name, () => {
      if (v.name.startsWith('ok/')) {
        const expect = v.expect as { trustDomain: string; path: string };
        const id = parseSpiffeId(v.input);
        assert.deepEqual(id, { trustDomain: expect.trustDomain, path: expect.path, text: v.input });
        assert.equal(isSpiffeId(v.input), true);
        return;
      }
      const expect = v.expect as { rule: SpiffeIdRule; message: string };
      const err = catchError(() => parseSpiffeId(v.input));
      assert.ok(err instanceof SpiffeIdError, `expected a SpiffeIdError, got ${String(err)}`);
      assert.equal(err.code, 'WEFT_SPIFFE_ID_INVALID');
      assert.equal(err.rule, expect.rule);
      assert.ok(err.message.includes(expect.message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(expect.message)}`);
      assert.ok(err.message.startsWith('invalid SPIFFE ID '), err.message);
      assert.equal(err.input, v.input);
      assert.equal(isSpiffeId(v.input), false);
    });
  }
});

describe('parseTrustDomain', () => {
  const cases: { name: string; input: string; rule?: SpiffeIdRule }[] = [
    { name: 'ok/dns name', input: 'cluster.local' },
    { name: 'ok/255 bytes', input: TD_255 },
    { name: 'fail/empty', input: '', rule: 'trust-domain-missing' },
    { name: 'fail/uppercase', input: 'Cluster.local', rule: 'trust-domain-lowercase' },
    { name: 'fail/a full SPIFFE ID', input: 'spiffe://cluster.local', rule: 'trust-domain-characters' },
    { name: 'fail/with a path', input: 'cluster.local/ns', rule: 'trust-domain-characters' },
    { name: 'fail/port', input: 'cluster.local:443', rule: 'trust-domain-characters' },
    { name: 'fail/256 bytes', input: TD_256, rule: 'trust-domain-too-long' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.rule === undefined) {
        assert.equal(parseTrustDomain(c.input), c.input);
        return;
      }
      const err = catchError(() => parseTrustDomain(c.input));
      assert.ok(err instanceof SpiffeIdError);
      assert.equal(err.code, 'WEFT_TRUST_DOMAIN_INVALID');
      assert.equal(err.rule, c.rule);
      assert.match(err.message, /^invalid trust domain /);
    });
  }

  test('trustDomainId is the trust domain with no path', () => {
    assert.deepEqual(trustDomainId('example.org'), { trustDomain: 'example.org', path: '', text: 'spiffe://example.org' });
    assert.throws(() => trustDomainId('Example.org'), { code: 'WEFT_TRUST_DOMAIN_INVALID' });
  });

  test('arguments that are not strings are programmer errors', () => {
    assert.throws(() => parseSpiffeId(42 as unknown as string), TypeError);
    assert.throws(() => parseTrustDomain(undefined as unknown as string), TypeError);
  });
});

describe('formatSpiffeId, workloadSpiffeId and workloadOf', () => {
  test('ok/formats segments under the trust domain', () => {
    assert.equal(formatSpiffeId('example.org', ['a', 'B', '.c']).text, 'spiffe://example.org/a/B/.c');
    assert.equal(formatSpiffeId('example.org').text, 'spiffe://example.org');
  });

  const bad: { name: string; segments: string[]; rule: SpiffeIdRule }[] = [
    { name: 'fail/segment with a slash', segments: ['a/b'], rule: 'path-characters' },
    { name: 'fail/empty segment', segments: ['a', ''], rule: 'path-trailing-slash' },
    { name: 'fail/empty segment in the middle', segments: ['', 'a'], rule: 'path-empty-segment' },
    { name: 'fail/dot segment', segments: ['.'], rule: 'path-dot-segment' },
    { name: 'fail/dot-dot segment', segments: ['a', '..'], rule: 'path-dot-segment' },
    { name: 'fail/query character', segments: ['a?b'], rule: 'path-characters' },
  ];
  for (const c of bad) {
    test(c.name, () => {
      assert.throws(() => formatSpiffeId('example.org', c.segments), (err: unknown) => err instanceof SpiffeIdError && err.rule === c.rule);
    });
  }

  test('ok/workloadSpiffeId builds the Istio form and workloadOf reads it back', () => {
    const id = workloadSpiffeId('cluster.local', 'default', 'web');
    assert.equal(id.text, 'spiffe://cluster.local/ns/default/sa/web');
    assert.deepEqual(workloadOf(id), { namespace: 'default', serviceAccount: 'web' });
  });

  test('fail/workloadSpiffeId refuses names that are not path segments', () => {
    assert.throws(() => workloadSpiffeId('cluster.local', 'a/b', 'web'), SpiffeIdError);
    assert.throws(() => workloadSpiffeId('cluster.local', 'default', ''), SpiffeIdError);
    assert.throws(() => workloadSpiffeId('Cluster.local', 'default', 'web'), SpiffeIdError);
  });

  for (const text of ['spiffe://td', 'spiffe://td/ns/default', 'spiffe://td/ns/default/sa', 'spiffe://td/ns/default/sa/web/extra', 'spiffe://td/x/default/sa/web', 'spiffe://td/NS/default/sa/web']) {
    test(`workloadOf is undefined for ${text}`, () => {
      assert.equal(workloadOf(parseSpiffeId(text)), undefined);
    });
  }
});

// === properties ===

const TD_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split('');
const PATH_CHARS = [...TD_CHARS, ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('')];
const trustDomainArb = fc.string({ unit: fc.constantFrom(...TD_CHARS), minLength: 1, maxLength: 80 });
const segmentArb = fc.string({ unit: fc.constantFrom(...PATH_CHARS), minLength: 1, maxLength: 40 }).filter((s) => s !== '.' && s !== '..');
const segmentsArb = fc.array(segmentArb, { maxLength: 12 });

describe('SPIFFE-ID properties', () => {
  test('every ID formatted from a valid trust domain and segments parses back to the same parts', () => {
    fc.assert(
      fc.property(trustDomainArb, segmentsArb, (td, segments) => {
        const id = formatSpiffeId(td, segments);
        const again = parseSpiffeId(id.text);
        assert.deepEqual(again, id);
        assert.equal(again.trustDomain, td);
        assert.equal(again.path, segments.map((s) => `/${s}`).join(''));
        assert.equal(again.text, `spiffe://${td}${again.path}`);
        assert.equal(parseTrustDomain(td), td);
      }),
      { numRuns: 500 },
    );
  });

  test('an uppercase letter anywhere in the trust domain is refused', () => {
    fc.assert(
      fc.property(trustDomainArb, fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('')), (td, at, upper) => {
        const i = at % (td.length + 1);
        const bad = `${td.slice(0, i)}${upper}${td.slice(i)}`;
        assert.throws(() => parseSpiffeId(`spiffe://${bad}/x`), (err: unknown) => err instanceof SpiffeIdError && err.rule === 'trust-domain-lowercase');
        assert.throws(() => parseTrustDomain(bad), (err: unknown) => err instanceof SpiffeIdError && err.rule === 'trust-domain-lowercase');
      }),
    );
  });

  const anyText = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }).map((s) => `spiffe://${s}`),
    fc.tuple(trustDomainArb, fc.string({ unit: 'binary' })).map(([td, s]) => `spiffe://${td}/${s}`),
    fc.tuple(trustDomainArb, fc.array(fc.constantFrom('/', '.', '..', '%2F', '?', '#', 'a', 'Z'), { maxLength: 10 })).map(([td, parts]) => `spiffe://${td}${parts.join('')}`),
  );

  test('any text either parses or throws a SpiffeIdError, never anything else', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          const id = parseSpiffeId(text);
          assert.equal(id.text, text);
          assert.ok(/^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(text), `accepted ${JSON.stringify(text)}`);
        } catch (err) {
          if (!(err instanceof SpiffeIdError)) throw err;
          assert.equal(err.code, 'WEFT_SPIFFE_ID_INVALID');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('any text is a trust domain or a SpiffeIdError, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), trustDomainArb), (text) => {
        try {
          assert.equal(parseTrustDomain(text), text);
        } catch (err) {
          if (!(err instanceof SpiffeIdError)) throw err;
          assert.equal(err.code, 'WEFT_TRUST_DOMAIN_INVALID');
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('workloadOf reads back whatever workloadSpiffeId wrote', () => {
    fc.assert(
      fc.property(trustDomainArb, segmentArb, segmentArb, (td, ns, sa) => {
        assert.deepEqual(workloadOf(workloadSpiffeId(td, ns, sa)), { namespace: ns, serviceAccount: sa });
      }),
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}
