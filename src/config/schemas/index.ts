// Every kind weft accepts, with where it is served (group and versions), its scope, its JSON
// Schema and its cross-field checks.
import { authorizationPolicy } from './authorization-policy.js';
import { destinationRule } from './destination-rule.js';
import { gateway } from './gateway.js';
import type { KindDefinition } from './kind.js';
import { meshConfig } from './mesh-config.js';
import { peerAuthentication } from './peer-authentication.js';
import { requestAuthentication } from './request-authentication.js';
import { serviceEntry } from './service-entry.js';
import { virtualService } from './virtual-service.js';

/** The kind definitions, in the order documentation lists them. */
export const KIND_DEFINITIONS: readonly KindDefinition[] = [
  peerAuthentication,
  requestAuthentication,
  authorizationPolicy,
  destinationRule,
  virtualService,
  gateway,
  serviceEntry,
  meshConfig,
] as readonly KindDefinition[];

const BY_KIND = new Map(KIND_DEFINITIONS.map((d) => [d.kind, d]));

/** The definition of `kind`, or undefined for a kind weft does not know. */
export function kindDefinition(kind: string): KindDefinition | undefined {
  return BY_KIND.get(kind);
}
