// Test helpers: Istio YAML in, stored resources and findings out.
import type { MeshConfig } from '../generated/types.js';
import { defaultMeshConfigSpec, type StoredResource } from '../stored.js';
import { parseResources } from '../validate.js';
import { analyze } from './index.js';
import type { AnalyzedWorkload, Finding } from './types.js';

/**
 * Parses YAML (validated as an apply would) into stored resources. Creation times follow document
 * order, one second apart, so the first document is the oldest.
 */
export function stored(yaml: string): StoredResource[] {
  const parsed = parseResources(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  return parsed.value.map((r, i) => ({
    ...r,
    metadata: { ...r.metadata, resourceVersion: String(i + 1), creationTimestamp: timestamp(i), generation: 1 },
  }) as StoredResource);
}

/** `2026-01-01T00:00:00Z` plus `seconds` (under a day). */
function timestamp(seconds: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `2026-01-01T${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}Z`;
}

const http = (name: string, port: number) => ({ name, port, protocol: 'HTTP' as const });
const tcp = (name: string, port: number) => ({ name, port, protocol: 'TCP' as const });

/** A small registry: bookinfo's productpage and reviews (v1, v2), a TCP-only database, a mixed cache. */
export const WORKLOADS: readonly AnalyzedWorkload[] = [
  { namespace: 'bookinfo', serviceAccount: 'bookinfo-productpage', labels: { app: 'productpage', version: 'v1' }, services: [{ name: 'productpage', ports: [http('http', 9080)] }] },
  { namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews', labels: { app: 'reviews', version: 'v1' }, services: [{ name: 'reviews', ports: [http('http', 9080)] }] },
  { namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews', labels: { app: 'reviews', version: 'v2' }, services: [{ name: 'reviews', ports: [http('http', 9080)] }] },
  { namespace: 'bookinfo', serviceAccount: 'mysql', labels: { app: 'mysqldb', version: 'v1' }, services: [{ name: 'mysqldb', ports: [tcp('tcp', 3306)] }] },
  { namespace: 'bookinfo', serviceAccount: 'redis', labels: { app: 'redis' }, services: [{ name: 'redis', ports: [tcp('tcp-redis', 6379), http('http-metrics', 9121)] }] },
];

export interface RunOptions {
  /** The registry; 'offline' for none. Default WORKLOADS. */
  readonly workloads?: readonly AnalyzedWorkload[] | 'offline';
  readonly trustDomain?: string;
}

/** Analyzes the YAML (a MeshConfig among it is the mesh's) against the registry. */
export function run(yaml: string, opts: RunOptions = {}): Finding[] {
  const resources = yaml.trim() === '' ? [] : stored(yaml);
  const mesh = resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig');
  const workloads = opts.workloads ?? WORKLOADS;
  return analyze({
    resources,
    mesh: mesh?.spec ?? defaultMeshConfigSpec(),
    trustDomain: opts.trustDomain ?? mesh?.spec.trustDomain ?? 'cluster.local',
    workloads: workloads === 'offline' ? undefined : workloads,
  });
}

/** The findings with one code. */
export const only = (findings: readonly Finding[], code: string): Finding[] => findings.filter((f) => f.code === code);

/** An AuthorizationPolicy document. */
export function policy(name: string, namespace: string, spec: string, annotations?: Record<string, string>): string {
  const meta = annotations === undefined ? '' : `\n  annotations: ${JSON.stringify(annotations)}`;
  return `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: ${namespace}${meta}\nspec:\n${indent(spec)}\n`;
}

/** Indents a YAML block by two spaces. */
export function indent(block: string): string {
  return block.trim().split('\n').map((l) => `  ${l}`).join('\n');
}

/** Joins YAML documents. */
export const docs = (...documents: string[]): string => documents.join('---\n');
