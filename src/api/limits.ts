// Numbers both ends of the control-plane API rely on; each side reads them from here so they
// cannot drift apart.

/**
 * The longest a sidecar waits between two attempts to reach its control plane (reconnect backoff
 * cap). A restarted control plane keeps the registrations it restored alive at least this long
 * beyond a lease, so every sidecar has had a chance to renew.
 */
export const SIDECAR_RECONNECT_MAX_MS = 5_000;

/**
 * The largest snapshot a sidecar accepts (gRPC's default receive limit, set explicitly on the
 * sidecar's channel). The control plane never sends a larger one: it reports the workload's
 * snapshot as failed instead.
 */
export const MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024;
