// TCP through the mesh: the app opens `CONNECT SERVICE.NAMESPACE:PORT` on its sidecar's outbound
// port; the bytes travel as an HTTP/2 CONNECT stream over mTLS to the service's sidecar, which
// authorizes the connection and splices it to its app. Real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeStoredResources } from '../../src/config/index.js';
import { SidecarProxy, type InboundPolicy } from '../../src/proxy/index.js';
import { prepareResources } from '../../src/sidecar/active-config.js';
import { endpoint, idOf, MemoryLogger, MeshPki, sha256, StaticDirectory } from './helpers.js';

/** An app that echoes every byte and ends its side when the client ends its own. */
async function echoApp(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    connections++;
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

/** Sends CONNECT and resolves with the proxy's status line and the socket, positioned after the head. */
async function openTunnel(proxyPort: number, target: string): Promise<{ status: number; head: string; socket: Socket; rest: Buffer }> {
  const socket = connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true });
  await once(socket, 'connect');
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const [chunk] = (await Promise.race([once(socket, 'data'), once(socket, 'end').then(() => [Buffer.alloc(0)])])) as [Buffer];
    if (chunk.length === 0) break;
    buf = Buffer.concat([buf, chunk]);
    if (buf.includes('\r\n\r\n')) break;
  }
  const end = buf.indexOf('\r\n\r\n');
  const head = buf.subarray(0, end === -1 ? buf.length : end).toString();
  socket.pause();
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, socket, rest: end === -1 ? Buffer.alloc(0) : buf.subarray(end + 4) };
}

function policyOf(yaml: object[]): InboundPolicy {
  const resources = decodeStoredResources(yaml.map((r) => JSON.stringify(r)), 'test');
  return prepareResources(1, resources, { namespace: 'default', labels: { app: 'echo' }, appPort: 9000 }).inbound;
}

describe('TCP tunnels through a sidecar pair', () => {
  let mesh: MeshPki;
  let app: Awaited<ReturnType<typeof echoApp>>;
  let server: SidecarProxy;
  let client: SidecarProxy;
  let outboundPort: number;
  let policy: InboundPolicy | undefined;
  const serverLog = new MemoryLogger();
  const directory = new StaticDirectory();

  before(async () => {
    mesh = await MeshPki.create();
    app = await echoApp();
    server = new SidecarProxy({ identity: await mesh.identity('echo'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: app.port }, logger: serverLog, policy: () => policy });
    const serverPort = (await server.start()).inboundPort;
    client = new SidecarProxy({ identity: await mesh.identity('sleep'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 } });
    outboundPort = (await client.start()).outboundPort!;
    directory.set('echo.default', [endpoint(serverPort, idOf('echo'))], [idOf('echo')]);
  });
  after(async () => {
    await client?.drain(1_000);
    await server?.drain(1_000);
    app?.server.close();
  });

  test('carries 8 MB each way intact, and a half-close from the client lets the echo finish', async () => {
    policy = undefined;
    const t = await openTunnel(outboundPort, 'echo.default:9000');
    assert.equal(t.status, 200, t.head);
    const payload = Buffer.alloc(8 << 20);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    const chunks: Buffer[] = [t.rest];
    t.socket.on('data', (c: Buffer) => chunks.push(c));
    t.socket.resume();
    const ended = once(t.socket, 'end');
    t.socket.end(payload); // FIN after the payload: the app echoes the rest, then ends too
    await ended;
    const echoed = Buffer.concat(chunks);
    assert.equal(echoed.length, payload.length);
    assert.equal(sha256(echoed), sha256(payload));
    t.socket.destroy();
    assert.ok(client.stats().outbound_tcp_connections_total! >= 1);
  });

  test('fail/a connection an AuthorizationPolicy refuses is answered 403 and never reaches the app', async () => {
    policy = policyOf([{ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'only-web', namespace: 'default' }, spec: { rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/web'] } }] }] } }]);
    const before = app.connections();
    const t = await openTunnel(outboundPort, 'echo.default:9000');
    assert.equal(t.status, 403, t.head);
    assert.match(t.head, /connection: close/i);
    await once(t.socket.resume(), 'end'); // the proxy closed its side after the answer
    t.socket.destroy();
    assert.equal(app.connections(), before, 'the app saw no connection');
    assert.equal(server.stats().inbound_tcp_connections_denied_total, 1);
    const denied = serverLog.find('inbound.denied').at(-1)!;
    assert.equal(denied.fields.protocol, 'tcp');
    assert.match(String(denied.fields.explanation), /only-web/);
  });

  test('fail/an unknown service, a target without a port and an unreachable app each get a clear answer', async () => {
    policy = undefined;
    const unknown = await openTunnel(outboundPort, 'nope.default:9000');
    assert.equal(unknown.status, 503);
    assert.match(unknown.head, /x-weft-proxy-error: NR WEFT_PROXY_UNKNOWN_SERVICE/);
    unknown.socket.destroy();
    const bad = await openTunnel(outboundPort, 'echo.default');
    assert.equal(bad.status, 400);
    assert.match(bad.head, /x-weft-proxy-error: DPE WEFT_PROXY_BAD_REQUEST/);
    bad.socket.destroy();
    // A sidecar whose app is not listening answers the tunnel 503.
    const lonely = new SidecarProxy({ identity: await mesh.identity('lonely'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 } });
    const port = (await lonely.start()).inboundPort;
    directory.set('lonely.default', [endpoint(port, idOf('lonely'))], [idOf('lonely')]);
    const down = await openTunnel(outboundPort, 'lonely.default:9000');
    assert.equal(down.status, 503, down.head);
    down.socket.destroy();
    await lonely.drain(1_000);
  });

  test('fail/secure naming holds for tunnels: an endpoint with another identity gets nothing', async () => {
    policy = undefined;
    const impostor = new SidecarProxy({ identity: await mesh.identity('impostor'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: app.port } });
    const port = (await impostor.start()).inboundPort;
    directory.set('vault.default', [endpoint(port, idOf('vault'))], [idOf('vault')]);
    const before = app.connections();
    const t = await openTunnel(outboundPort, 'vault.default:9000');
    assert.equal(t.status, 503, t.head);
    assert.match(t.head, /WEFT_PROXY_SECURE_NAMING/);
    assert.equal(app.connections(), before);
    t.socket.destroy();
    await impostor.drain(1_000);
  });
});
