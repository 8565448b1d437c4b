// What `analyze` takes and returns.
import type { MeshConfigSpec } from '../generated/types.js';
import type { StoredResource } from '../stored.js';

/** The protocols the registry declares for a port. */
export type PortProtocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'TCP';

/** One port of a registered service, as the workload serves it. */
export interface AnalyzedPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: PortProtocol;
}

/** A service a registered workload serves (an endpoint of `name.<workload namespace>`). */
export interface AnalyzedService {
  readonly name: string;
  readonly ports: readonly AnalyzedPort[];
}

/** A registered workload as the analyzer sees it (from the control plane's registry). */
export interface AnalyzedWorkload {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly services: readonly AnalyzedService[];
}

export interface AnalyzeInput {
  /** Validated, deep-frozen resources (the store's content, possibly with files laid over it). */
  readonly resources: readonly StoredResource[];
  /** The effective MeshConfig spec (the stored one, else the defaults). */
  readonly mesh: MeshConfigSpec;
  /** The mesh's trust domain (the CA's); MeshConfig's `trustDomainAliases` are added to it. */
  readonly trustDomain: string;
  /** Undefined when no registry is at hand (files analyzed offline): lints that need it are skipped. */
  readonly workloads: readonly AnalyzedWorkload[] | undefined;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Stable code, `WA` and three digits; docs/analyze.md explains each. */
  readonly code: string;
  readonly severity: Severity;
  /** One sentence for a human. */
  readonly message: string;
  /** Key of the resource concerned (`AuthorizationPolicy/foo/deny-all`), or `mesh` for the analysis as a whole. */
  readonly resource: string;
  /** The field at fault, when one is: `spec.rules[0].to[0].operation.paths`. */
  readonly path?: string;
}
