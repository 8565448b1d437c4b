/**
 * Subscribe call metadata naming the sidecar's admin endpoint (loopback host:port), so
 * `weft proxy-config` and `weft proxy-status` can reach the sidecar through the control plane's
 * status. Metadata rather than a message field: it describes the stream, not a snapshot answer.
 */
export const ADMIN_ADDRESS_METADATA = 'weft-admin-address';
