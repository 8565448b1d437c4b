import type { MeshSnapshot } from '../api/control-plane-api.js';
import type { Endpoint, ServiceDirectory, ServicePortEntry } from '../proxy/index.js';

interface Entry {
  endpoints: Endpoint[];
  ports: ServicePortEntry[];
  identities: ReadonlySet<string>;
}

/** The services of the latest discovery snapshot, indexed for the proxy's per-request lookup. */
export class SnapshotDirectory implements ServiceDirectory {
  #byName = new Map<string, Entry>();
  #namespaces = new Set<string>();
  version = 0;

  update(snapshot: MeshSnapshot): void {
    const next = new Map<string, Entry>();
    for (const s of snapshot.services) {
      next.set(`${s.name}.${s.namespace}`, {
        // An endpoint an older control plane sends without health is healthy.
        endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, spiffeId: e.spiffeId, labels: { ...e.labels }, healthy: e.healthy !== false, locality: e.locality ?? '' })),
        ports: (s.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
        identities: new Set(s.identities),
      });
    }
    this.#byName = next;
    this.#namespaces = new Set(snapshot.services.map((s) => s.namespace));
    this.version = snapshot.version;
  }

  lookup(service: string, namespace: string): Entry | undefined {
    return this.#byName.get(`${service}.${namespace}`);
  }

  hasNamespace(namespace: string): boolean {
    return this.#namespaces.has(namespace);
  }

  get serviceCount(): number {
    return this.#byName.size;
  }
}
