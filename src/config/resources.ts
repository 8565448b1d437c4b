// The resource types (generated from the schemas) and small helpers over them.
import type { Resource, ResourceKind } from './generated/types.js';
import { KIND_DEFINITIONS } from './schemas/index.js';

export type * from './generated/types.js';

/** Every kind weft accepts, with the apiVersions it is served at and whether it is namespaced. */
export const RESOURCE_KINDS: ReadonlyArray<{ readonly kind: ResourceKind; readonly apiVersions: readonly string[]; readonly namespaced: boolean }> =
  KIND_DEFINITIONS.map((d) => ({
    kind: d.kind as ResourceKind,
    apiVersions: d.versions.map((v) => `${d.group}/${v}`),
    namespaced: d.namespaced,
  }));

/** The default namespace of a namespaced resource that names none, as in Kubernetes. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * The identity of a resource: `kind/namespace/name` (`AuthorizationPolicy/foo/deny-all`), or
 * `kind/name` for cluster-scoped kinds (`MeshConfig/default`). Two resources with one key are the
 * same resource.
 */
export function key(resource: Pick<Resource, 'kind' | 'metadata'>): string {
  const ns = (resource.metadata as { namespace?: string }).namespace;
  return ns === undefined ? `${resource.kind}/${resource.metadata.name}` : `${resource.kind}/${ns}/${resource.metadata.name}`;
}
