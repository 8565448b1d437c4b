// What one identity may put into the registry, and so into every other workload's snapshot (every
// sidecar receives every endpoint with its labels). Without a bound, one workload registering
// many endpoints with large labels could push every snapshot past the size a sidecar accepts,
// and no sidecar in the mesh would receive configuration again.
import { RegistryError } from './errors.js';
import type { Registration, Workload } from './service-registry.js';

export interface RegistryLimits {
  /** Registrations (endpoints) one identity may hold at once: its replicas. */
  readonly maxRegistrationsPerIdentity: number;
  /** Bytes one identity's registrations may add to each other workload's snapshot. */
  readonly maxBytesPerIdentity: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  maxRegistrationsPerIdentity: 100,
  maxBytesPerIdentity: 256 * 1024,
};

/** At most this many ports per registration. */
export const MAX_PORTS = 64;

/**
 * What a registration adds to another workload's snapshot, in bytes: its endpoint (identity,
 * address, labels, locality, health) once per service it serves, and its ports, measured as JSON
 * (a little larger than their protobuf encoding, so the bound errs on the safe side).
 */
export function contributionBytes(reg: Registration, spiffeId: string): number {
  const endpoint = Buffer.byteLength(JSON.stringify({ workloadId: 'x'.repeat(12), address: reg.address, port: reg.inboundPort, spiffeId, labels: reg.labels, locality: reg.locality ?? '', healthy: true }));
  const ports = Buffer.byteLength(JSON.stringify(reg.ports));
  return reg.services.length * (endpoint + ports);
}

/**
 * Checks that `spiffeId`, already holding `held` (without the registration being replaced), may
 * add `reg`.
 *
 * @throws RegistryError WEFT_REGISTRATION_LIMIT (too many registrations) or
 *   WEFT_REGISTRATION_TOO_LARGE (too many bytes), both naming the limit and the flag that sets it.
 */
export function checkIdentityLimits(held: readonly Workload[], reg: Registration, spiffeId: string, limits: RegistryLimits): void {
  if (held.length + 1 > limits.maxRegistrationsPerIdentity) {
    throw new RegistryError(
      'WEFT_REGISTRATION_LIMIT',
      `identity ${spiffeId} already holds ${held.length} registrations, the most one identity may (--max-registrations-per-identity ${limits.maxRegistrationsPerIdentity}); deregister one or wait for a stale one's lease to run out`,
    );
  }
  const own = contributionBytes(reg, spiffeId);
  const total = held.reduce((sum, w) => sum + contributionBytes(w, w.spiffeId), own);
  if (total > limits.maxBytesPerIdentity) {
    throw new RegistryError(
      'WEFT_REGISTRATION_TOO_LARGE',
      `this registration adds ${own} bytes to every snapshot, ${total} with the ${held.length} other registrations of ${spiffeId}; one identity may add at most ${limits.maxBytesPerIdentity} (--max-endpoint-bytes-per-identity): use fewer or shorter labels`,
    );
  }
}
