// A rig for traffic-management tests through real sidecars: several workloads of `reviews`
// (each an app behind its own server sidecar, labelled version=v1/v2/...), and a client sidecar
// whose traffic configuration is compiled from YAML resources, as the sidecar compiles a snapshot.
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { defaultMeshConfigSpec } from '../../src/config/index.js';
import type { SidecarProxy, TrafficConfig } from '../../src/proxy/index.js';
import { TrafficCompiler, serviceViews } from '../../src/sidecar/traffic-config.js';
import { fromYaml } from '../../src/traffic/testing/fixtures.js';
import { httpRequest, idOf, MemoryLogger, MeshPki, StaticDirectory, within, type Reply } from './helpers.js';

/** How a workload's app answers: a status, or 200 after holding the response `delayMs`. */
/** The reviews DestinationRule with one subset per version, as Istio's request-routing task writes it. */
export const REVIEWS_SUBSETS = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

export interface Behaviour {
  status: number;
  delayMs: number;
}

export interface Workload {
  version: string;
  behaviour: Behaviour;
  /** Requests the app received. */
  hits: number;
  /** Emits 'hit' with the count after each request the app answers. */
  events: EventEmitter;
  app: Server;
  sidecar: SidecarProxy;
  port: number;
}

export interface TrafficRig {
  workloads: Workload[];
  client: SidecarProxy;
  clientLog: MemoryLogger;
  outboundPort: number;
  /** Compiles `yaml` (VirtualServices, DestinationRules) and puts it in force for the client sidecar. */
  apply: (yaml: string) => TrafficConfig;
  /** GET through the client sidecar to reviews.default:9080. */
  get: (path: string, headers?: Record<string, string>) => Promise<Reply>;
  byVersion: (w: (wl: Workload) => boolean) => Workload[];
  resetHits: () => void;
  close: () => Promise<void>;
}

function startBehavingApp(version: string, behaviour: Behaviour, count: () => void): Promise<Server> {
  const server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      count();
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(behaviour.status, { 'content-type': 'application/json', 'x-app-version': version });
        res.end(JSON.stringify({ version, url: req.url, headers: req.headers, bodyBytes }));
      };
      if (behaviour.delayMs > 0) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => server);
}

/** Resolves once `w` has answered `n` requests since its last reset (event-driven, bounded). */
export function hitsReach(w: Workload, n: number, ms = 10_000): Promise<void> {
  if (w.hits >= n) return Promise.resolve();
  return within(ms, `${n} hits on ${w.version} (have ${w.hits})`, new Promise<void>((resolve) => {
    const on = (count: number): void => {
      if (count < n) return;
      w.events.off('hit', on);
      resolve();
    };
    w.events.on('hit', on);
  }));
}

export async function startTrafficRig(versions: string[]): Promise<TrafficRig> {
  const { SidecarProxy } = await import('../../src/proxy/index.js');
  const mesh = await MeshPki.create();
  const directory = new StaticDirectory();
  const workloads: Workload[] = [];
  for (const version of versions) {
    const wl = { version, behaviour: { status: 200, delayMs: 0 }, hits: 0, events: new EventEmitter() } as Workload;
    wl.app = await startBehavingApp(version, wl.behaviour, () => wl.events.emit('hit', ++wl.hits));
    const identity = await mesh.identity('reviews');
    wl.sidecar = new SidecarProxy({ identity, directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: (wl.app.address() as { port: number }).port } });
    wl.port = (await wl.sidecar.start()).inboundPort;
    workloads.push(wl);
  }
  const endpoints = workloads.map((w) => ({ address: '127.0.0.1', port: w.port, spiffeId: idOf('reviews'), labels: { app: 'reviews', version: w.version }, workloadId: w.version }));
  directory.set('reviews.default', endpoints.map((e) => ({ address: e.address, port: e.port, spiffeId: e.spiffeId, labels: e.labels })), [idOf('reviews')]);
  const services = serviceViews([{ name: 'reviews', namespace: 'default', ports: [{ name: 'http', port: 9080, protocol: 'http' }], endpoints, identities: [idOf('reviews')] }]);
  const clientLog = new MemoryLogger();
  const compiler = new TrafficCompiler({ namespace: 'default', labels: { app: 'productpage' } }, clientLog);
  let version = 0;
  let cfg: TrafficConfig = compiler.compile({ version, mesh: defaultMeshConfigSpec(), resources: [], services });
  const client = new SidecarProxy({
    identity: await mesh.identity('productpage'),
    directory,
    inbound: { host: '127.0.0.1', port: 0 },
    app: { host: '127.0.0.1', port: 9 },
    outbound: { host: '127.0.0.1', port: 0 },
    logger: clientLog,
    traffic: () => cfg,
  });
  const outboundPort = (await client.start()).outboundPort!;
  return {
    workloads,
    client,
    clientLog,
    outboundPort,
    apply: (yaml) => (cfg = compiler.compile({ version: ++version, mesh: defaultMeshConfigSpec(), resources: fromYaml(yaml), services })),
    get: (path, headers = {}) => httpRequest(outboundPort, { path, headers: { host: 'reviews.default:9080', ...headers } }),
    byVersion: (f) => workloads.filter(f),
    resetHits: () => workloads.forEach((w) => (w.hits = 0)),
    close: async () => {
      await client.drain(2_000);
      for (const w of workloads) {
        await w.sidecar.drain(2_000);
        w.app.closeAllConnections();
        await new Promise<void>((resolve) => w.app.close(() => resolve()));
      }
    },
  };
}
