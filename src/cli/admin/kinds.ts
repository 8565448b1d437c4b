// Resource kinds as an operator types them: the kind, its plural, or Istio's short name, in any case.
import { RESOURCE_KINDS, type ResourceKind } from '../../config/index.js';
import { UsageError } from '../output.js';

const SHORT_NAMES: Record<string, ResourceKind> = {
  pa: 'PeerAuthentication',
  ra: 'RequestAuthentication',
  ap: 'AuthorizationPolicy',
  dr: 'DestinationRule',
  vs: 'VirtualService',
  gw: 'Gateway',
  se: 'ServiceEntry',
  mc: 'MeshConfig',
};

export interface KindInfo {
  readonly kind: ResourceKind;
  readonly group: string;
  readonly namespaced: boolean;
}

export function kindInfo(kind: ResourceKind): KindInfo {
  const k = RESOURCE_KINDS.find((x) => x.kind === kind)!;
  return { kind, group: k.apiVersions[0]!.split('/')[0]!, namespaced: k.namespaced };
}

export function resolveKind(typed: string): KindInfo {
  const t = typed.toLowerCase().replace(/\..*$/, '');
  const short = SHORT_NAMES[t];
  if (short) return kindInfo(short);
  for (const k of RESOURCE_KINDS) {
    const lower = k.kind.toLowerCase();
    if (t === lower || t === `${lower}s` || (lower.endsWith('y') && t === `${lower.slice(0, -1)}ies`)) return kindInfo(k.kind);
  }
  throw new UsageError(`unknown resource kind "${typed}"; weft serves ${RESOURCE_KINDS.map((k) => k.kind).join(', ')} (short names ${Object.keys(SHORT_NAMES).join(', ')})`);
}

/** `authorizationpolicy.security.istio.io/deny-all`, the name kubectl prints. */
export function displayName(kind: ResourceKind, name: string): string {
  return `${kind.toLowerCase()}.${kindInfo(kind).group}/${name}`;
}
