import { WeftError } from '../lib/errors.js';

/** Codes of the data path; each is documented in docs/errors.md. */
export const PROXY_ERROR_CODES = [
  'WEFT_PROXY_BAD_REQUEST',
  'WEFT_PROXY_UNKNOWN_SERVICE',
  'WEFT_PROXY_UNKNOWN_PORT',
  'WEFT_PROXY_NO_ENDPOINTS',
  'WEFT_PROXY_SECURE_NAMING',
  'WEFT_PROXY_UPSTREAM_UNAVAILABLE',
  'WEFT_PROXY_UPSTREAM_RESET',
  'WEFT_PROXY_STREAMS_EXHAUSTED',
  'WEFT_PROXY_APP_UNAVAILABLE',
  'WEFT_PROXY_PEER_REFUSED',
  'WEFT_PROXY_IDENTITY_REVOKED',
  'WEFT_PROXY_EGRESS_BLOCKED',
  'WEFT_PROXY_DNS_FAILED',
  'WEFT_PROXY_DEADLINE_EXCEEDED',
  'WEFT_PROXY_UPGRADE_FAILED',
  'WEFT_PROXY_NO_ROUTE',
  'WEFT_PROXY_NO_CLUSTER',
  'WEFT_PROXY_OVERFLOW',
  'WEFT_PROXY_UPSTREAM_TIMEOUT',
  'WEFT_PROXY_FAULT_ABORT',
] as const;

export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[number];

/**
 * Envoy's response flags (the short names of its `%RESPONSE_FLAGS%`), so an answer the sidecar
 * gives itself reads as Envoy's would in logs, counters and dashboards written for Istio.
 */
export const RESPONSE_FLAGS = ['UH', 'UF', 'UO', 'NR', 'NC', 'URX', 'UT', 'UC', 'UR', 'DC', 'LR', 'LH', 'DI', 'FI', 'RL', 'UAEX', 'DPE', 'UPE', 'DF'] as const;

export type ResponseFlag = (typeof RESPONSE_FLAGS)[number];

/** The flag each failure carries: what Envoy would have set for the same event. */
export const RESPONSE_FLAG_OF: Readonly<Record<ProxyErrorCode, ResponseFlag>> = {
  WEFT_PROXY_BAD_REQUEST: 'DPE',
  // A host that names no service: Envoy finds no route for it.
  WEFT_PROXY_UNKNOWN_SERVICE: 'NR',
  // A port the service does not declare: no route for it.
  WEFT_PROXY_UNKNOWN_PORT: 'NR',
  WEFT_PROXY_NO_ENDPOINTS: 'UH',
  // The peer's certificate failed secure naming: a failed upstream (TLS) connection to Envoy.
  WEFT_PROXY_SECURE_NAMING: 'UF',
  WEFT_PROXY_UPSTREAM_UNAVAILABLE: 'UF',
  WEFT_PROXY_UPSTREAM_RESET: 'UR',
  WEFT_PROXY_STREAMS_EXHAUSTED: 'UO',
  WEFT_PROXY_APP_UNAVAILABLE: 'UF',
  WEFT_PROXY_PEER_REFUSED: 'UF',
  WEFT_PROXY_IDENTITY_REVOKED: 'UF',
  // REGISTRY_ONLY: the host has no route out of the mesh (Istio's BlackHoleCluster / block_all route).
  WEFT_PROXY_EGRESS_BLOCKED: 'NR',
  WEFT_PROXY_DNS_FAILED: 'DF',
  // A gRPC call's grpc-timeout ran out before the upstream answered in full.
  WEFT_PROXY_DEADLINE_EXCEEDED: 'UT',
  // A 101 for another protocol, or one nobody asked for: Envoy's upstream protocol error.
  WEFT_PROXY_UPGRADE_FAILED: 'UPE',
  // A VirtualService matched nothing, or its route cannot be run.
  WEFT_PROXY_NO_ROUTE: 'NR',
  // The route's destination (service, subset) does not exist: Envoy's cluster not found.
  WEFT_PROXY_NO_CLUSTER: 'NC',
  // A DestinationRule connectionPool limit (circuit breaker) is reached.
  WEFT_PROXY_OVERFLOW: 'UO',
  // The route timeout (retries included) or the last per-try timeout passed.
  WEFT_PROXY_UPSTREAM_TIMEOUT: 'UT',
  // A VirtualService fault aborted the request.
  WEFT_PROXY_FAULT_ABORT: 'FI',
};

/**
 * A failure on the request path. `message` is for logs (it may name identities and addresses);
 * `reason` is the short text a caller sees in `x-weft-proxy-error` and the body.
 */
export class ProxyError extends WeftError<ProxyErrorCode> {
  readonly reason: string;
  /** Extra structured fields for the log line (identities, endpoint). */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: ProxyErrorCode, reason: string, options: { message?: string; cause?: unknown; fields?: Record<string, unknown> } = {}) {
    super(code, options.message ?? reason, { cause: options.cause });
    this.name = 'ProxyError';
    this.reason = reason;
    this.fields = options.fields ?? {};
  }
}
