// Data-path counters: plain number fields, incremented on the request path (no maps, no labels,
// no allocation), read as a record at scrape time. Names follow Prometheus conventions: `_total`
// for counters, none for gauges.

import type { ResponseFlag } from './errors.js';

/** Counters and gauges of one SidecarProxy. Fields are public for cheap increments inside src/proxy. */
export class ProxyStats {
  // --- inbound (mTLS from other sidecars) ---
  inbound_connections_total = 0;
  inbound_connections_active = 0;
  /** Closed at once: the listener was at its --max-connections cap. */
  inbound_connections_refused_total = 0;
  /** Closed for not finishing the TLS handshake (or a plaintext request head) within --handshake-timeout. */
  inbound_handshake_timeouts_total = 0;
  /** accept() failures, such as EMFILE when descriptors ran out; the listener keeps serving. */
  inbound_accept_errors_total = 0;
  inbound_tls_handshakes_total = 0;
  inbound_tls_handshake_failures_total = 0;
  /** Handshakes that completed but whose peer failed the X.509-SVID rules or did not speak h2. */
  inbound_peer_refused_total = 0;
  inbound_sessions_active = 0;
  /** Sessions destroyed because a PING went unanswered (a dead peer, or one wedged by a protocol error). */
  inbound_sessions_unresponsive_total = 0;
  inbound_requests_total = 0;
  inbound_requests_active = 0;
  /** The app answered and the answer was relayed. */
  inbound_requests_forwarded_total = 0;
  /** The sidecar answered itself (app unreachable, draining). */
  inbound_requests_failed_total = 0;
  /** Cut short by either side after the response began. */
  inbound_requests_reset_total = 0;
  /** Refused by an AuthorizationPolicy (403 RBAC: access denied). */
  inbound_requests_denied_total = 0;
  /** Refused by RequestAuthentication: a token that failed verification (401, or 403 for its audience). */
  inbound_requests_jwt_refused_total = 0;
  /** Refused for a request path normalization cannot accept (400). */
  inbound_requests_bad_path_total = 0;
  /** Refused before any policy for a malformed request: two hosts, :authority and host differing, no authority (400). */
  inbound_requests_malformed_total = 0;
  /** Requests from plaintext clients on a PERMISSIVE port. */
  inbound_plaintext_requests_total = 0;
  /** Plaintext connections refused because the port is STRICT. */
  inbound_plaintext_refused_total = 0;
  /** TCP connections tunnelled from a peer sidecar (HTTP/2 CONNECT) to the app. */
  inbound_tcp_connections_total = 0;
  inbound_tcp_connections_active = 0;
  /** TCP connections refused by an AuthorizationPolicy: closed before the app saw a byte. */
  inbound_tcp_connections_denied_total = 0;

  /** Upgraded connections (WebSocket and other Upgrade tokens) a peer sidecar carried in as extended CONNECT (RFC 8441). */
  inbound_upgrades_total = 0;
  inbound_upgrades_active = 0;
  /** Upgrades the app did not accept: it answered something other than 101, or an upgrade it was not asked for. */
  inbound_upgrades_refused_total = 0;

  // --- both directions ---
  /** Trailer fields not passed on: forbidden in a trailer section (RFC 9110 §6.5.1) or owned by the sidecar. */
  trailer_fields_dropped_total = 0;
  /** Messages cut because their trailer section was over the field or byte bound. */
  trailer_sections_refused_total = 0;

  // --- outbound (the app's explicit proxy) ---
  outbound_connections_total = 0;
  outbound_connections_active = 0;
  outbound_connections_refused_total = 0;
  /** App connections closed for sending no request head within --handshake-timeout. */
  outbound_handshake_timeouts_total = 0;
  outbound_accept_errors_total = 0;
  /** Requests and tunnels answered 503 because every session to the peer was at its stream limit. */
  outbound_streams_exhausted_total = 0;
  outbound_requests_total = 0;
  outbound_requests_active = 0;
  outbound_requests_forwarded_total = 0;
  outbound_requests_bad_request_total = 0;
  outbound_requests_unknown_service_total = 0;
  outbound_requests_no_endpoints_total = 0;
  outbound_requests_secure_naming_total = 0;
  outbound_requests_upstream_error_total = 0;
  outbound_requests_reset_total = 0;
  /** Requests re-sent on a fresh session because the first one refused or lost them unsent. */
  outbound_requests_retried_total = 0;
  /** Requests to hosts outside the mesh forwarded as asked (outboundTrafficPolicy ALLOW_ANY). */
  outbound_requests_passthrough_total = 0;
  /** Requests and CONNECTs to hosts outside the mesh refused with 502 (REGISTRY_ONLY). */
  outbound_requests_blackholed_total = 0;
  /** CONNECTs to hosts outside the mesh carried as plain TCP (ALLOW_ANY). */
  outbound_tcp_passthrough_total = 0;
  /** Upgrade requests from the app (WebSocket and other tokens), carried as extended CONNECT. */
  outbound_upgrades_total = 0;
  outbound_upgrades_active = 0;
  /** Upgrades that did not switch: refused here, by the peer's policy, or by the serving app. */
  outbound_upgrades_failed_total = 0;
  /** TCP connections the app opened with CONNECT, carried to a peer sidecar. */
  outbound_tcp_connections_total = 0;
  outbound_tcp_connections_active = 0;
  /** CONNECT tunnels that did not open: unknown service, no endpoint, refused by the peer. */
  outbound_tcp_connections_failed_total = 0;
  outbound_sessions_opened_total = 0;
  outbound_sessions_active = 0;
  outbound_sessions_unresponsive_total = 0;
  outbound_tls_handshakes_total = 0;
  outbound_tls_handshake_failures_total = 0;

  // --- HTTP/2 and gRPC (h2c from the app on the outbound port, h2c to the app inbound) ---
  /** App connections on the outbound port that spoke HTTP/2 (prior knowledge, or inside a CONNECT tunnel). */
  outbound_h2_connections_total = 0;
  /** CONNECT tunnels whose first bytes were the HTTP/2 preface: ended here and served request by request. */
  outbound_tunnels_terminated_total = 0;
  /** Streams the app opened over HTTP/2 (each one also counts in outbound_requests_total). */
  outbound_h2_requests_total = 0;
  /** gRPC calls among them (content-type application/grpc*). */
  outbound_grpc_requests_total = 0;
  /** gRPC calls whose grpc-timeout ran out at this sidecar: cancelled upstream, DEADLINE_EXCEEDED to the app. */
  outbound_grpc_deadline_exceeded_total = 0;
  /** Requests relayed to the app over h2c (gRPC, or HTTP/2 end to end). */
  inbound_app_h2_requests_total = 0;
  /** gRPC calls among the inbound requests. */
  inbound_grpc_requests_total = 0;
  /** h2c sessions open to the app. */
  inbound_app_h2_sessions_active = 0;

  // --- lifecycle ---
  identity_updates_total = 0;

  // --- revocation (the snapshot's list of revoked serials) ---
  /** Handshakes, either way, refused because the peer's certificate is revoked. */
  peer_revoked_refused_total = 0;
  /** Open sessions closed because a snapshot revoked the peer's (or this sidecar's) certificate. */
  revoked_sessions_closed_total = 0;
  /** Outbound requests refused locally because this sidecar's own certificate is revoked. */
  outbound_requests_self_revoked_total = 0;

  /** Answers the sidecar gave itself, by Envoy response flag (kept out of the field list: toRecord names them). */
  readonly #flags = new Map<ResponseFlag, number>();

  countFlag(flag: ResponseFlag): void {
    this.#flags.set(flag, (this.#flags.get(flag) ?? 0) + 1);
  }

  /** A copy of every counter, by name; local answers as `local_replies_<flag>_total` for each flag seen. */
  toRecord(): Record<string, number> {
    const out = { ...this } as unknown as Record<string, number>;
    for (const [flag, n] of this.#flags) out[`local_replies_${flag.toLowerCase()}_total`] = n;
    return out;
  }
}
