// The JWT benchmark (issue 5 §8): RequestAuthentication validations per second for ES256 and
// RS256 tokens, one request at a time on one core.
//   cached keys: one JwksResolver, keys already imported; each validation extracts the token from
//           `Authorization: Bearer`, decodes it, finds its rule and key, verifies the signature and
//           the claims, and builds the result (a token the sidecar has not seen before).
//   repeated token: the same, for tokens the verified-token cache holds (the steady state of a
//           client that sends its token on every request): no signature check, exp/nbf rechecked.
//   cold:   the first validation after a fresh resolver: the JWKS is parsed and the key imported
//           (no network; a jwksUri fetch adds its round trip on top, once per refresh).
//   jose:   jose's jwtVerify alone with an imported key, for how much weft adds around it.
// 64 distinct tokens rotate; only the repeated-token rows let the verified-token cache see them again.
//
//   npm run bench:jwt          (= node --import tsx bench/jwt/run.ts)
//   env: SECONDS=2 (per row), COLD=500 (cold validations per algorithm)
import { jwtVerify, type CryptoKey } from 'jose';
import { authenticateRequest, compileJwtRules, type CompiledJwtAuthenticator, type JwtRequest } from '../../src/policy/jwt/index.js';
import { ISSUER, jwksOf, NOW_MS, requestAuthentication, signingKey, signToken, type SigningKey } from '../../src/policy/jwt/testing/fixtures.js';
import { JwksResolver } from '../../src/proxy/jwks/index.js';

const SECONDS = Number(process.env.SECONDS ?? 2);
const COLD = Number(process.env.COLD ?? 500);

interface Row {
  readonly alg: string;
  readonly mode: string;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

async function timed(alg: string, mode: string, once: (i: number) => Promise<void>, maxRuns = Infinity): Promise<Row> {
  const samples: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(SECONDS * 1e9);
  let total = 0;
  for (let i = 0; i < maxRuns && process.hrtime.bigint() < deadline; i++) {
    const t0 = process.hrtime.bigint();
    await once(i);
    const ns = Number(process.hrtime.bigint() - t0);
    total += ns;
    samples.push(ns);
  }
  samples.sort((a, b) => a - b);
  return {
    alg,
    mode,
    perSecond: samples.length / (total / 1e9),
    p50: samples[Math.floor(samples.length / 2)]! / 1000,
    p99: samples[Math.floor(samples.length * 0.99)]! / 1000,
  };
}

async function rows(key: SigningKey, other: SigningKey): Promise<Row[]> {
  const jwks = jwksOf(key, other);
  const withCache: CompiledJwtAuthenticator = compileJwtRules(
    [requestAuthentication('bench', [{ issuer: ISSUER, jwks, audiences: ['svc'], outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] }])],
    { namespace: 'foo', labels: {} },
    'istio-system',
  );
  // The same rules without the verified-token cache: every validation checks a signature.
  const compiled: CompiledJwtAuthenticator = { rules: withCache.rules, locations: withCache.locations, protectedHeaders: withCache.protectedHeaders, keySources: withCache.keySources };
  const requests: JwtRequest[] = [];
  for (let i = 0; i < 64; i++) {
    requests.push({ headers: { authorization: `Bearer ${await signToken(key, { sub: `user-${i}`, aud: 'svc', scope: 'read write' })}` } });
  }
  const check = async (resolver: JwksResolver, i: number, authn: CompiledJwtAuthenticator = compiled) => {
    const r = await authenticateRequest(authn, requests[i & 63]!, resolver, NOW_MS);
    if (r.kind !== 'ok') throw new Error(`benchmark token refused: ${JSON.stringify(r)}`);
  };

  const warm = new JwksResolver();
  for (let i = 0; i < 2000; i++) await check(warm, i); // warm-up: JIT and key import
  const cached = await timed(key.alg, 'cached keys', (i) => check(warm, i));
  for (let i = 0; i < 64; i++) await check(warm, i, withCache);
  const repeated = await timed(key.alg, 'repeated token', (i) => check(warm, i, withCache));
  const cold = await timed(key.alg, 'cold', (i) => check(new JwksResolver(), i), COLD);

  const lookup = await warm.lookup(compiled.rules[0]!.keys, key.alg, key.kid);
  if (lookup.kind !== 'keys') throw new Error('benchmark key not found');
  const cryptoKey: CryptoKey = lookup.keys[0]!;
  const tokens = requests.map((r) => (r.headers.authorization as string).slice(7));
  const options = { issuer: ISSUER, audience: 'svc', algorithms: [key.alg], currentDate: new Date(NOW_MS) };
  const jose = await timed(key.alg, 'jose jwtVerify alone', async (i) => void (await jwtVerify(tokens[i & 63]!, cryptoKey, options)));
  return [cached, repeated, cold, jose];
}

const es = await signingKey('ES256', 'es-1');
const rs = await signingKey('RS256', 'rs-1');
const results = [...(await rows(es, rs)), ...(await rows(rs, es))];
console.log(`node ${process.version}, ${SECONDS} s per row, one validation at a time`);
console.log('| alg | mode | validations/s | p50 µs | p99 µs |');
console.log('|---|---|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.alg} | ${r.mode} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
}
