// Several ports per service behind one sidecar pair: each service port goes to its own target
// port on the app host; a port the service does not have is refused by the calling sidecar when
// its directory knows the ports, and by the serving sidecar otherwise; an unhealthy endpoint is
// never sent a request. Real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PROXY_ERROR_HEADER, SidecarProxy } from '../../src/proxy/index.js';
import { endpoint, httpRequest, idOf, MeshPki, startApp, StaticDirectory, type App } from './helpers.js';

const PORTS = [
  { name: 'http', port: 9080, protocol: 'HTTP' },
  { name: 'http-admin', port: 9081, protocol: 'HTTP' },
  { name: 'tcp-raw', port: 9082, protocol: 'TCP' },
];

async function bannerApp(text: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end(text));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

describe('service ports through a sidecar pair', () => {
  let mesh: MeshPki;
  let web: App;
  let admin: App;
  let raw: Awaited<ReturnType<typeof bannerApp>>;
  let server: SidecarProxy;
  let client: SidecarProxy;
  let outboundPort: number;
  let serverPort: number;
  const directory = new StaticDirectory();
  const get = (authority: string, path = '/') => httpRequest(outboundPort, { path: `http://${authority}${path}`, headers: { host: authority } });

  before(async () => {
    mesh = await MeshPki.create();
    [web, admin, raw] = [await startApp('web'), await startApp('admin'), await bannerApp('raw banner\n')];
    server = new SidecarProxy({
      identity: await mesh.identity('multi'),
      directory,
      inbound: { host: '127.0.0.1', port: 0 },
      app: { host: '127.0.0.1', port: web.port },
      ports: [
        { ...PORTS[0]!, targetPort: web.port },
        { ...PORTS[1]!, targetPort: admin.port },
        { ...PORTS[2]!, targetPort: raw.port },
      ],
    });
    serverPort = (await server.start()).inboundPort;
    client = new SidecarProxy({ identity: await mesh.identity('sleep'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 } });
    outboundPort = (await client.start()).outboundPort!;
  });
  after(async () => {
    await client?.drain(1_000);
    await server?.drain(1_000);
    await Promise.all([web?.close(), admin?.close()]);
    raw?.server.close();
  });

  const withPorts = (ports: typeof PORTS | undefined, healthy?: boolean[]) => {
    const eps = (healthy ?? [true]).map((h) => ({ ...endpoint(serverPort, idOf('multi')), healthy: h }));
    directory.entries.set('multi.default', { endpoints: eps, identities: new Set([idOf('multi')]), ...(ports ? { ports } : {}) });
  };

  test('each service port reaches its own target port; no port named: the first', async () => {
    withPorts(PORTS);
    const seen = async (authority: string) => JSON.parse((await get(authority)).body.toString()) as { app: string };
    assert.equal((await seen('multi.default:9080')).app, 'web');
    assert.equal((await seen('multi.default:9081')).app, 'admin');
    assert.equal((await seen('multi.default.svc.cluster.local:9081')).app, 'admin');
    assert.equal((await seen('multi.default')).app, 'web');
  });

  test('a CONNECT tunnel to a TCP service port reaches that port', async () => {
    withPorts(PORTS);
    const socket = connect({ host: '127.0.0.1', port: outboundPort });
    await once(socket, 'connect');
    socket.write('CONNECT multi.default:9082 HTTP/1.1\r\nHost: multi.default:9082\r\n\r\n');
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    await once(socket, 'end');
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 200 Connection Established\r\n\r\nraw banner\n$/);
  });

  test('fail/a port the service lacks is refused by the calling sidecar, naming the ports it has', async () => {
    withPorts(PORTS);
    const before = web.seen.length + admin.seen.length;
    const r = await get('multi.default:9999');
    assert.equal(r.status, 404);
    assert.equal(r.headers[PROXY_ERROR_HEADER], 'NR WEFT_PROXY_UNKNOWN_PORT: service "multi.default" has no port 9999; its ports: 9080 (http), 9081 (http-admin), 9082 (tcp-raw)');
    assert.equal(web.seen.length + admin.seen.length, before, 'no app saw it');
  });

  test('fail/a port the serving workload lacks is refused there too, when the caller cannot tell', async () => {
    withPorts(undefined);
    const before = web.seen.length + admin.seen.length;
    const r = await get('multi.default:9999');
    assert.equal(r.status, 404);
    assert.equal(r.headers[PROXY_ERROR_HEADER], 'NR WEFT_PROXY_UNKNOWN_PORT: this workload serves no port 9999; its ports: 9080 (http), 9081 (http-admin), 9082 (tcp-raw)');
    assert.equal(web.seen.length + admin.seen.length, before, 'no app saw it');
  });

  test('fail/a CONNECT to a port the service lacks is refused 404 before any tunnel opens', async () => {
    withPorts(PORTS);
    const socket = connect({ host: '127.0.0.1', port: outboundPort });
    await once(socket, 'connect');
    socket.write('CONNECT multi.default:9999 HTTP/1.1\r\nHost: multi.default:9999\r\n\r\n');
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    await once(socket, 'end');
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(text, /x-weft-proxy-error: NR WEFT_PROXY_UNKNOWN_PORT/);
  });

  test('a workload with a single port takes any port on its inbound side, as before ports were declared', async () => {
    const single = new SidecarProxy({ identity: await mesh.identity('single'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, ports: [{ name: 'http', port: 8081, protocol: 'HTTP', targetPort: admin.port }] });
    const port = (await single.start()).inboundPort;
    try {
      directory.set('single.default', [endpoint(port, idOf('single'))], [idOf('single')]);
      const r = await get('single.default:8082');
      assert.equal(r.status, 200, r.body.toString());
      assert.equal((JSON.parse(r.body.toString()) as { app: string }).app, 'admin', 'its target port, not the --app port');
    } finally {
      await single.drain(1_000);
    }
  });

  test('fail/an unhealthy endpoint is never sent a request; all unhealthy is 503 no healthy upstream', async () => {
    withPorts(PORTS, [false]);
    const before = web.seen.length;
    const r = await get('multi.default:9080');
    assert.equal(r.status, 503);
    assert.equal(r.headers[PROXY_ERROR_HEADER], 'UH WEFT_PROXY_NO_ENDPOINTS: no healthy upstream');
    assert.equal(r.body.toString(), 'weft: no healthy upstream\n');
    assert.equal(web.seen.length, before);
    withPorts(PORTS, [true]);
    assert.equal((await get('multi.default:9080')).status, 200);
  });
});
