// What the traffic engine reads: the mesh's services as a calling sidecar sees them, and the
// calling workload. Plain data, so the engine is tested without sockets and reused by the CLI.

/** A port of a service, Kubernetes Service style: callers use `port`, the app listens on `targetPort`. */
export interface ServicePortView {
  readonly name: string;
  readonly port: number;
  /** Istio's protocol of the port: by `appProtocol`, else the name's prefix, else undefined (sniffed). */
  readonly protocol?: TrafficProtocol;
}

export type TrafficProtocol = 'http' | 'http2' | 'grpc' | 'grpc-web' | 'tcp' | 'tls' | 'https';

/** One workload serving a service, as the caller reaches it (its sidecar's inbound listener). */
export interface EndpointView {
  /** `address:port` of the peer sidecar; stable for the endpoint's life, the key of per-endpoint state. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly spiffeId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `region/zone/subzone`, any part may be empty; '' when unknown. */
  readonly locality: string;
  /** False while the workload's own health check fails or it drains: kept out of balancing. */
  readonly healthy: boolean;
}

/** A mesh service (registered workloads) as one snapshot carries it. */
export interface ServiceView {
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly ServicePortView[];
  readonly endpoints: readonly EndpointView[];
}

/** The workload whose sidecar routes: sourceLabels / sourceNamespace / exportTo read it. */
export interface CallerView {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `region/zone/subzone` of the caller, '' when unknown (locality load balancing). */
  readonly locality: string;
}
