// A provider's answer in one shape for both protocols, checked before anything of it is used: a
// provider is a network peer, so its headers are bounded in count and size, names and values must
// be valid, and headers that frame the message or carry mesh identity are never taken from it.
import { isSidecarOwnedHeader } from '../../policy/index.js';
import { parseDuration } from '../../lib/duration.js';

/** A header the provider asks for; `append` adds a value instead of replacing (gRPC `append: true`). */
export interface HeaderEdit {
  readonly name: string;
  readonly value: string;
  readonly append: boolean;
  /** ADD_IF_ABSENT: only when the request has none. */
  readonly ifAbsent?: boolean;
}

export type ProviderAnswer =
  | {
      readonly kind: 'allow';
      /** Set on the request the app receives. */
      readonly upstream: readonly HeaderEdit[];
      /** Removed from the request the app receives. */
      readonly remove: readonly string[];
      /** Added to the response the client receives. */
      readonly downstream: readonly (readonly [string, string])[];
      /** The provider's own TTL for caching this answer (x-weft-authz-ttl), in ms. */
      readonly ttlMs?: number;
    }
  | {
      readonly kind: 'deny';
      readonly status: number;
      readonly headers: readonly (readonly [string, string])[];
      readonly body: string;
      readonly ttlMs?: number;
    };

/** Thrown for an answer weft will not use (the check then failed: statusOnError unless failOpen). */
export class BadAnswer extends Error {}

export const LIMITS = Object.freeze({ headers: 64, headerBytes: 16 * 1024, body: 64 * 1024 });

/** The header (HTTP) and dynamic_metadata key (gRPC) a provider names its answer's cache TTL with. */
export const TTL_HEADER = 'x-weft-authz-ttl';

/** Framing and routing: a provider may not set these on either side. */
const FORBIDDEN = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'proxy-connection', 'trailer', 'http2-settings']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** Why a header from a provider is refused, or undefined when it may be used. */
export function headerProblem(name: string, value: string, jwtOutputs: readonly string[]): string | undefined {
  if (name.startsWith(':')) return `pseudo-header ${JSON.stringify(name)}`;
  if (!TOKEN.test(name)) return `invalid header name ${JSON.stringify(name.slice(0, 64))}`;
  if (FORBIDDEN.has(name)) return `framing header ${JSON.stringify(name)}`;
  if (isSidecarOwnedHeader(name, jwtOutputs)) return `header ${JSON.stringify(name)} belongs to the sidecar`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return `the value of ${JSON.stringify(name)} holds a control character`;
  return undefined;
}

/** Counts and sizes a provider's header list; throws BadAnswer past the limits. */
export function boundHeaders(count: number, bytes: number): void {
  if (count > LIMITS.headers) throw new BadAnswer(`the provider answered ${count} headers (at most ${LIMITS.headers})`);
  if (bytes > LIMITS.headerBytes) throw new BadAnswer(`the provider answered ${bytes} bytes of headers (at most ${LIMITS.headerBytes})`);
}

/** A TTL as a provider writes it: a duration (`30s`) or a number of seconds; undefined when absent or unreadable. */
export function parseTtl(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v * 1000);
  if (typeof v !== 'string' || v.length === 0 || v.length > 32) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  try {
    return parseDuration(v);
  } catch {
    return undefined;
  }
}
