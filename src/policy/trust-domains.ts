// Trust domain aliases in policies (Istio security.md "trust domain migration"; pilot's
// trustdomain.Bundle): a principal naming the local trust domain, one of its aliases, or the
// literal `cluster.local` (which always means "this mesh") is expanded to every trust domain in
// {local, aliases}; any other trust domain is left alone. `trustDomains` values naming a known
// trust domain match the whole set.

/** The default trust domain when MeshConfig sets none. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** The local trust domain first, then its aliases, without duplicates. */
export function trustDomainSet(local: string | undefined, aliases: readonly string[] | undefined): readonly string[] {
  return Object.freeze([...new Set([local ?? DEFAULT_TRUST_DOMAIN, ...(aliases ?? [])])]);
}

/**
 * The principals a policy principal value stands for. Only the workload form
 * `<td>/ns/<ns>/sa/<sa>` with a literal trust domain is expanded (Istio leaves other shapes as written).
 * @example expandPrincipal('cluster.local/ns/a/sa/b', ['example.org', 'old.org']) -> ['example.org/ns/a/sa/b', 'old.org/ns/a/sa/b']
 */
export function expandPrincipal(value: string, trustDomains: readonly string[]): readonly string[] {
  const parts = value.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return [value];
  const td = parts[0]!;
  if (td.includes('*') || (td !== DEFAULT_TRUST_DOMAIN && !trustDomains.includes(td))) return [value];
  const rest = parts.slice(1).join('/');
  return [...new Set(trustDomains.map((t) => `${t}/${rest}`))];
}
