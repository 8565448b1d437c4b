// A calling sidecar whose outboundTrafficPolicy the test switches, a mesh service behind a serving
// sidecar, and an "external" plain HTTP server on an IP literal (nothing here resolves a name).
import { createServer, type Server } from 'node:net';
import { SidecarProxy } from '../../src/proxy/index.js';
import { endpoint, idOf, MemoryLogger, MeshPki, startApp, StaticDirectory, type App } from './helpers.js';

/** The mesh's namespaces are those of its services, as the sidecar's snapshot directory says. */
export class NamespacedDirectory extends StaticDirectory {
  hasNamespace(namespace: string): boolean {
    return [...this.entries.keys()].some((k) => k.endsWith(`.${namespace}`));
  }
}

export interface EgressRig {
  external: App;
  meshApp: App;
  client: SidecarProxy;
  /** The calling sidecar's outbound port. */
  outbound: number;
  /** A port on 127.0.0.1 nothing listens on. */
  closedPort: number;
  log: MemoryLogger;
  mode: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  close: () => Promise<void>;
}

export async function startEgressRig(): Promise<EgressRig> {
  const mesh = await MeshPki.create();
  const external = await startApp('external');
  const meshApp = await startApp('details');
  const directory = new NamespacedDirectory();
  const server = new SidecarProxy({ identity: await mesh.identity('details'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: meshApp.port } });
  const serverPort = (await server.start()).inboundPort;
  directory.set('details.default', [endpoint(serverPort, idOf('details'))], [idOf('details')]);
  const log = new MemoryLogger();
  const probe: Server = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const rig = { external, meshApp, log, closedPort, mode: 'ALLOW_ANY' } as EgressRig;
  rig.client = new SidecarProxy({
    identity: await mesh.identity('productpage'),
    directory,
    inbound: { host: '127.0.0.1', port: 0 },
    app: { host: '127.0.0.1', port: 9 },
    outbound: { host: '127.0.0.1', port: 0 },
    outboundTrafficPolicy: () => rig.mode,
    logger: log,
  });
  rig.outbound = (await rig.client.start()).outboundPort!;
  rig.close = async () => {
    await rig.client.drain(2_000);
    await server.drain(2_000);
    await external.close();
    await meshApp.close();
  };
  return rig;
}
