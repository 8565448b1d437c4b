import { after, describe } from 'node:test';
import { b64, partsOf, resign, TD } from './testing/fixtures.js';
import { cleanupAll, runVerifyCases, signingKey, web, type Env, type VerifyCase } from './testing/verify-cases.js';

after(cleanupAll);

function without(claims: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...claims };
  delete copy[name];
  return copy;
}

/** Validly signed tokens whose claims break one rule each. */
function claimCases(): VerifyCase[] {
  const bad: [string, (c: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
    ['jti missing', (c) => without(c, 'jti'), /^join token is malformed: claim "jti" must be a 128-bit base64url id$/],
    ['jti too short', (c) => ({ ...c, jti: 'abc' }), /claim "jti"/],
    ['sub not a SPIFFE ID', (c) => ({ ...c, sub: 'web' }), /^join token [\w-]{22} is malformed: claim "sub" is not a valid SPIFFE ID$/],
    ['sub not a workload ID', (c) => ({ ...c, sub: `spiffe://${TD}/web` }), /claim "sub" is not a workload ID/],
    ['iss of another trust domain than sub', (c) => ({ ...c, iss: 'spiffe://other.mesh' }), /claim "iss"/],
    ['exp not an integer', (c) => ({ ...c, exp: '2030-01-01' }), /claim "exp"/],
    ['exp before iat', (c) => ({ ...c, exp: (c.iat as number) - 1 }), /claim "exp"/],
    ['iat missing', (c) => without(c, 'iat'), /claim "iat"/],
    ['once not a boolean', (c) => ({ ...c, once: 'yes' }), /claim "once"/],
    ['ca not a fingerprint', (c) => ({ ...c, ca: 'sha256:ABC' }), /claim "ca"/],
  ];
  return bad.map(([what, change, message]) => ({
    name: `fail/malformed: ${what}`,
    make: (e: Env) => {
      const { header, claims } = partsOf(web(e).token);
      return { token: resign(header, change(claims), signingKey(e.dir)) };
    },
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'claims',
    message,
  }));
}

const cases: VerifyCase[] = [
  { name: 'fail/malformed: garbage', make: () => ({ token: 'hello world' }), code: 'WEFT_TOKEN_MALFORMED', reason: 'encoding', message: /^join token is malformed: not a compact JWS/ },
  { name: 'fail/malformed: empty text', make: () => ({ token: '' }), code: 'WEFT_TOKEN_MALFORMED', reason: 'encoding' },
  {
    name: 'fail/malformed: two segments',
    make: (e) => ({ token: web(e).token.split('.').slice(0, 2).join('.') }),
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'encoding',
  },
  { name: 'fail/malformed: four segments', make: (e) => ({ token: `${web(e).token}.x` }), code: 'WEFT_TOKEN_MALFORMED', reason: 'encoding' },
  {
    name: 'fail/malformed: payload is not JSON',
    make: (e) => {
      const [h, , s] = web(e).token.split('.');
      return { token: `${h}.${b64('not json')}.${s}` };
    },
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'encoding',
    message: /^join token is malformed: the payload is not UTF-8 JSON$/,
  },
  {
    name: 'fail/malformed: payload is a JSON array',
    make: (e) => {
      const [h, , s] = web(e).token.split('.');
      return { token: `${h}.${b64([1])}.${s}` };
    },
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'encoding',
  },
  {
    name: 'fail/malformed: standard base64 characters in a segment',
    make: (e) => ({ token: web(e).token.replace(/^e/, '+') }),
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'encoding',
  },
  {
    name: 'fail/malformed: longer than 4096 characters',
    make: () => ({ token: `${'a'.repeat(4097)}.b.c` }),
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'encoding',
    message: /^join token is malformed: longer than 4096 characters$/,
  },
  ...claimCases(),
  {
    name: 'fail/malformed: header typ is not weft-join+jwt',
    make: (e) => {
      const { header, claims } = partsOf(web(e).token);
      return { token: resign({ ...header, typ: 'JWT' }, claims, signingKey(e.dir)) };
    },
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'header',
    message: /^join token [\w-]{22} is malformed: header "typ" must be "weft-join\+jwt"$/,
  },
  {
    name: 'fail/malformed: header carries a crit extension',
    make: (e) => {
      const { header, claims } = partsOf(web(e).token);
      return { token: resign({ ...header, crit: ['exp'] }, claims, signingKey(e.dir)) };
    },
    code: 'WEFT_TOKEN_MALFORMED',
    reason: 'header',
  },
];

describe('JoinTokenStore#verify refuses malformed tokens', () => {
  runVerifyCases(cases);
});
