// WA011: a DestinationRule host or a VirtualService destination that names neither a registered
// service nor a ServiceEntry host. Needs the registry. Wildcard hosts are left alone (they name a
// set of hosts, not one).
import type { DestinationRule, Resource, ServiceEntry, VirtualService } from '../../generated/types.js';
import { finding, ofKind, serviceKeyOf, type Context } from '../context.js';
import type { Finding } from '../types.js';

function serviceEntryHosts(ctx: Context): (host: string) => boolean {
  const hosts = ofKind<ServiceEntry>(ctx.input, 'ServiceEntry').flatMap((se) => se.spec.hosts.map((h) => h.toLowerCase()));
  const exact = new Set(hosts.filter((h) => !h.startsWith('*')));
  const wildcards = hosts.filter((h) => h.startsWith('*')).map((h) => h.slice(1));
  return (host) => exact.has(host.toLowerCase()) || wildcards.some((suffix) => host.toLowerCase().endsWith(suffix));
}

export function unknownHosts(ctx: Context): Finding[] {
  const inServiceEntry = serviceEntryHosts(ctx);
  const known = (host: string, namespace: string) => {
    if (host.includes('*') || inServiceEntry(host)) return true;
    const service = serviceKeyOf(host, namespace);
    return service !== undefined && ctx.endpoints!.has(service);
  };
  const out: Finding[] = [];
  const check = (r: Resource, host: string, path: string, what: string) => {
    if (!known(host, r.metadata.namespace!)) {
      out.push(finding('WA011', r, `${what} ${host} is neither a registered service (name, name.namespace or name.namespace.svc.cluster.local) nor a ServiceEntry host, so nothing serves it`, path));
    }
  };
  for (const dr of ofKind<DestinationRule>(ctx.input, 'DestinationRule')) check(dr, dr.spec.host, 'spec.host', 'host');
  for (const vs of ofKind<VirtualService>(ctx.input, 'VirtualService')) {
    for (const kind of ['http', 'tcp', 'tls'] as const) {
      (vs.spec[kind] ?? []).forEach((route, i) =>
        (route.route ?? []).forEach((d, j) => check(vs, d.destination.host, `spec.${kind}[${i}].route[${j}].destination.host`, 'destination host')),
      );
    }
  }
  return out;
}
