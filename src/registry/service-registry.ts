import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { parseSpiffeId, workloadOf } from '../identity/spiffe-id.js';
import type { Clock } from '../lib/clock.js';
import { systemClock } from '../lib/clock.js';
import { RegistryError } from './errors.js';
import { validateLabels } from './labels.js';
import { checkIdentityLimits, DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from './limits.js';
import { normalizeLocality } from './locality.js';
import { portConflict, validatePorts, type ServicePort } from './ports.js';

/** What a workload says about itself when it registers; its identity comes from its SVID. */
export interface Registration {
  readonly namespace: string;
  readonly services: readonly string[];
  readonly ports: readonly ServicePort[];
  readonly labels: Readonly<Record<string, string>>;
  readonly address: string;
  readonly inboundPort: number;
  /** `region/zone/subzone`, or '' (absent: '') when unknown. */
  readonly locality?: string;
  /** Whether the workload's app passes its health check (absent: true, a sidecar that does not say). */
  readonly healthy?: boolean;
}

export interface Workload extends Registration {
  readonly id: string;
  readonly spiffeId: string;
  readonly leaseExpiresAt: number;
}

export interface ServiceEndpoint {
  readonly workloadId: string;
  readonly address: string;
  readonly port: number;
  readonly spiffeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly locality: string;
  /** False while the workload's app fails its health check, or the workload drains: callers keep it out of balancing. */
  readonly healthy: boolean;
}

export interface ServiceView {
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  readonly endpoints: readonly ServiceEndpoint[];
  /** The identities allowed to serve the service (secure naming). */
  readonly identities: readonly string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The service registry: which workloads run, which services they serve, and where. Registrations
 * hold a lease; a workload that stops renewing it leaves the registry at the next `expire()`.
 *
 * Secure naming: a workload may serve service S of namespace N only when its identity is
 * spiffe://<td>/ns/N/sa/S, so the identities of a service are known before any workload registers
 * and a workload with another identity can never add itself to the service's endpoints.
 */
export class ServiceRegistry {
  readonly #trustDomain: string;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #limits: RegistryLimits;
  readonly #workloads = new Map<string, Workload>();
  readonly #listeners = new Set<() => void>();
  #version = 1;

  constructor(opts: { trustDomain: string; clock?: Clock; leaseMs?: number; limits?: Partial<RegistryLimits> }) {
    this.#trustDomain = opts.trustDomain;
    this.#limits = { ...DEFAULT_REGISTRY_LIMITS, ...opts.limits };
    this.#clock = opts.clock ?? systemClock;
    this.#leaseMs = opts.leaseMs ?? 30_000;
  }

  get version(): number {
    return this.#version;
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Registers a workload with identity `spiffeId`. The same identity registering the same address
   * and port again replaces its earlier registration (a restarted sidecar).
   *
   * @throws RegistryError WEFT_REGISTRATION_INVALID for malformed fields, WEFT_REGISTRATION_FORBIDDEN
   *   when the identity may not serve a service it names, WEFT_REGISTRATION_LIMIT or
   *   WEFT_REGISTRATION_TOO_LARGE when the identity would hold more than its limits allow.
   */
  register(registration: Registration, spiffeId: string): Workload {
    const reg = validateRegistration(registration);
    this.#authorize(reg, spiffeId);
    const replaced = (w: Workload) => w.spiffeId === spiffeId && w.address === reg.address && w.inboundPort === reg.inboundPort;
    checkIdentityLimits(this.#heldBy(spiffeId).filter((w) => !replaced(w)), reg, spiffeId, this.#limits);
    this.#checkPorts(reg, (w) => !replaced(w));
    for (const [id, w] of this.#workloads) if (replaced(w)) this.#workloads.delete(id);
    const workload: Workload = {
      ...reg,
      id: randomBytes(9).toString('base64url'),
      spiffeId,
      leaseExpiresAt: this.#clock.now() + this.#leaseMs,
    };
    this.#workloads.set(workload.id, workload);
    this.#changed();
    return workload;
  }

  /**
   * Extends a lease; the caller must be the workload's own identity. `healthy`, when given, is
   * the app's health as its sidecar last saw it: a change reaches every caller's snapshot.
   */
  keepAlive(workloadId: string, spiffeId: string, healthy?: boolean): Workload {
    const w = this.#own(workloadId, spiffeId);
    const changed = healthy !== undefined && healthy !== (w.healthy ?? true);
    const renewed = { ...w, leaseExpiresAt: this.#clock.now() + this.#leaseMs, ...(changed ? { healthy } : {}) };
    this.#workloads.set(workloadId, renewed);
    if (changed) this.#changed();
    return renewed;
  }

  deregister(workloadId: string, spiffeId: string): void {
    this.#own(workloadId, spiffeId);
    this.#workloads.delete(workloadId);
    this.#changed();
  }

  /** Removes every workload whose lease has run out; returns how many left. */
  expire(): number {
    const now = this.#clock.now();
    let removed = 0;
    for (const [id, w] of this.#workloads) {
      if (w.leaseExpiresAt <= now) {
        this.#workloads.delete(id);
        removed++;
      }
    }
    if (removed > 0) this.#changed();
    return removed;
  }

  /** The workload registered under `workloadId`, if its lease still runs. */
  workload(workloadId: string): Workload | undefined {
    return this.#workloads.get(workloadId);
  }

  workloads(): Workload[] {
    return [...this.#workloads.values()];
  }

  /**
   * Loads workloads saved by an earlier run (e.g. `workloads()` written to disk), so a restarted
   * control plane serves the same endpoints while sidecars reconnect. Each entry is validated like
   * a new registration and keeps its id (its sidecar's keep-alives still find it), and each gets a
   * fresh lease of `leaseMs + graceMs` from now, whatever its saved deadline: its sidecar could not
   * renew while the control plane was down (etcd resets its leases' TTLs on a leader change for the
   * same reason). `graceMs` covers the longest a sidecar waits between reconnect attempts. A
   * workload that is really gone simply lets the fresh lease run out.
   */
  restore(saved: readonly Workload[], opts: { graceMs?: number } = {}): number {
    const leaseExpiresAt = this.#clock.now() + this.#leaseMs + (opts.graceMs ?? 0);
    let restored = 0;
    for (const w of saved) {
      if (typeof w !== 'object' || w === null || typeof w.id !== 'string' || typeof w.spiffeId !== 'string') continue;
      try {
        const reg = validateRegistration(w);
        this.#authorize(reg, w.spiffeId);
        checkIdentityLimits(this.#heldBy(w.spiffeId), reg, w.spiffeId, this.#limits);
        this.#checkPorts(reg, () => true);
        this.#workloads.set(w.id, { ...reg, id: w.id, spiffeId: w.spiffeId, leaseExpiresAt });
        restored++;
      } catch {
        // A saved entry that no longer validates is dropped; its sidecar registers again.
      }
    }
    if (restored > 0) this.#changed();
    return restored;
  }

  /** Every service with at least one registered endpoint, sorted by namespace and name. */
  services(): ServiceView[] {
    const byKey = new Map<string, { name: string; namespace: string; ports: Map<number, ServicePort>; endpoints: ServiceEndpoint[] }>();
    for (const w of this.#workloads.values()) {
      for (const name of w.services) {
        const key = `${w.namespace}/${name}`;
        let svc = byKey.get(key);
        if (!svc) byKey.set(key, (svc = { name, namespace: w.namespace, ports: new Map(), endpoints: [] }));
        for (const p of w.ports) {
          const seen = svc.ports.get(p.port);
          // The target port is each workload's own; the service shows it only while all agree.
          if (seen === undefined) svc.ports.set(p.port, p);
          else if ((seen.targetPort ?? 0) !== (p.targetPort ?? 0) && seen.targetPort !== undefined) svc.ports.set(p.port, { name: seen.name, port: seen.port, protocol: seen.protocol, ...(seen.appProtocol === undefined ? {} : { appProtocol: seen.appProtocol }) });
        }
        svc.endpoints.push({ workloadId: w.id, address: w.address, port: w.inboundPort, spiffeId: w.spiffeId, labels: w.labels, locality: w.locality ?? '', healthy: w.healthy ?? true });
      }
    }
    return [...byKey.keys()].sort().map((key) => {
      const s = byKey.get(key)!;
      return {
        name: s.name,
        namespace: s.namespace,
        ports: [...s.ports.values()].sort((a, b) => a.port - b.port),
        endpoints: s.endpoints.sort((a, b) => a.workloadId.localeCompare(b.workloadId)),
        identities: [this.serviceIdentity(s.namespace, s.name)],
      };
    });
  }

  /** The one identity that may serve `name` in `namespace`. */
  serviceIdentity(namespace: string, name: string): string {
    return `spiffe://${this.#trustDomain}/ns/${namespace}/sa/${name}`;
  }

  #authorize(reg: Registration, spiffeId: string): void {
    const id = parseSpiffeId(spiffeId);
    const workload = id.trustDomain === this.#trustDomain ? workloadOf(id) : undefined;
    if (!workload) {
      throw new RegistryError('WEFT_REGISTRATION_FORBIDDEN', `identity ${spiffeId} is not a workload identity of trust domain ${this.#trustDomain}`);
    }
    if (workload.namespace !== reg.namespace) {
      throw new RegistryError('WEFT_REGISTRATION_FORBIDDEN', `identity ${spiffeId} cannot register in namespace "${reg.namespace}": its namespace is "${workload.namespace}"`);
    }
    for (const service of reg.services) {
      if (this.serviceIdentity(reg.namespace, service) !== spiffeId) {
        throw new RegistryError(
          'WEFT_REGISTRATION_FORBIDDEN',
          `identity ${spiffeId} cannot serve ${service}.${reg.namespace}: only ${this.serviceIdentity(reg.namespace, service)} may (secure naming)`,
        );
      }
    }
  }

  /**
   * Refuses ports that contradict those of another workload of the same service (`kept` picks the
   * workloads that stay: a re-registration does not conflict with the one it replaces).
   */
  #checkPorts(reg: Registration, kept: (w: Workload) => boolean): void {
    for (const service of reg.services) {
      const others = [...this.#workloads.values()].filter((w) => kept(w) && w.namespace === reg.namespace && w.services.includes(service)).flatMap((w) => w.ports);
      const conflict = portConflict(reg.ports, others, `${service}.${reg.namespace}`);
      if (conflict !== undefined) throw new RegistryError('WEFT_REGISTRATION_CONFLICT', conflict);
    }
  }

  #heldBy(spiffeId: string): Workload[] {
    return [...this.#workloads.values()].filter((w) => w.spiffeId === spiffeId);
  }

  #own(workloadId: string, spiffeId: string): Workload {
    const w = this.#workloads.get(workloadId);
    if (!w || w.spiffeId !== spiffeId) {
      throw new RegistryError('WEFT_WORKLOAD_NOT_FOUND', `no registration ${JSON.stringify(workloadId)} for ${spiffeId}: register again`);
    }
    return w;
  }

  #changed(): void {
    this.#version++;
    for (const listener of this.#listeners) listener();
  }
}

function invalid(message: string): never {
  throw new RegistryError('WEFT_REGISTRATION_INVALID', message);
}

/** Checks every field of a registration; the first problem is reported with its field name. Returns it normalized. */
export function validateRegistration(reg: Registration): Registration {
  if (typeof reg.namespace !== 'string' || !DNS_LABEL.test(reg.namespace)) invalid(`namespace ${JSON.stringify(String(reg.namespace).slice(0, 80))} is not a DNS label (lowercase letters, digits, '-', at most 63)`);
  if (!Array.isArray(reg.services) || reg.services.length === 0) invalid('services: at least one service name is required');
  if (reg.services.length > 16) invalid(`services: ${reg.services.length} services; a workload serves at most 16`);
  for (const [i, s] of reg.services.entries()) {
    if (typeof s !== 'string' || !DNS_LABEL.test(s)) invalid(`services[${i}]: ${JSON.stringify(String(s).slice(0, 80))} is not a DNS label`);
  }
  if (new Set(reg.services).size !== reg.services.length) invalid('services: a service is listed twice');
  const ports = validatePorts(reg.ports);
  validateLabels(reg.labels);
  if (typeof reg.address !== 'string' || isIP(reg.address) === 0) invalid(`address: ${JSON.stringify(String(reg.address).slice(0, 80))} is not an IP address`);
  if (!Number.isInteger(reg.inboundPort) || reg.inboundPort < 1 || reg.inboundPort > 65535) invalid(`inboundPort: ${reg.inboundPort} is not a port number`);
  const locality = normalizeLocality(reg.locality ?? '');
  if (reg.healthy !== undefined && typeof reg.healthy !== 'boolean') invalid('healthy: true or false');
  return { namespace: reg.namespace, services: reg.services, ports, labels: reg.labels, address: reg.address, inboundPort: reg.inboundPort, locality, healthy: reg.healthy ?? true };
}
