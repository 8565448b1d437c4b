// What a sidecar's log must never show, beyond the built-in names: every query parameter, cookie
// and header that a RequestAuthentication in its configuration reads tokens from. A name counts
// whichever workload the rule selects, since a caller's outbound log carries the same request.
import type { RequestAuthentication, StoredResource } from '../config/index.js';
import type { SensitiveNames } from '../telemetry/redact.js';

/** The token locations named by the RequestAuthentications among `resources`. */
export function tokenLocationNames(resources: readonly StoredResource[]): Required<SensitiveNames> {
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
  return { params, cookies, headers };
}
