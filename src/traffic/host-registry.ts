// The hosts a calling sidecar can route to: the mesh's services (every name Kubernetes DNS would
// give them from the caller's namespace) and the ServiceEntry hosts exported to the caller
// (exact, short names in the entry's namespace, `*.` wildcards, literal IP addresses). It
// answers `resolve`: which host an authority names, on which port, or why none.
import type { MeshConfigSpec, ServiceEntry } from '../config/generated/types.js';
import type { StoredResource } from '../config/stored.js';
import { hostKeyIn, meshNameOf, parseAuthority, serviceHostKey, wildcardCovers } from './host.js';
import type { ServicePortView, ServiceView } from './types.js';

/** A ServiceEntry as routing reads it (one per host it declares). */
export interface ServiceEntryView {
  /** `namespace/name` of the ServiceEntry. */
  readonly ref: string;
  readonly namespace: string;
  /** The host as declared, lower case (`*.example.com` for a wildcard). */
  readonly host: string;
  readonly ports: readonly { readonly number: number; readonly name: string; readonly protocol: string | undefined; readonly targetPort: number | undefined }[];
  readonly resolution: NonNullable<ServiceEntry['spec']['resolution']>;
  readonly location: NonNullable<ServiceEntry['spec']['location']>;
  readonly endpoints: NonNullable<ServiceEntry['spec']['endpoints']>;
  readonly addresses: readonly string[];
}

export type HostEntry =
  | { readonly kind: 'service'; readonly key: string; readonly service: ServiceView }
  | { readonly kind: 'service-entry'; readonly key: string; readonly serviceEntry: ServiceEntryView };

export type OutboundTrafficPolicyMode = MeshConfigSpec['outboundTrafficPolicy']['mode'];

/** The answer of `resolve`. */
export type HostResolution =
  | { readonly kind: 'service'; readonly host: string; readonly port: number; readonly service: ServiceView; readonly servicePort: ServicePortView }
  | { readonly kind: 'service-entry'; readonly host: string; readonly port: number; readonly serviceEntry: ServiceEntryView }
  /** The host is known but does not serve the port. */
  | { readonly kind: 'unknown-port'; readonly host: string; readonly port: number; readonly reason: string }
  /**
   * Neither a service nor a ServiceEntry host: the proxy applies MeshConfig's
   * outboundTrafficPolicy (ALLOW_ANY: pass through; REGISTRY_ONLY: blackhole). `meshShaped` says
   * the name looks like `name.namespace[.svc[.<domain>]]`, so "unknown service" is the right answer.
   */
  | { readonly kind: 'unregistered'; readonly host: string; readonly port: number; readonly meshShaped: boolean; readonly outboundTrafficPolicy: OutboundTrafficPolicyMode }
  /** The authority is malformed. */
  | { readonly kind: 'invalid'; readonly reason: string };

export interface HostRegistryInput {
  readonly services: readonly ServiceView[];
  readonly serviceEntries: readonly StoredResource<ServiceEntry>[];
  readonly callerNamespace: string;
  readonly clusterDomain: string;
  readonly outboundTrafficPolicy: OutboundTrafficPolicyMode;
}

export class HostRegistry {
  readonly clusterDomain: string;
  readonly outboundTrafficPolicy: OutboundTrafficPolicyMode;
  readonly #byKey = new Map<string, HostEntry>();
  /** Every name a caller may use, to its host key. */
  readonly #names = new Map<string, string>();
  /** Wildcard ServiceEntry hosts, most specific first. */
  readonly #wildcards: { readonly pattern: string; readonly entry: HostEntry }[] = [];

  /** `serviceEntries` must already be the ones exported to the caller, oldest first. */
  constructor(input: HostRegistryInput) {
    this.clusterDomain = input.clusterDomain;
    this.outboundTrafficPolicy = input.outboundTrafficPolicy;
    const domain = input.clusterDomain;
    for (const s of input.services) {
      const key = serviceHostKey(s.name, s.namespace, domain);
      if (this.#byKey.has(key)) continue;
      this.#byKey.set(key, { kind: 'service', key, service: s });
      for (const n of [key, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}`]) this.#names.set(n, key);
      if (s.namespace === input.callerNamespace) this.#names.set(s.name, key);
    }
    for (const se of input.serviceEntries) this.#addServiceEntry(se, input.callerNamespace);
    this.#wildcards.sort((a, b) => b.pattern.length - a.pattern.length || (a.pattern < b.pattern ? -1 : 1));
  }

  #addServiceEntry(se: StoredResource<ServiceEntry>, callerNamespace: string): void {
    const ns = se.metadata.namespace;
    for (const declared of se.spec.hosts) {
      const host = declared.toLowerCase().replace(/\.$/, '');
      const view: ServiceEntryView = {
        ref: `${ns}/${se.metadata.name}`,
        namespace: ns,
        host,
        ports: (se.spec.ports ?? []).map((p) => ({ number: p.number, name: p.name, protocol: p.protocol, targetPort: p.targetPort })),
        resolution: se.spec.resolution ?? 'NONE',
        location: se.spec.location ?? 'MESH_EXTERNAL',
        endpoints: se.spec.endpoints ?? [],
        addresses: se.spec.addresses ?? [],
      };
      if (host.startsWith('*')) {
        if (!this.#wildcards.some((w) => w.pattern === host)) this.#wildcards.push({ pattern: host, entry: { kind: 'service-entry', key: host, serviceEntry: view } });
        continue;
      }
      const key = host.includes('.') ? host : serviceHostKey(host, ns, this.clusterDomain);
      if (this.#byKey.has(key)) continue;
      this.#byKey.set(key, { kind: 'service-entry', key, serviceEntry: view });
      this.#names.set(key, key);
      if (!host.includes('.')) {
        this.#names.set(`${host}.${ns}`, key);
        this.#names.set(`${host}.${ns}.svc`, key);
        if (ns === callerNamespace) this.#names.set(host, key);
      }
      for (const a of view.addresses) {
        const ip = parseAuthority(a.includes(':') && !a.startsWith('[') ? `[${a}]` : a);
        if (typeof ip !== 'string' && ip.ip && !this.#names.has(ip.host)) this.#names.set(ip.host, key);
      }
    }
  }

  /** The entry a host key names (an exact key, or a host under a wildcard ServiceEntry). */
  entry(key: string): HostEntry | undefined {
    const exact = this.#byKey.get(key);
    if (exact !== undefined) return exact;
    const w = this.#wildcards.find((x) => x.pattern === key || wildcardCovers(x.pattern, key));
    return w?.entry;
  }

  /** True for a host a ServiceEntry or service declares under exactly this name. */
  isRegistryHost = (host: string): boolean => this.#byKey.has(host);

  /**
   * The host key a resource in `namespace` means by `host` (a route destination, a mirror), when
   * the registry has it; undefined otherwise (Istio drops such a destination).
   */
  destinationKey(host: string, namespace: string): string | undefined {
    const key = hostKeyIn(host, namespace, this.clusterDomain, this.isRegistryHost);
    if (key.startsWith('*')) return undefined;
    return this.entry(key) === undefined ? undefined : key;
  }

  /** The only port a host serves, when it has exactly one: a destination without a port goes there. */
  singlePort(key: string): number | undefined {
    const e = this.entry(key);
    if (e === undefined) return undefined;
    const ports = e.kind === 'service' ? e.service.ports.map((p) => p.port) : e.serviceEntry.ports.map((p) => p.number);
    return ports.length === 1 ? ports[0] : undefined;
  }

  /**
   * What an authority names: a service, a ServiceEntry host, a known host without that port, a
   * host outside the registry, or malformed text. Never throws.
   * @param defaultPort the port the app connected to, used when the authority has none
   */
  resolve(authority: string, defaultPort: number): HostResolution {
    const parsed = parseAuthority(authority);
    if (typeof parsed === 'string') return { kind: 'invalid', reason: parsed };
    const port = parsed.port ?? defaultPort;
    let key = this.#names.get(parsed.host);
    if (key === undefined && !parsed.ip && this.#wildcards.some((w) => wildcardCovers(w.pattern, parsed.host))) key = parsed.host;
    const entry = key === undefined ? undefined : this.entry(key);
    if (entry === undefined || key === undefined) {
      const meshShaped = !parsed.ip && meshNameOf(parsed.host, this.clusterDomain) !== undefined;
      return { kind: 'unregistered', host: parsed.host, port, meshShaped, outboundTrafficPolicy: this.outboundTrafficPolicy };
    }
    if (entry.kind === 'service') {
      const servicePort = entry.service.ports.find((p) => p.port === port);
      if (servicePort === undefined) return { kind: 'unknown-port', host: key, port, reason: `service ${entry.service.name}.${entry.service.namespace} has no port ${port} (it has ${portList(entry.service.ports.map((p) => p.port))})` };
      return { kind: 'service', host: key, port, service: entry.service, servicePort };
    }
    const se = entry.serviceEntry;
    if (se.ports.length > 0 && !se.ports.some((p) => p.number === port)) {
      return { kind: 'unknown-port', host: key, port, reason: `ServiceEntry ${se.ref} declares no port ${port} for ${se.host} (it has ${portList(se.ports.map((p) => p.number))})` };
    }
    return { kind: 'service-entry', host: key, port, serviceEntry: se };
  }
}

function portList(ports: readonly number[]): string {
  return ports.length === 0 ? 'none' : ports.join(', ');
}
