// ServiceEntry (networking.istio.io/v1, v1beta1, v1alpha3): https://istio.io/latest/docs/reference/config/networking/service-entry/
// The cross checks are the CRD's own rules (resolution vs endpoints and addresses).
import { ipBits } from '../checks/network.js';
import type { ServiceEntry } from '../generated/types.js';
import type { PathIssue } from '../schema-issues.js';
import { enumOf, kindSchema, labels, list, map, obj, port, ref, str, uint32 } from './common.js';
import { arr, pathIssue, type KindDefinition } from './kind.js';

const defs = {
  ServiceEntrySpec: obj(
    {
      hosts: list(str('serviceEntryHost'), { minItems: 1, maxItems: 256 }),
      addresses: list(str('cidr', { maxLength: 64 }), { maxItems: 256 }),
      ports: list(ref('ServicePort'), { maxItems: 256, uniqueBy: 'number' }),
      location: enumOf('MESH_EXTERNAL', 'MESH_INTERNAL'),
      resolution: enumOf('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'),
      endpoints: list(ref('WorkloadEntry'), { maxItems: 4096 }),
      workloadSelector: obj({ labels }),
      exportTo: list(str('exportTo')),
      subjectAltNames: list(str()),
    },
    { required: ['hosts'], exclusive: [['workloadSelector', 'endpoints']] },
  ),
  ServicePort: obj(
    { number: port, protocol: str('protocol', { maxLength: 256 }), name: str('portName', { maxLength: 256 }), targetPort: port },
    { required: ['number', 'name'] },
  ),
  WorkloadEntry: obj({
    address: str(undefined, { maxLength: 256 }),
    ports: map(port, 'portName', { maxProperties: 128 }),
    labels,
    network: str(undefined, { maxLength: 2048 }),
    locality: str(undefined, { maxLength: 2048 }),
    weight: uint32,
    serviceAccount: str(undefined, { maxLength: 253 }),
  }),
};

function resolutionRules(se: ServiceEntry): PathIssue[] {
  const out: PathIssue[] = [];
  const resolution = se.spec.resolution ?? 'NONE';
  const endpoints = arr(se.spec.endpoints);
  if (resolution === 'NONE' && se.spec.endpoints !== undefined) {
    out.push(pathIssue(['spec', 'endpoints'], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', 'resolution NONE cannot set endpoints', 'key'));
  }
  if (resolution !== 'NONE' && resolution !== 'STATIC') {
    arr(se.spec.addresses).forEach((a, i) => {
      if (typeof a === 'string' && a.includes('/')) {
        out.push(pathIssue(['spec', 'addresses', i], 'WEFT_CONFIG_INVALID_CIDR', `CIDR addresses are allowed only with resolution NONE or STATIC, not ${resolution}`));
      }
    });
  }
  if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
    out.push(pathIssue(['spec', 'endpoints'], 'WEFT_CONFIG_OUT_OF_RANGE', 'resolution DNS_ROUND_ROBIN allows at most one endpoint'));
  }
  endpoints.forEach((ep, i) => {
    const address = ep?.address;
    if (address === undefined && ep?.network === undefined) {
      out.push(pathIssue(['spec', 'endpoints', i], 'WEFT_CONFIG_REQUIRED_FIELD', 'an endpoint needs an address (or a network)'));
    } else if (typeof address === 'string' && address.startsWith('unix://')) {
      if (ep?.ports !== undefined) out.push(pathIssue(['spec', 'endpoints', i, 'ports'], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', 'a unix domain socket endpoint has no ports', 'key'));
    } else if (resolution === 'STATIC' && typeof address === 'string' && ipBits(address) === undefined) {
      out.push(pathIssue(['spec', 'endpoints', i, 'address'], 'WEFT_CONFIG_INVALID_CIDR', `resolution STATIC needs IP addresses; ${JSON.stringify(address)} is not one`));
    }
  });
  return out;
}

export const serviceEntry: KindDefinition<ServiceEntry> = {
  kind: 'ServiceEntry',
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  schema: kindSchema({ kind: 'ServiceEntry', group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], defs }),
  crossChecks: [resolutionRules],
};
