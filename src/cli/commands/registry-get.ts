// `weft get services` and `weft get endpoints`: the service registry as `kubectl get svc|ep` shows
// Kubernetes': what is registered, from the control plane's admin API (read-only).
import { stringify } from 'yaml';
import { AdminError } from '../../controlplane/admin/errors.js';
import type { ServiceView } from '../../registry/index.js';
import { printJson, printTable, UsageError } from '../output.js';
import { client } from './resources.js';

export type RegistryKind = 'services' | 'endpoints';

/** The registry kind an operator typed (kubectl's names and short names), or undefined. */
export function registryKind(typed: string): RegistryKind | undefined {
  const t = typed.toLowerCase();
  if (t === 'services' || t === 'service' || t === 'svc') return 'services';
  if (t === 'endpoints' || t === 'endpoint' || t === 'ep') return 'endpoints';
  return undefined;
}

/** How many endpoints the ENDPOINTS column names before "+ N more...", as kubectl does. */
const SHOWN_ENDPOINTS = 3;

export async function getRegistry(
  kind: RegistryKind,
  name: string | undefined,
  opts: { namespace: string; allNamespaces?: boolean; output?: string; config?: string },
): Promise<void> {
  if (name !== undefined && opts.allNamespaces) throw new UsageError('a name and -A do not go together');
  const q = opts.allNamespaces ? '' : `?${new URLSearchParams({ namespace: opts.namespace })}`;
  let services = (await client(opts.config).call<{ services: ServiceView[] }>('GET', `/v1/registry/services${q}`)).services;
  if (name !== undefined) {
    services = services.filter((s) => s.name === name);
    if (services.length === 0) throw new AdminError('WEFT_ADMIN_NOT_FOUND', `${kind} "${name}" not found in namespace ${opts.namespace}: no workload of it is registered`);
  }
  const items = services.map((s) => (kind === 'services' ? serviceItem(s) : endpointsItem(s)));
  if (opts.output === 'json') return printJson(name !== undefined ? items[0] : { apiVersion: 'v1', kind: 'List', items });
  if (opts.output === 'yaml') return void process.stdout.write(stringify(name !== undefined ? items[0] : { apiVersion: 'v1', kind: 'List', items }));
  if (services.length === 0) {
    process.stderr.write(`No resources found${opts.allNamespaces ? '' : ` in ${opts.namespace} namespace`}.\n`);
    return;
  }
  const ns = (s: ServiceView) => (opts.allNamespaces ? [s.namespace] : []);
  const nsHeader = opts.allNamespaces ? ['NAMESPACE'] : [];
  const wide = opts.output === 'wide';
  if (kind === 'services') {
    printTable(
      [...nsHeader, 'NAME', 'PORT(S)', 'ENDPOINTS', 'VERSIONS', ...(wide ? ['IDENTITY'] : [])],
      services.map((s) => [...ns(s), s.name, ports(s), String(s.endpoints.length), versions(s), ...(wide ? [s.identities.join(',')] : [])]),
    );
  } else if (!wide) {
    printTable([...nsHeader, 'NAME', 'ENDPOINTS'], services.map((s) => [...ns(s), s.name, endpointList(s)]));
  } else {
    printTable(
      [...nsHeader, 'NAME', 'ENDPOINT', 'WORKLOAD', 'IDENTITY', 'LABELS'],
      services.flatMap((s) => s.endpoints.map((e) => [...ns(s), s.name, `${e.address}:${e.port}`, e.workloadId, e.spiffeId, labels(e.labels)])),
    );
  }
}

function serviceItem(s: ServiceView): Record<string, unknown> {
  return { kind: 'Service', metadata: { name: s.name, namespace: s.namespace }, ports: s.ports, identities: s.identities, endpoints: s.endpoints.length };
}

function endpointsItem(s: ServiceView): Record<string, unknown> {
  return { kind: 'Endpoints', metadata: { name: s.name, namespace: s.namespace }, endpoints: s.endpoints };
}

function ports(s: ServiceView): string {
  return s.ports.map((p) => `${p.port}/${p.protocol}`).join(',') || '<none>';
}

function versions(s: ServiceView): string {
  const v = [...new Set(s.endpoints.map((e) => e.labels.version).filter((x): x is string => x !== undefined))].sort();
  return v.join(',') || '-';
}

function endpointList(s: ServiceView): string {
  const all = s.endpoints.map((e) => `${e.address}:${e.port}`);
  if (all.length === 0) return '<none>';
  return all.length <= SHOWN_ENDPOINTS ? all.join(',') : `${all.slice(0, SHOWN_ENDPOINTS).join(',')} + ${all.length - SHOWN_ENDPOINTS} more...`;
}

export function labels(l: Readonly<Record<string, string>>): string {
  return Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
}
