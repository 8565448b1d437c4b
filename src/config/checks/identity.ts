// Identity match values of AuthorizationPolicy (Istio's string-match rules: exact, `prefix*`,
// `*suffix`, `*`) and the SPIFFE forms weft's identities take.
import { parseSpiffeId, parseTrustDomain, workloadOf } from '../../identity/spiffe-id.js';
import { dns1123LabelProblem, dns1123SubdomainProblem } from './names.js';

/** How a string-match value matches: Istio's exact, prefix (`abc*`), suffix (`*abc`) or presence (`*`). */
export type MatchForm = { readonly form: 'exact' | 'prefix' | 'suffix' | 'presence'; readonly fixed: string };

/**
 * Splits a string-match value into its form and fixed part, or returns why it is not one: empty, or
 * `*` anywhere but once at the start or the end (`a*b` is not a wildcard Istio understands).
 */
export function matchForm(v: string): MatchForm | string {
  if (v.length === 0) return 'must not be empty';
  if (v === '*') return { form: 'presence', fixed: '' };
  const stars = v.split('*').length - 1;
  if (stars === 0) return { form: 'exact', fixed: v };
  if (stars === 1 && v.endsWith('*')) return { form: 'prefix', fixed: v.slice(0, -1) };
  if (stars === 1 && v.startsWith('*')) return { form: 'suffix', fixed: v.slice(1) };
  return 'a wildcard "*" is allowed only once, at the start or the end';
}

/** Why `v` is not a plain string-match value (hosts, request headers, claims...). */
export function stringMatchProblem(v: string): string | undefined {
  const m = matchForm(v);
  return typeof m === 'string' ? m : undefined;
}

const SPIFFE_PATH_CHARS = /^[A-Za-z0-9._\-/]*$/;

/**
 * Why `v` is not an Istio principal: `<trust-domain>/ns/<namespace>/sa/<service-account>` (the
 * SPIFFE ID without `spiffe://`), or such a value with a `*` prefix or suffix wildcard, or `*`.
 */
export function principalProblem(v: string): string | undefined {
  if (v.startsWith('spiffe://')) return `principals leave out "spiffe://": write ${JSON.stringify(v.slice('spiffe://'.length))}`;
  const m = matchForm(v);
  if (typeof m === 'string') return m;
  if (m.form === 'presence') return undefined;
  if (!SPIFFE_PATH_CHARS.test(m.fixed)) return 'may hold only letters, digits, ".", "_", "-" and "/" (and one leading or trailing "*")';
  if (m.form !== 'exact') return undefined;
  const parts = v.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa' || parts[2] === '' || parts[4] === '') {
    return 'must be "<trust-domain>/ns/<namespace>/sa/<service-account>", or use "*" at the start or end';
  }
  try {
    parseSpiffeId(`spiffe://${v}`);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Why `v` is not a namespace match (`namespaces`, `source.namespace`): a namespace name, `prefix*`, `*suffix` or `*`. */
export function namespaceMatchProblem(v: string): string | undefined {
  const m = matchForm(v);
  if (typeof m === 'string') return m;
  if (m.form === 'presence') return undefined;
  if (m.form === 'exact') return dns1123LabelProblem(v);
  if (!/^[a-z0-9-]+$/.test(m.fixed)) return 'may hold only lowercase letters, digits and "-" (and one leading or trailing "*")';
  return undefined;
}

/** Why `v` is not a request principal match (`<iss>/<sub>` with Istio's wildcards). */
export function requestPrincipalProblem(v: string): string | undefined {
  const m = matchForm(v);
  if (typeof m === 'string') return m;
  if (/\s/.test(v)) return 'must not contain whitespace';
  return undefined;
}

/** Why `v` is not a trust-domain match (`trustDomains`): a trust domain, `prefix*`, `*suffix` or `*`, no "/". */
export function trustDomainMatchProblem(v: string): string | undefined {
  const m = matchForm(v);
  if (typeof m === 'string') return m;
  if (v.includes('/')) return 'a trust domain has no "/"';
  if (m.form === 'presence') return undefined;
  if (!/^[a-z0-9._-]+$/.test(m.fixed)) return 'may hold only lowercase letters, digits, ".", "_" and "-"';
  return undefined;
}

/** Why `v` is not a service-account reference (`serviceAccounts`): `<namespace>/<sa>` or `<sa>`, no wildcards. */
export function serviceAccountProblem(v: string): string | undefined {
  if (v.includes('*')) return 'wildcards are not allowed in service accounts';
  const parts = v.split('/');
  if (parts.length > 2) return 'must be "<namespace>/<service-account>" or "<service-account>"';
  if (parts.length === 2) {
    const ns = dns1123LabelProblem(parts[0]!);
    if (ns !== undefined) return `namespace ${JSON.stringify(parts[0])}: ${ns}`;
  }
  const sa = dns1123SubdomainProblem(parts[parts.length - 1]!);
  return sa === undefined ? undefined : `service account ${JSON.stringify(parts[parts.length - 1])}: ${sa}`;
}

/** Why `v` is not a workload SPIFFE ID (`spiffe://<td>/ns/<ns>/sa/<sa>`), as MeshConfig admin identities are. */
export function workloadSpiffeIdProblem(v: string): string | undefined {
  try {
    if (workloadOf(parseSpiffeId(v)) === undefined) {
      return 'must be "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>"';
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Why `v` is not a trust domain name. */
export function trustDomainProblem(v: string): string | undefined {
  try {
    parseTrustDomain(v);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
