// Identities no join token may claim: the control plane's own (whoever holds it can serve as the
// control plane to every sidecar) and the admin identities MeshConfig lists (whoever holds one
// administers the mesh). `weft ca mint` issues them only when told so explicitly.

/** The SPIFFE ID the control plane serves with; sidecars and the CLI expect it. */
export function controlPlaneIdentity(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/weft-system/sa/control-plane`;
}

/**
 * Why `spiffeId` is reserved, or undefined when it is not. `adminIdentities` are MeshConfig's
 * spec.adminIdentities, compared exactly (they are full SPIFFE IDs).
 */
export function reservedIdentityReason(spiffeId: string, trustDomain: string, adminIdentities: readonly string[]): string | undefined {
  if (spiffeId === controlPlaneIdentity(trustDomain)) return `${spiffeId} is the control plane's own identity: a workload holding it could serve sidecars as the control plane`;
  if (adminIdentities.includes(spiffeId)) return `${spiffeId} is an admin identity (MeshConfig spec.adminIdentities): a workload holding it could administer the mesh`;
  return undefined;
}
