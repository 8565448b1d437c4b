// Computes a workload's snapshot from the registry, the trust bundle and the configuration. The
// parts every sidecar shares (services, bundle, each resource's JSON) are computed once per
// change, so a push to a thousand sidecars costs a thousand scope filters, not a thousand
// serializations.
import { key, tokenLocationNames, type StoredResource, type TokenLocationNames } from '../../config/index.js';
import { encodeSharedSnapshotPart, type ServiceMessage } from '../../api/control-plane-api.js';
import type { ServiceRegistry } from '../../registry/index.js';
import type { BuiltSnapshot, SubscribedWorkload } from './publisher.js';
import { scopeResources } from './scope.js';

export interface SnapshotSources {
  readonly registry: ServiceRegistry;
  readonly trustDomain: string;
  /** DER of each trust anchor; its identity changes when the bundle does. */
  trustBundle(): readonly Buffer[];
  /** Every stored resource, and a number that changes whenever they do. */
  resources(): { readonly revision: number; readonly items: readonly StoredResource[] };
  /** The CA's revoked serials, and a number that changes whenever they do. */
  revocations?(): { readonly version: number; readonly serials: readonly string[] };
}

export class SnapshotBuilder {
  readonly #src: SnapshotSources;
  #servicesFor = -1;
  #services: ServiceMessage[] = [];
  #resourcesFor = -1;
  #sorted: readonly StoredResource[] = [];
  /** The mesh's token locations, and a key that changes only when they do. */
  #tokens: { names: TokenLocationNames; key: string; bytes: number } = { names: { params: [], cookies: [], headers: [] }, key: '', bytes: 0 };
  #json = new Map<string, string>();
  /** Workloads with equal namespace and labels receive equal resources: computed once per change. */
  #scopes = new Map<string, { signature: string; resources: string[]; bytes: number }>();
  #shared: { id: string; bytes: Buffer } | undefined;

  constructor(sources: SnapshotSources) {
    this.#src = sources;
  }

  build(workload: SubscribedWorkload): BuiltSnapshot {
    const services = this.#currentServices();
    const scope = this.#scopeOf(workload);
    const bundle = this.#src.trustBundle();
    const bundleId = bundle.map((b) => b.subarray(-16).toString('hex')).join('.');
    const sharedId = `${this.#servicesFor}|${bundleId}`;
    if (this.#shared?.id !== sharedId) this.#shared = { id: sharedId, bytes: encodeSharedSnapshotPart({ trustBundle: [...bundle], services }) };
    const revoked = this.#src.revocations?.() ?? { version: 0, serials: [] };
    const tokens = this.#tokens;
    return {
      signature: `${sharedId}|${scope.signature}|r${revoked.version}|t${tokens.key}`,
      servicesVersion: this.#servicesFor,
      content: { trustDomain: this.#src.trustDomain, trustBundle: [...bundle], services, resources: scope.resources, revokedSerials: [...revoked.serials], tokenParams: tokens.names.params, tokenCookies: tokens.names.cookies, tokenHeaders: tokens.names.headers },
      sharedEncoding: this.#shared.bytes,
      // Each resource is a length-delimited string field: its bytes plus a few of framing.
      bytes: { shared: this.#shared.bytes.length, own: scope.bytes + tokens.bytes + Buffer.byteLength(this.#src.trustDomain) + 64 },
    };
  }

  #scopeOf(workload: SubscribedWorkload): { signature: string; resources: string[]; bytes: number } {
    const all = this.#currentResources();
    const labels = Object.keys(workload.labels).sort().map((k) => `${k}=${workload.labels[k]}`);
    const cacheKey = `${workload.namespace}|${labels.join(',')}`;
    let scope = this.#scopes.get(cacheKey);
    if (scope === undefined) {
      const scoped = scopeResources(all, workload);
      const ids = scoped.map((r) => `${key(r)}@${r.metadata.resourceVersion}`);
      const resources = scoped.map((r, i) => this.#jsonOf(ids[i]!, r));
      scope = { signature: ids.join(','), resources, bytes: resources.reduce((n, json) => n + Buffer.byteLength(json) + 8, 0) };
      this.#scopes.set(cacheKey, scope);
    }
    return scope;
  }

  #currentServices(): ServiceMessage[] {
    const registry = this.#src.registry;
    if (this.#servicesFor !== registry.version) {
      this.#servicesFor = registry.version;
      this.#services = registry.services().map((s) => ({
        name: s.name,
        namespace: s.namespace,
        ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, targetPort: p.targetPort ?? 0, appProtocol: p.appProtocol ?? '' })),
        endpoints: s.endpoints.map((e) => ({ ...e, labels: { ...e.labels } })),
        identities: [...s.identities],
      }));
    }
    return this.#services;
  }

  #currentResources(): readonly StoredResource[] {
    const { revision, items } = this.#src.resources();
    if (revision !== this.#resourcesFor) {
      this.#resourcesFor = revision;
      this.#scopes.clear();
      this.#sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      const live = new Set(this.#sorted.map((r) => `${key(r)}@${r.metadata.resourceVersion}`));
      for (const id of this.#json.keys()) if (!live.has(id)) this.#json.delete(id);
      const names = tokenLocationNames(this.#sorted);
      const namesKey = JSON.stringify(names);
      if (namesKey !== JSON.stringify(this.#tokens.names)) this.#tokens = { names, key: String(this.#resourcesFor), bytes: Buffer.byteLength(namesKey) };
    }
    return this.#sorted;
  }

  #jsonOf(id: string, resource: StoredResource): string {
    let json = this.#json.get(id);
    if (json === undefined) this.#json.set(id, (json = JSON.stringify(resource)));
    return json;
  }
}
