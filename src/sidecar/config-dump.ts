// What one sidecar has in force, in the shape `weft proxy-config` prints: its listeners, the
// route to each service it knows, the clusters (one per service port, named as Envoy's are:
// outbound|PORT||FQDN and inbound|PORT||) with the identities secure naming accepts, and their
// endpoints. Built from the last accepted snapshot when the admin endpoint is asked, never on the
// request path.
import type { ServiceMessage } from '../api/control-plane-api.js';

export interface ListenerView {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly direction: 'inbound' | 'outbound' | 'admin';
  readonly protocol: string;
  /** Inbound: whether plaintext callers are accepted (PERMISSIVE or DISABLE). */
  readonly acceptsPlaintext?: boolean;
}

export interface RouteView {
  /** `<service>.<namespace>:<port>`, the Host a caller names. */
  readonly name: string;
  readonly domains: readonly string[];
  readonly cluster: string;
}

export interface ClusterView {
  readonly name: string;
  readonly direction: 'inbound' | 'outbound';
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
  readonly endpoints: number;
  /** SPIFFE IDs a server of this cluster may present (secure naming). */
  readonly identities: readonly string[];
}

export interface EndpointView {
  readonly cluster: string;
  readonly address: string;
  readonly spiffeId: string;
  readonly workloadId: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ConfigDump {
  readonly listeners: ListenerView[];
  readonly routes: RouteView[];
  readonly clusters: ClusterView[];
  readonly endpoints: EndpointView[];
}

export interface DumpInput {
  readonly clusterDomain?: string;
  readonly workload: { readonly service: string; readonly namespace: string; readonly servicePort: number };
  readonly app: { readonly host: string; readonly port: number };
  readonly ports: { readonly inbound: number; readonly outbound?: number; readonly admin?: number };
  readonly hosts: { readonly inbound: string; readonly outbound?: string; readonly admin?: string };
  readonly acceptsPlaintext: boolean;
  readonly services: readonly ServiceMessage[];
}

/** Most services listed; a mesh larger than this is cut (the counts say by how much). */
export const MAX_DUMP_SERVICES = 5_000;

export function configDump(input: DumpInput): ConfigDump & { truncated: boolean } {
  const domain = input.clusterDomain ?? 'cluster.local';
  const w = input.workload;
  const listeners: ListenerView[] = [
    { name: `inbound|${input.ports.inbound}`, address: input.hosts.inbound, port: input.ports.inbound, direction: 'inbound', protocol: 'h2 over mTLS', acceptsPlaintext: input.acceptsPlaintext },
  ];
  if (input.ports.outbound !== undefined) listeners.push({ name: `outbound|${input.ports.outbound}`, address: input.hosts.outbound ?? '127.0.0.1', port: input.ports.outbound, direction: 'outbound', protocol: 'HTTP proxy (CONNECT for TCP)' });
  if (input.ports.admin !== undefined) listeners.push({ name: `admin|${input.ports.admin}`, address: input.hosts.admin ?? '127.0.0.1', port: input.ports.admin, direction: 'admin', protocol: 'HTTP' });
  const inboundCluster = `inbound|${w.servicePort}||`;
  const clusters: ClusterView[] = [{ name: inboundCluster, direction: 'inbound', service: `${w.service}.${w.namespace}.svc.${domain}`, port: w.servicePort, protocol: 'HTTP', endpoints: 1, identities: [] }];
  const endpoints: EndpointView[] = [{ cluster: inboundCluster, address: `${input.app.host}:${input.app.port}`, spiffeId: '', workloadId: 'app', labels: {} }];
  const routes: RouteView[] = [];
  const services = input.services.slice(0, MAX_DUMP_SERVICES);
  for (const s of [...services].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))) {
    const fqdn = `${s.name}.${s.namespace}.svc.${domain}`;
    for (const p of s.ports) {
      const cluster = `outbound|${p.port}||${fqdn}`;
      clusters.push({ name: cluster, direction: 'outbound', service: fqdn, port: p.port, protocol: p.protocol, endpoints: s.endpoints.length, identities: [...s.identities] });
      routes.push({ name: `${s.name}.${s.namespace}:${p.port}`, domains: [`${s.name}.${s.namespace}:${p.port}`, `${fqdn}:${p.port}`, ...(s.namespace === w.namespace ? [`${s.name}:${p.port}`] : [])], cluster });
      for (const e of s.endpoints) endpoints.push({ cluster, address: `${e.address}:${e.port}`, spiffeId: e.spiffeId, workloadId: e.workloadId, labels: { ...e.labels } });
    }
  }
  return { listeners, routes, clusters, endpoints, truncated: input.services.length > services.length };
}
