// Keys, tokens and resources for the JWT tests and benchmarks: every token is signed here with jose.
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { JWTRule, RequestAuthentication } from '../../../config/generated/types.js';

export const ISSUER = 'https://issuer.example';
/** 2026-01-01T00:00:00Z, the FrozenClock default. */
export const NOW_MS = Date.UTC(2026, 0, 1);
export const NOW_S = NOW_MS / 1000;

export interface SigningKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** A fresh key pair; `publicJwk` carries kid, alg and use. */
export async function signingKey(alg: 'ES256' | 'RS256' | 'PS256' | 'ES384' | 'EdDSA', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

export function jwksOf(...keys: readonly (SigningKey | JWK)[]): string {
  return JSON.stringify({ keys: keys.map((k) => ('publicJwk' in k ? k.publicJwk : k)) });
}

/** A token signed by `key`: iss ISSUER, sub `alice`, iat/exp around NOW unless the claims say otherwise. */
export async function signToken(key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISSUER, sub: 'alice', iat: NOW_S - 10, exp: NOW_S + 3600, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A RequestAuthentication in `namespace` with the given rules (already "validated"). */
export function requestAuthentication(
  name: string,
  rules: readonly JWTRule[],
  options: { namespace?: string; matchLabels?: Record<string, string>; targetRefs?: boolean } = {},
): RequestAuthentication {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name, namespace: options.namespace ?? 'foo' },
    spec: {
      ...(options.matchLabels === undefined ? {} : { selector: { matchLabels: options.matchLabels } }),
      ...(options.targetRefs === true ? { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] } : {}),
      jwtRules: rules,
    },
  } as RequestAuthentication;
}
