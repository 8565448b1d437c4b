// WA005 (a principal or trust domain outside the mesh's trust domains), WA015 (a principal no
// workload identity can have: a malformed namespace, a wrong shape) and WA014 (a source whose
// identity fields contradict each other, so it can never match). Validation checks `namespaces`
// strictly (DNS-1123 labels) but a principal only as a SPIFFE path, so a principal can carry a
// namespace no workload can be in; these lints catch that.
import type { Rule, Source } from '../../generated/types.js';
import { finding, LOCAL_TRUST_DOMAIN_LITERAL, type Context } from '../context.js';
import type { Finding } from '../types.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_PREFIX = /^([a-z0-9][-a-z0-9]*)?$/;
const LABEL_SUFFIX = /^([-a-z0-9]*[a-z0-9])?$/;

/** Istio's string match of `pattern` (exact, `prefix*`, `*suffix`, `*` = non-empty) against a value. */
export function stringMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return value !== '';
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return value === pattern;
}

interface PrincipalValue {
  readonly value: string;
  readonly path: string;
}

/** Every principal value of a rule (`principals`, `notPrincipals`, `source.principal` conditions). */
function principalsOf(rule: Rule, at: string): PrincipalValue[] {
  const out: PrincipalValue[] = [];
  (rule.from ?? []).forEach((f, j) => {
    for (const field of ['principals', 'notPrincipals'] as const) (f.source[field] ?? []).forEach((value, k) => out.push({ value, path: `${at}.from[${j}].source.${field}[${k}]` }));
  });
  (rule.when ?? []).forEach((c, j) => {
    if (c.key !== 'source.principal') return;
    (c.values ?? []).forEach((value, k) => out.push({ value, path: `${at}.when[${j}].values[${k}]` }));
    (c.notValues ?? []).forEach((value, k) => out.push({ value, path: `${at}.when[${j}].notValues[${k}]` }));
  });
  return out;
}

function trustDomainsOf(rule: Rule, at: string): PrincipalValue[] {
  const out: PrincipalValue[] = [];
  (rule.from ?? []).forEach((f, j) => {
    for (const field of ['trustDomains', 'notTrustDomains'] as const) (f.source[field] ?? []).forEach((value, k) => out.push({ value, path: `${at}.from[${j}].source.${field}[${k}]` }));
  });
  (rule.when ?? []).forEach((c, j) => {
    if (c.key !== 'source.trustDomain') return;
    [...(c.values ?? []), ...(c.notValues ?? [])].forEach((value) => out.push({ value, path: `${at}.when[${j}]` }));
  });
  return out;
}

/** The trust domain a principal pins down, or the prefix it must start with; undefined when open. */
function foreignTrustDomain(value: string, known: readonly string[]): string | undefined {
  if (value.startsWith('*')) return undefined;
  const fixed = value.endsWith('*') ? value.slice(0, -1) : value;
  const slash = fixed.indexOf('/');
  if (slash === -1) return known.some((td) => td.startsWith(fixed)) ? undefined : `${fixed}*`;
  const td = fixed.slice(0, slash);
  return known.includes(td) ? undefined : td;
}

/**
 * Why no workload identity (`<td>/ns/<namespace>/sa/<service-account>`) can match the principal
 * pattern, or undefined when one can. Segments are aligned from the start (exact and `prefix*`) or
 * from the end (`*suffix`); the open end's segment need only be a part of a valid one.
 */
export function principalShapeProblem(value: string): string | undefined {
  if (value === '*') return undefined;
  const suffix = value.startsWith('*');
  const prefix = !suffix && value.endsWith('*');
  const segs = (suffix ? value.slice(1) : prefix ? value.slice(0, -1) : value).split('/');
  if (segs.length > 5) return 'it has more "/"-separated segments than an identity has';
  const offset = suffix ? 5 - segs.length : 0;
  for (const [i, seg] of segs.entries()) {
    const pos = i + offset;
    const open = (suffix && i === 0) || (prefix && i === segs.length - 1);
    if (pos === 1 || pos === 3) {
      const literal = pos === 1 ? 'ns' : 'sa';
      const ok = open ? (suffix ? literal.endsWith(seg) : literal.startsWith(seg)) : seg === literal;
      if (!ok) return `it has ${JSON.stringify(seg)} where an identity has "${literal}"`;
    }
    if (pos === 2) {
      const ok = open ? (suffix ? LABEL_SUFFIX : LABEL_PREFIX).test(seg) : DNS_LABEL.test(seg);
      if (!ok) return `its namespace ${JSON.stringify(seg)} is not a namespace name (lowercase letters, digits and "-": a DNS-1123 label)`;
    }
  }
  return undefined;
}

export function principalLints(ctx: Context): Finding[] {
  const known = [...ctx.trustDomains, LOCAL_TRUST_DOMAIN_LITERAL];
  const out: Finding[] = [];
  for (const p of ctx.policies) {
    (p.spec.rules ?? []).forEach((rule, i) => {
      const at = `spec.rules[${i}]`;
      for (const { value, path } of principalsOf(rule, at)) {
        const td = foreignTrustDomain(value, known);
        if (td !== undefined) out.push(finding('WA005', p, `principal ${JSON.stringify(value)} names trust domain ${td}, which is neither this mesh's nor an alias (${ctx.trustDomains.join(', ')}): no workload of the mesh has it`, path));
        const shape = principalShapeProblem(value);
        if (shape !== undefined) out.push(finding('WA015', p, `principal ${JSON.stringify(value)} matches no workload identity (<trust-domain>/ns/<namespace>/sa/<service-account>): ${shape}`, path));
      }
      for (const { value, path } of trustDomainsOf(rule, at)) {
        if (value === '*' || known.some((td) => stringMatches(value, td))) continue;
        out.push(finding('WA005', p, `trust domain ${JSON.stringify(value)} is neither this mesh's nor an alias (${ctx.trustDomains.join(', ')}): no workload of the mesh has it`, path));
      }
      (rule.from ?? []).forEach((f, j) => {
        const why = contradiction(f.source);
        if (why !== undefined) out.push(finding('WA014', p, `from[${j}] of rule ${i} can never match: ${why}`, `${at}.from[${j}].source`));
      });
    });
  }
  return out;
}

/** The namespace an exact workload principal names. */
function namespaceOf(principal: string): string | undefined {
  const parts = principal.split('/');
  return parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' && !principal.includes('*') ? parts[2] : undefined;
}

/** Why the identity fields of one source exclude each other, or undefined when they may not. */
export function contradiction(s: Source): string | undefined {
  const principals = s.principals ?? [];
  const exact = principals.length > 0 && principals.every((v) => namespaceOf(v) !== undefined);
  if (exact && s.namespaces !== undefined && !principals.some((v) => s.namespaces!.some((n) => stringMatches(n, namespaceOf(v)!)))) {
    return `every principal is in a namespace (${[...new Set(principals.map(namespaceOf))].join(', ')}) that namespaces ${JSON.stringify(s.namespaces)} does not allow`;
  }
  if (exact && s.notNamespaces !== undefined && principals.every((v) => s.notNamespaces!.some((n) => stringMatches(n, namespaceOf(v)!)))) {
    return `every principal is in a namespace that notNamespaces ${JSON.stringify(s.notNamespaces)} excludes`;
  }
  if (principals.length > 0 && !principals.some((v) => v.includes('*')) && s.notPrincipals !== undefined && principals.every((v) => s.notPrincipals!.some((n) => stringMatches(n, v)))) {
    return `every principal is excluded by notPrincipals ${JSON.stringify(s.notPrincipals)}`;
  }
  const namespaces = s.namespaces ?? [];
  if (namespaces.length > 0 && !namespaces.some((v) => v.includes('*')) && s.notNamespaces !== undefined && namespaces.every((v) => s.notNamespaces!.some((n) => stringMatches(n, v)))) {
    return `every namespace is excluded by notNamespaces ${JSON.stringify(s.notNamespaces)}`;
  }
  return undefined;
}
