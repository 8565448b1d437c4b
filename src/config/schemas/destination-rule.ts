// DestinationRule (networking.istio.io/v1, v1beta1, v1alpha3): https://istio.io/latest/docs/reference/config/networking/destination-rule/
import type { ClientTLSSettings, ConsistentHashLB, DestinationRule, LocalityLoadBalancerSetting, TrafficPolicy } from '../generated/types.js';
import type { Segment } from '../path.js';
import type { PathIssue } from '../schema-issues.js';
import {
  bool,
  duration,
  enumOf,
  int,
  int32,
  kindSchema,
  labels,
  list,
  map,
  num,
  obj,
  percent,
  port,
  PortSelector,
  ref,
  str,
  text,
  uint32,
  uint64,
} from './common.js';
import { arr, pathIssue, type KindDefinition } from './kind.js';

const trafficPolicyFields = {
  loadBalancer: ref('LoadBalancerSettings'),
  connectionPool: ref('ConnectionPoolSettings'),
  outlierDetection: ref('OutlierDetection'),
  tls: ref('ClientTLSSettings'),
};

const failover = obj({ from: str(), to: str() });

const defs = {
  DestinationRuleSpec: obj(
    {
      host: str('host'),
      trafficPolicy: ref('TrafficPolicy'),
      subsets: list(ref('Subset'), { uniqueBy: 'name' }),
      exportTo: list(str('exportTo')),
      workloadSelector: ref('WorkloadSelector'),
    },
    { required: ['host'] },
  ),
  TrafficPolicy: obj({
    ...trafficPolicyFields,
    portLevelSettings: list(ref('PortTrafficPolicy'), { maxItems: 4096 }),
    tunnel: obj({ protocol: enumOf('CONNECT', 'POST'), targetHost: text(), targetPort: port }, { required: ['targetHost', 'targetPort'] }),
    proxyProtocol: obj({ version: enumOf('V1', 'V2') }),
    retryBudget: obj({ percent, minRetryConcurrency: uint32, budgetInterval: duration }),
  }),
  PortTrafficPolicy: obj({ port: ref('PortSelector'), ...trafficPolicyFields }),
  PortSelector,
  Subset: obj({ name: str('dnsLabel'), labels, trafficPolicy: ref('TrafficPolicy') }, { required: ['name'] }),
  LoadBalancerSettings: obj(
    {
      simple: enumOf('UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'),
      consistentHash: ref('ConsistentHashLB'),
      localityLbSetting: ref('LocalityLoadBalancerSetting'),
      zoneAwareLbSetting: obj({ enabled: bool, failover: list(failover), failoverPriority: list(str()), minClusterSize: { type: 'integer', minimum: 1 } }),
      warmupDurationSecs: duration,
      warmup: obj({ duration, minimumPercent: percent, aggression: num(0) }, { required: ['duration'] }),
    },
    { exclusive: [['simple', 'consistentHash'], ['warmupDurationSecs', 'warmup']] },
  ),
  ConsistentHashLB: obj(
    {
      httpHeaderName: text('headerName'),
      httpCookie: obj(
        { name: text(), path: str(), ttl: duration, attributes: list(obj({ name: text(), value: str() }, { required: ['name'] })) },
        { required: ['name'] },
      ),
      useSourceIp: bool,
      httpQueryParameterName: text(),
      ringHash: obj({ minimumRingSize: uint64 }),
      maglev: obj({ tableSize: uint64 }),
      minimumRingSize: uint64,
    },
    { exclusive: [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'], ['ringHash', 'maglev']] },
  ),
  LocalityLoadBalancerSetting: obj({
    distribute: list(obj({ from: str(), to: map(uint32) })),
    failover: list(failover),
    failoverPriority: list(str()),
    enabled: bool,
  }),
  ConnectionPoolSettings: obj({
    tcp: obj({
      maxConnections: int32,
      connectTimeout: duration,
      tcpKeepalive: obj({ probes: uint32, time: duration, interval: duration }),
      maxConnectionDuration: duration,
      idleTimeout: duration,
    }),
    http: obj({
      http1MaxPendingRequests: int32,
      http2MaxRequests: int32,
      maxRequestsPerConnection: int32,
      maxRetries: int32,
      idleTimeout: duration,
      h2UpgradePolicy: enumOf('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
      useClientProtocol: bool,
      maxConcurrentStreams: int32,
      http2KeepAlive: obj({ interval: duration, timeout: duration }),
    }),
  }),
  OutlierDetection: obj({
    consecutiveErrors: int32,
    splitExternalLocalOriginErrors: bool,
    consecutiveLocalOriginFailures: uint32,
    consecutiveGatewayErrors: uint32,
    consecutive5xxErrors: uint32,
    interval: duration,
    baseEjectionTime: duration,
    maxEjectionPercent: int(0, 100),
    minHealthPercent: int(0, 100),
    outlierDetectionHttpErrorCodes: list(int(100, 599)),
  }),
  ClientTLSSettings: obj({
    mode: enumOf('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
    clientCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    credentialName: str(),
    subjectAltNames: list(text()),
    sni: str(),
    insecureSkipVerify: bool,
    caCrl: str(),
  }),
};

/** Every ClientTLSSettings of a rule (top level, per port, per subset) with its path. */
function tlsSettings(dr: DestinationRule): [Segment[], ClientTLSSettings][] {
  const out: [Segment[], ClientTLSSettings][] = [];
  const fromPolicy = (policy: TrafficPolicy | undefined, at: Segment[]) => {
    if (policy?.tls !== undefined) out.push([[...at, 'tls'], policy.tls]);
    arr(policy?.portLevelSettings).forEach((p, i) => {
      if (p?.tls !== undefined) out.push([[...at, 'portLevelSettings', i, 'tls'], p.tls]);
    });
  };
  fromPolicy(dr.spec.trafficPolicy, ['spec', 'trafficPolicy']);
  arr(dr.spec.subsets).forEach((subset, i) => fromPolicy(subset?.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']));
  return out;
}

const CERT_FIELDS = ['clientCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const;

/** Istio's TLS rules: ISTIO_MUTUAL uses the mesh certificates only; MUTUAL needs a client certificate. */
function tlsRules(dr: DestinationRule): PathIssue[] {
  const out: PathIssue[] = [];
  for (const [at, tls] of tlsSettings(dr)) {
    if (tls.mode === 'ISTIO_MUTUAL') {
      for (const field of CERT_FIELDS) {
        if (tls[field] !== undefined) out.push(pathIssue([...at, field], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', `${JSON.stringify(field)} cannot be set with mode ISTIO_MUTUAL, which uses the mesh certificates`, 'key'));
      }
    } else if (tls.mode === 'MUTUAL' && tls.credentialName === undefined && (tls.clientCertificate === undefined || tls.privateKey === undefined)) {
      out.push(pathIssue([...at, 'mode'], 'WEFT_CONFIG_MISSING_DEPENDENCY', 'mode MUTUAL needs clientCertificate and privateKey, or credentialName'));
    }
  }
  return out;
}

/** Envoy refuses a Maglev table that is not a prime below 5,000,011 (its lookup permutation needs a prime). */
export const MAGLEV_MAX_TABLE_SIZE = 5_000_011;
/** Envoy's `maximum_ring_size` default: a larger minimum makes Envoy refuse the cluster. */
export const RING_HASH_MAX_SIZE = 8_388_608;

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Every ConsistentHashLB of a rule (top level, per port, per subset) with its path. */
function consistentHashSettings(dr: DestinationRule): [Segment[], ConsistentHashLB][] {
  const out: [Segment[], ConsistentHashLB][] = [];
  const fromPolicy = (policy: TrafficPolicy | undefined, at: Segment[]) => {
    const top = policy?.loadBalancer?.consistentHash;
    if (top !== undefined) out.push([[...at, 'loadBalancer', 'consistentHash'], top]);
    arr(policy?.portLevelSettings).forEach((p, i) => {
      const ch = p?.loadBalancer?.consistentHash;
      if (ch !== undefined) out.push([[...at, 'portLevelSettings', i, 'loadBalancer', 'consistentHash'], ch]);
    });
  };
  fromPolicy(dr.spec.trafficPolicy, ['spec', 'trafficPolicy']);
  arr(dr.spec.subsets).forEach((subset, i) => fromPolicy(subset?.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']));
  return out;
}

/** Every LocalityLoadBalancerSetting of a rule (top level, per port, per subset) with its path. */
function localitySettings(dr: DestinationRule): [Segment[], LocalityLoadBalancerSetting][] {
  const out: [Segment[], LocalityLoadBalancerSetting][] = [];
  const fromPolicy = (policy: TrafficPolicy | undefined, at: Segment[]) => {
    const top = policy?.loadBalancer?.localityLbSetting;
    if (top !== undefined) out.push([[...at, 'loadBalancer', 'localityLbSetting'], top]);
    arr(policy?.portLevelSettings).forEach((p, i) => {
      const l = p?.loadBalancer?.localityLbSetting;
      if (l !== undefined) out.push([[...at, 'portLevelSettings', i, 'loadBalancer', 'localityLbSetting'], l]);
    });
  };
  fromPolicy(dr.spec.trafficPolicy, ['spec', 'trafficPolicy']);
  arr(dr.spec.subsets).forEach((subset, i) => fromPolicy(subset?.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']));
  return out;
}

const TOPOLOGY_LABELS = new Set(['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone']);

/** Istio's validateLocalityLbSetting: what it refuses of distribute and failover. */
function localityRules(dr: DestinationRule): PathIssue[] {
  const out: PathIssue[] = [];
  for (const [at, l] of localitySettings(dr)) {
    const distribute = arr(l.distribute);
    const failover = arr(l.failover);
    if (distribute.length > 0 && failover.length > 0) {
      out.push(pathIssue([...at, 'failover'], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', '"distribute" and "failover" cannot both be set', 'key'));
    }
    if (failover.length > 0) {
      arr(l.failoverPriority).forEach((label, i) => {
        if (TOPOLOGY_LABELS.has(label)) out.push(pathIssue([...at, 'failoverPriority', i], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', `topology label ${label} in failoverPriority cannot be combined with "failover"`));
      });
    }
    const seen = new Set<string>();
    distribute.forEach((d, i) => {
      const from = d?.from ?? '';
      if (seen.has(from)) out.push(pathIssue([...at, 'distribute', i, 'from'], 'WEFT_CONFIG_DUPLICATE_ENTRY', `locality ${JSON.stringify(from)} is set twice in distribute`));
      seen.add(from);
      const weights = Object.entries(d?.to ?? {});
      let total = 0;
      for (const [locality, weight] of weights) {
        if (typeof weight === 'number' && (weight < 1 || weight > 100)) {
          out.push(pathIssue([...at, 'distribute', i, 'to', locality], 'WEFT_CONFIG_OUT_OF_RANGE', `locality weight ${weight} must be from 1 to 100`));
        }
        total += typeof weight === 'number' ? weight : 0;
      }
      if (weights.length > 0 && total !== 100) out.push(pathIssue([...at, 'distribute', i, 'to'], 'WEFT_CONFIG_INVALID_VALUE', `locality weights add up to ${total}, not 100`));
    });
    failover.forEach((f, i) => {
      const from = f?.from ?? '';
      const to = f?.to ?? '';
      if (from === to) out.push(pathIssue([...at, 'failover', i], 'WEFT_CONFIG_INVALID_VALUE', 'failover must name two different regions in "from" and "to"'));
      else if (/[/*]/.test(from) || /[/*]/.test(to)) out.push(pathIssue([...at, 'failover', i], 'WEFT_CONFIG_INVALID_VALUE', 'failover names regions only: no "/" and no "*" wildcard'));
    });
  }
  return out;
}

/** Table and ring sizes Envoy would refuse: a table that is not prime, a ring above its maximum. */
function consistentHashRules(dr: DestinationRule): PathIssue[] {
  const out: PathIssue[] = [];
  for (const [at, ch] of consistentHashSettings(dr)) {
    const table = ch.maglev?.tableSize;
    if (typeof table === 'number' && table !== 0 && (!isPrime(table) || table >= MAGLEV_MAX_TABLE_SIZE)) {
      out.push(pathIssue([...at, 'maglev', 'tableSize'], 'WEFT_CONFIG_INVALID_VALUE', `maglev tableSize ${table} must be a prime number below ${MAGLEV_MAX_TABLE_SIZE} (e.g. 65537)`));
    }
    for (const [path, size] of [[['ringHash', 'minimumRingSize'], ch.ringHash?.minimumRingSize], [['minimumRingSize'], ch.minimumRingSize]] as const) {
      if (typeof size === 'number' && size > RING_HASH_MAX_SIZE) {
        out.push(pathIssue([...at, ...path], 'WEFT_CONFIG_OUT_OF_RANGE', `minimumRingSize ${size} is above the maximum ring size ${RING_HASH_MAX_SIZE}`));
      }
    }
  }
  return out;
}

export const destinationRule: KindDefinition<DestinationRule> = {
  kind: 'DestinationRule',
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  schema: kindSchema({ kind: 'DestinationRule', group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], defs }),
  crossChecks: [tlsRules, consistentHashRules, localityRules],
};
