// Where the RequestAuthentications among some resources read tokens from: what a sidecar's log
// must never show, beyond the built-in names. A name counts whichever workload the rule selects,
// since a caller's outbound log carries the same request as the serving sidecar's; the control
// plane sends the names of the whole mesh in every snapshot.
import type { RequestAuthentication } from './generated/types.js';
import type { StoredResource } from './stored.js';

/** Query parameter, cookie and header names, each list without repeats and at most MAX_TOKEN_LOCATION_NAMES long. */
export interface TokenLocationNames {
  readonly params: string[];
  readonly cookies: string[];
  readonly headers: string[];
}

/** A bound on what the names add to every snapshot; real meshes name a handful. */
export const MAX_TOKEN_LOCATION_NAMES = 256;

/** The token locations named by the RequestAuthentications among `resources`. */
export function tokenLocationNames(resources: readonly StoredResource[]): TokenLocationNames {
  const params: string[] = [];
  const cookies: string[] = [];
  const headers: string[] = [];
  for (const r of resources) {
    if (r.kind !== 'RequestAuthentication') continue;
    for (const rule of (r as StoredResource<RequestAuthentication>).spec.jwtRules ?? []) {
      params.push(...(rule.fromParams ?? []));
      cookies.push(...(rule.fromCookies ?? []));
      headers.push(...(rule.fromHeaders ?? []).map((h) => h.name));
    }
  }
  const bounded = (names: string[]): string[] => [...new Set(names.map((n) => n.toLowerCase()))].sort().slice(0, MAX_TOKEN_LOCATION_NAMES);
  return { params: bounded(params), cookies: bounded(cookies), headers: bounded(headers) };
}
