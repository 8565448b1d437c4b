// The shapes RequestAuthentication works with: a compiled authenticator per workload, the request
// facts it reads, the key resolver it asks, and the three outcomes.
import type { CryptoKey } from 'jose';
import type { JwtRefusalCode } from './errors.js';
import type { VerifiedTokenCache } from './verified-tokens.js';

/** Where a rule's keys come from: inline JSON, a URL, or OpenID discovery on the issuer. */
export type JwksSource =
  | { readonly kind: 'inline'; readonly jwks: string }
  | { readonly kind: 'uri'; readonly uri: string; readonly timeoutMs: number }
  | { readonly kind: 'discovery'; readonly issuer: string; readonly timeoutMs: number };

/** A token location: a header (name lower-case, with the prefix to strip), a query parameter, a cookie. */
export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

/** Names the jwtRule a result came from: `namespace/name` of the RequestAuthentication and the index. */
export interface JwtRuleRef {
  readonly namespace: string;
  readonly name: string;
  readonly index: number;
  readonly issuer: string;
}

/** One jwtRule, ready to use. */
export interface CompiledJwtRule {
  readonly ref: JwtRuleRef;
  readonly issuer: string;
  /** Empty: `aud` is not checked (Istio's generated config sets no audiences). */
  readonly audiences: readonly string[];
  readonly locations: readonly TokenLocation[];
  readonly keys: JwksSource;
  /** Lower-case header name for base64url(payload), or undefined. */
  readonly outputPayloadToHeader?: string;
  readonly outputClaimToHeaders: readonly { readonly header: string; readonly claim: string }[];
  readonly forwardOriginalToken: boolean;
}

/** Every jwtRule that applies to one workload, sorted by issuer as Istio installs them. */
export interface CompiledJwtAuthenticator {
  readonly rules: readonly CompiledJwtRule[];
  /** Distinct locations of all rules, in rule order. */
  readonly locations: readonly TokenLocation[];
  /**
   * Headers a client must never set itself (outputPayloadToHeader and outputClaimToHeaders of every
   * rule): removed from every request, with or without a token.
   */
  readonly protectedHeaders: readonly string[];
  /** Distinct key sources, so a resolver can fetch them before the first request. */
  readonly keySources: readonly JwksSource[];
  /** Tokens these rules accepted recently: a repeated token skips the signature check. */
  readonly verified?: VerifiedTokenCache;
}

/** What authentication reads of a request. Header names are lower-case; a repeated header is a list. */
export interface JwtRequest {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Decoded query parameters; a repeated parameter is a list. */
  readonly params?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Cookies by name; a repeated cookie is a list. */
  readonly cookies?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** A verification key the resolver hands out: a WebCrypto key imported for the token's algorithm. */
export type VerificationKey = CryptoKey;

/** The resolver's answer for one token header. */
export type KeyLookup =
  | { readonly kind: 'keys'; readonly keys: readonly VerificationKey[] }
  /** The set is loaded but holds no key for this kid and algorithm (after the one refresh allowed). */
  | { readonly kind: 'no-match' }
  /** No key set has ever been loaded for this source (fetch failed, inline set invalid). */
  | { readonly kind: 'unavailable'; readonly detail: string };

/**
 * Finds the keys that may verify a token. Implementations own caching, refreshing and I/O; the
 * authenticator only asks. `alg` is always an asymmetric algorithm weft accepts, so a resolver
 * never has to consider symmetric keys.
 */
export interface JwtKeyResolver {
  lookup(source: JwksSource, alg: string, kid: string | undefined): Promise<KeyLookup>;
}

/** The token was found and verified. Fields follow Istio's request.auth.* attributes. */
export interface JwtAuthenticated {
  readonly kind: 'ok';
  /** `<iss>/<sub>` (request.auth.principal). */
  readonly principal: string;
  readonly issuer: string;
  readonly subject?: string;
  /** The `aud` claim as a list. */
  readonly audiences: readonly string[];
  /** The `azp` claim. */
  readonly presenter?: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly rule: JwtRuleRef;
  /** Lower-case names; overwrite any client value. */
  readonly headersToAdd: Readonly<Record<string, string>>;
  /** Lower-case names: the protected headers, plus the token's headers unless forwardOriginalToken. */
  readonly headersToRemove: readonly string[];
  readonly paramsToRemove: readonly string[];
  readonly cookiesToRemove: readonly string[];
}

/** No token at any configured location: the request goes on without request.auth.*. */
export interface JwtAbsent {
  readonly kind: 'none';
  /** The protected headers, which a client may not set itself. */
  readonly headersToRemove: readonly string[];
}

/** A token was present and is refused: the request never reaches the app. */
export interface JwtRefused {
  readonly kind: 'invalid';
  readonly code: JwtRefusalCode;
  /** Short text, safe for the client (`token expired`). */
  readonly reason: string;
  /** 401, or 403 for an audience mismatch (Envoy's special case, which Istio keeps). */
  readonly status: 401 | 403;
  /** The rule the token was checked against; absent when no rule accepts its issuer. */
  readonly rule?: JwtRuleRef;
  /** Where the refused token was found (`header authorization`). */
  readonly location: string;
}

export type JwtAuthnResult = JwtAuthenticated | JwtAbsent | JwtRefused;
