// MeshConfig extensionProviders[] compiled once per snapshot, with Istio's defaults filled in
// (mesh/v1alpha1/config.proto): timeout 600 s, statusOnError 403, failOpen false. Pure: the
// proxy's clients read the result; nothing here dials.
import type { ExtensionProvider } from '../../config/generated/types.js';
import { parseDuration } from '../../lib/duration.js';
import { stringMatcher, type StringMatcher } from '../string-match.js';
import { parseAddress } from '../ip-match.js';

/** Istio's default for envoyExtAuthzHttp/Grpc `timeout` (Envoy's own filter default is 200 ms). */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 600_000;
export const DEFAULT_STATUS_ON_ERROR = 403;
/** The decision cache's bounds when `cache` is present but leaves them out. */
export const DEFAULT_CACHE = Object.freeze({ maxEntries: 10_000, maxBytes: 16 << 20, defaultTtlMs: 10_000, maxTtlMs: 300_000 });

export interface CacheSettings {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly defaultTtlMs: number;
  readonly maxTtlMs: number;
}

export interface BodySettings {
  readonly maxRequestBytes: number;
  readonly allowPartialMessage: boolean;
  /** gRPC only: the body goes as `raw_body` bytes instead of the `body` string. */
  readonly packAsBytes: boolean;
}

/** A list of Istio header patterns (`exact`, `prefix*`, `*suffix`), matched case-insensitively. */
export type HeaderPatterns = readonly StringMatcher[];

interface Common {
  readonly name: string;
  /** The host dialed (an IP literal or `localhost`) and the port. */
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly failOpen: boolean;
  readonly statusOnError: number;
  readonly body?: BodySettings;
  readonly cache?: CacheSettings;
  /** Canonical JSON of the provider as configured: a change drops its decision cache. */
  readonly fingerprint: string;
  /** Why this provider cannot be used: its CUSTOM policies then deny what they match. */
  readonly unusable?: string;
}

export interface HttpProvider extends Common {
  readonly kind: 'http';
  readonly pathPrefix: string;
  readonly includeRequestHeaders: HeaderPatterns;
  readonly additionalHeaders: readonly (readonly [string, string])[];
  /** Undefined: no header of the provider's answer goes upstream (Envoy's allowed_upstream_headers unset). */
  readonly headersToUpstreamOnAllow: HeaderPatterns;
  /** Undefined: every header of a denial goes back to the client (Envoy's allowed_client_headers unset). */
  readonly headersToDownstreamOnDeny: HeaderPatterns | undefined;
  readonly headersToDownstreamOnAllow: HeaderPatterns;
}

export interface GrpcProvider extends Common {
  readonly kind: 'grpc';
}

export type CompiledProvider = HttpProvider | GrpcProvider;

function patterns(list: readonly string[] | undefined): HeaderPatterns {
  const out: StringMatcher[] = [];
  for (const p of list ?? []) {
    const m = stringMatcher(p.toLowerCase(), { ignoreCase: true });
    if (typeof m !== 'string') out.push(m);
  }
  return out;
}

/** True when a lower-case header name matches one of the patterns. */
export function matchesAny(list: HeaderPatterns, name: string): boolean {
  for (const m of list) if (m(name)) return true;
  return false;
}

function ms(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  try {
    return parseDuration(text);
  } catch {
    return fallback;
  }
}

/**
 * Where a provider is dialed. weft reaches a provider directly at an IP literal or `localhost`
 * (the authorizer beside the workload, as OPA usually runs); a mesh service name would need the
 * provider reached through the mesh, which is not built yet, so such a provider is unusable and
 * its policies fail closed rather than send request headers over the network in plaintext.
 */
export function providerAddress(service: string): { host: string } | { unusable: string } {
  const host = service.includes('/') ? service.slice(service.indexOf('/') + 1) : service;
  if (host === 'localhost') return { host: '127.0.0.1' };
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (parseAddress(bare) !== undefined) return { host: bare };
  return { unusable: `provider service ${JSON.stringify(service)} is a host name; weft reaches providers only at an IP address or localhost for now` };
}

function statusOf(text: string | undefined): number {
  const n = text === undefined ? NaN : Number(text);
  return Number.isInteger(n) && n >= 200 && n <= 599 ? n : DEFAULT_STATUS_ON_ERROR;
}

function cacheOf(c: { maxEntries?: number; maxBytes?: number; defaultTtl?: string; maxTtl?: string } | undefined): CacheSettings | undefined {
  if (c === undefined) return undefined;
  const maxTtlMs = ms(c.maxTtl, DEFAULT_CACHE.maxTtlMs);
  return {
    maxEntries: c.maxEntries ?? DEFAULT_CACHE.maxEntries,
    maxBytes: c.maxBytes ?? DEFAULT_CACHE.maxBytes,
    defaultTtlMs: Math.min(ms(c.defaultTtl, DEFAULT_CACHE.defaultTtlMs), maxTtlMs),
    maxTtlMs,
  };
}

function bodyOf(b: { maxRequestBytes?: number; allowPartialMessage?: boolean; packAsBytes?: boolean } | undefined): BodySettings | undefined {
  if (b === undefined) return undefined;
  // Envoy requires max_request_bytes; Istio's examples use 8 KiB-ish values. 4 KiB when left out.
  return { maxRequestBytes: b.maxRequestBytes ?? 4096, allowPartialMessage: b.allowPartialMessage === true, packAsBytes: b.packAsBytes === true };
}

/** Compiles one extension provider (already validated by the MeshConfig schema). */
export function compileProvider(p: ExtensionProvider): CompiledProvider {
  const spec = p.envoyExtAuthzHttp ?? p.envoyExtAuthzGrpc!;
  const address = providerAddress(spec.service);
  const common = {
    name: p.name,
    host: 'host' in address ? address.host : '',
    port: spec.port,
    timeoutMs: ms(spec.timeout, DEFAULT_PROVIDER_TIMEOUT_MS),
    failOpen: spec.failOpen === true,
    statusOnError: statusOf(spec.statusOnError),
    ...(bodyOf(spec.includeRequestBodyInCheck) === undefined ? {} : { body: bodyOf(spec.includeRequestBodyInCheck)! }),
    ...(cacheOf(spec.cache) === undefined ? {} : { cache: cacheOf(spec.cache)! }),
    fingerprint: canonicalJson(p),
    ...('unusable' in address ? { unusable: address.unusable } : {}),
  };
  const http = p.envoyExtAuthzHttp;
  if (http === undefined) return { kind: 'grpc', ...common };
  return {
    kind: 'http',
    ...common,
    pathPrefix: http.pathPrefix ?? '',
    includeRequestHeaders: patterns([...(http.includeRequestHeadersInCheck ?? []), ...(http.includeHeadersInCheck ?? [])]),
    additionalHeaders: Object.entries(http.includeAdditionalHeadersInCheck ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const),
    headersToUpstreamOnAllow: patterns(http.headersToUpstreamOnAllow),
    headersToDownstreamOnDeny: http.headersToDownstreamOnDeny === undefined ? undefined : patterns(http.headersToDownstreamOnDeny),
    headersToDownstreamOnAllow: patterns(http.headersToDownstreamOnAllow),
  };
}

/** JSON with object keys sorted at every level: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Uint8Array) return JSON.stringify({ $bytes: Buffer.from(value).toString('base64') });
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
