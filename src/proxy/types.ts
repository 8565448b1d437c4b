import type { Clock } from '../lib/clock.js';
import type { ConnectionLimits } from '../lib/connection-guard.js';
import type { InboundPolicy } from './inbound/authorize.js';
import type { Logger } from '../telemetry/logger.js';
import type { TrafficConfig } from './outbound/traffic.js';

/** What the sidecar is: its X.509-SVID, key and the trust anchors of its trust domain. */
export interface SidecarIdentity {
  /** spiffe://<trust domain>/ns/<namespace>/sa/<service account> */
  spiffeId: string;
  trustDomain: string;
  /** PKCS#8 (or SEC1/PKCS#1) PEM of the private key. */
  keyPem: string;
  /** The leaf first, then any intermediates. */
  certChainPem: string;
  /** The X.509 authorities (roots) of the trust domain, PEM. */
  bundlePem: string;
}

/** One workload of a service, reached through its sidecar's inbound port. */
export interface Endpoint {
  address: string;
  /** The peer sidecar's inbound (mTLS) port. */
  port: number;
  spiffeId: string;
  labels: Record<string, string>;
  /** False while the workload's app fails its health check or it drains: never balanced to. Absent: healthy. */
  healthy?: boolean;
  /** `region/zone/subzone`; '' or absent when unknown. */
  locality?: string;
}

/** A port of a service, Kubernetes Service style: callers name `port`, the app listens on `targetPort`. */
export interface ServicePortEntry {
  readonly name: string;
  readonly port: number;
  /** Istio's protocol name (HTTP, GRPC, TCP...), '' for an unnamed (sniffed) port. */
  readonly protocol: string;
}

/** A port this sidecar's workload serves: requests naming `port` go to the app's `targetPort`. */
export interface InboundPort extends ServicePortEntry {
  readonly targetPort: number;
}

/** The answer for one service: where it runs and which identities may serve it. */
export interface ServiceEntry {
  readonly endpoints: readonly Endpoint[];
  /** The service's ports; absent or empty: any port is accepted (no port list known). */
  readonly ports?: readonly ServicePortEntry[];
  /** SPIFFE IDs registered for the service; a server outside this set is refused (secure naming). */
  readonly identities: ReadonlySet<string>;
}

/**
 * The proxy's view of the mesh's services. Called on every outbound request, so it must be a
 * cheap in-memory lookup; the control-plane side replaces its content as snapshots arrive.
 */
export interface ServiceDirectory {
  lookup(service: string, namespace: string): ServiceEntry | undefined;
  /** Whether any service of the mesh is in `namespace`: `NAME.NAMESPACE` for such a namespace is a mesh name, never an external host. */
  hasNamespace?(namespace: string): boolean;
}

/** The protocol of the app's port, as Istio's port protocols name it (HTTP, HTTP2, GRPC), or 'auto'. */
export type AppProtocol = 'http' | 'http2' | 'grpc' | 'auto';

export interface HostPort {
  host: string;
  port: number;
}

export interface SidecarProxyOptions {
  identity: SidecarIdentity;
  directory: ServiceDirectory;
  /** The mTLS listener other sidecars call; port 0 picks one. */
  inbound: HostPort;
  /** The local application, spoken to in plain HTTP/1.1, or h2c as `appProtocol` says. */
  app: HostPort;
  /**
   * What the app's port speaks. 'http': HTTP/1.1 only. 'http2' and 'grpc': h2c (prior knowledge)
   * for every request. 'auto' (the default): gRPC (content-type application/grpc*) and requests
   * the caller's app sent over HTTP/2 go over h2c, unless the app turned h2c down (then HTTP/1.1),
   * everything else over HTTP/1.1.
   */
  appProtocol?: AppProtocol;
  /**
   * The service ports of this workload: a request whose `:authority` names port P goes to
   * `app.host:targetPort` of P; without a port, to the first one. Absent: every request goes to
   * `app` (one port).
   */
  ports?: readonly InboundPort[];
  /** The explicit HTTP proxy the application calls out through (127.0.0.1); omitted: no outbound. */
  outbound?: HostPort;
  logger?: Logger;
  clock?: Clock;
  /** Service DNS suffix accepted after SERVICE.NAMESPACE; default 'svc.cluster.local'. */
  clusterDomain?: string;
  /** Set `x-weft-proxy-error` on locally generated errors (default true; switch off facing untrusted clients). */
  emitErrorHeaders?: boolean;
  /** The inbound policy in force, read per request (absent: no authorization stage). */
  policy?: () => InboundPolicy | undefined;
  /** MeshConfig's outboundTrafficPolicy.mode in force, read per request to a host outside the mesh (absent: ALLOW_ANY, Istio's default). */
  outboundTrafficPolicy?: () => 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** The VirtualService/DestinationRule configuration in force, read per outbound request (absent: every request goes to its service, round robin). */
  traffic?: () => TrafficConfig | undefined;
  /** Cap and handshake deadline of each listener (inbound, outbound); defaults: 4096 and 10 s. */
  limits?: ConnectionLimits;
  /** Streams a peer may open at once on one inbound session (default 1000). */
  maxStreamsPerSession?: number;
  /** Sessions kept to one peer endpoint when each is full of streams (default 8); past it: 503. */
  maxSessionsPerPeer?: number;
  /** Idle time before a mesh session is sent a PING, and how long the answer may take (default 10 s). */
  keepaliveIntervalMs?: number;
}
