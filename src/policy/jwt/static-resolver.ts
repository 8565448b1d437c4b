// A key resolver without I/O: inline sets parsed once, and whatever sets the caller hands in for
// remote sources. For `weft authz check`, tests and benchmarks; the sidecar uses src/proxy/jwks.
import { jwksSourceKey } from './compile.js';
import { JwksKeySet } from './key-set.js';
import type { JwksSource, JwtKeyResolver, KeyLookup } from './types.js';

/**
 * Resolves inline `jwks` by parsing them, and remote sources with `remote(source)`; a source with
 * no set answers "unavailable".
 */
export function staticKeyResolver(remote: (source: JwksSource) => JwksKeySet | undefined = () => undefined): JwtKeyResolver {
  const cache = new Map<string, JwksKeySet | string>();
  return {
    async lookup(source, alg, kid): Promise<KeyLookup> {
      const key = jwksSourceKey(source);
      let set = cache.get(key);
      if (set === undefined) {
        try {
          set = source.kind === 'inline' ? JwksKeySet.parse(source.jwks, 'inline') : (remote(source) ?? 'no key set for this source');
        } catch (err) {
          set = err instanceof Error ? err.message : String(err);
        }
        cache.set(key, set);
      }
      if (typeof set === 'string') return { kind: 'unavailable', detail: set };
      const keys = await set.keysFor(alg, kid);
      return keys.length === 0 ? { kind: 'no-match' } : { kind: 'keys', keys };
    },
  };
}
