// One weft sidecar data path with a static service directory, for the datapath benchmark:
//   node sidecar.js CONFIG.json
// CONFIG: { identity: SidecarIdentity, inbound: {host, port}, app: {host, port}, outbound?: {host, port},
//           services: { "name.namespace": { endpoints: Endpoint[], identities: string[] } },
//           policy?: { namespace, labels, resources: Istio resources (JSON) } }
// env WEFT_BENCH_TRAFFIC=1: the client side also gets a compiled traffic configuration (no
// VirtualService or DestinationRule: the default route through the cluster's balancer), as `weft sidecar` has.
// Prints one JSON line `{"inboundPort":…,"outboundPort":…}` once listening; drains on SIGTERM.
import { readFileSync } from 'node:fs';
import { decodeStoredResources } from '../../src/config/index.js';
import { SidecarProxy, type Endpoint, type HostPort, type ServiceEntry, type SidecarIdentity } from '../../src/proxy/index.js';
import { JwksResolver } from '../../src/proxy/jwks/index.js';
import { prepareResources } from '../../src/sidecar/active-config.js';
import { serviceViews, TrafficCompiler } from '../../src/sidecar/traffic-config.js';
import { defaultMeshConfigSpec } from '../../src/config/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';

interface Config {
  identity: SidecarIdentity;
  inbound: HostPort;
  app: HostPort;
  outbound?: HostPort;
  services: Record<string, { endpoints: Endpoint[]; identities: string[] }>;
  policy?: { namespace: string; labels: Record<string, string>; resources: object[] };
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Config;
const entries = new Map<string, ServiceEntry>(Object.entries(config.services).map(([k, v]) => [k, { endpoints: v.endpoints, identities: new Set(v.identities) }]));
// The same validation and compilation a snapshot goes through in `weft sidecar`.
const inbound = config.policy
  ? prepareResources(1, decodeStoredResources(config.policy.resources.map((r) => JSON.stringify(r)), 'bench policy'), {
      namespace: config.policy.namespace,
      labels: config.policy.labels,
      appPort: config.app.port,
      keys: { resolver: new JwksResolver(), now: () => Date.now() },
    }).inbound
  : undefined;
const traffic =
  process.env.WEFT_BENCH_TRAFFIC === '1' && config.outbound
    ? new TrafficCompiler({ namespace: 'default', labels: {} }, silentLogger).compile({
        version: 1,
        mesh: defaultMeshConfigSpec(),
        resources: [],
        services: serviceViews(Object.entries(config.services).map(([k, v]) => {
          const [name, namespace] = k.split('.') as [string, string];
          return { name, namespace, ports: [{ name: 'http', port: 80, protocol: 'HTTP' }], endpoints: v.endpoints.map((e) => ({ ...e, workloadId: e.address })), identities: v.identities };
        })),
      })
    : undefined;
const proxy = new SidecarProxy({
  ...(traffic ? { traffic: () => traffic } : {}),
  ...(inbound ? { policy: () => inbound } : {}),
  identity: config.identity,
  directory: { lookup: (service, namespace) => entries.get(`${service}.${namespace}`) },
  inbound: config.inbound,
  app: config.app,
  ...(config.outbound ? { outbound: config.outbound } : {}),
});
const ports = await proxy.start();
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.once('SIGTERM', () => {
  void proxy.drain(2_000).then(() => {
    process.stderr.write(`${JSON.stringify(proxy.stats())}\n`);
    process.exit(0);
  });
});
