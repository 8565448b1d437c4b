import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { AppHealth, type AppHealthSettings } from './app-health.js';

const listen = (server: Server | ReturnType<typeof createNetServer>) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const settings = (over: Partial<AppHealthSettings>): AppHealthSettings => ({ check: { kind: 'tcp' }, periodMs: 10, timeoutMs: 2_000, successThreshold: 1, failureThreshold: 3, ...over });
/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('app health probes', () => {
  const servers: (Server | ReturnType<typeof createNetServer>)[] = [];
  after(() => servers.forEach((s) => s.close()));

  test('tcp: a listening app passes, a closed port fails with the reason', async () => {
    const s = createNetServer((c) => c.destroy());
    servers.push(s);
    const port = await listen(s);
    assert.equal(await new AppHealth(settings({}), { host: '127.0.0.1', port }, () => undefined).probe(), undefined);
    const closed = await closedPort();
    assert.equal(await new AppHealth(settings({}), { host: '127.0.0.1', port: closed }, () => undefined).probe(), `TCP connect to 127.0.0.1:${closed} failed: ECONNREFUSED`);
  });

  test('http: 200 to 399 pass (a redirect is not followed); others fail naming the status', async () => {
    const s = createServer((req, res) => res.writeHead(Number(req.url!.slice(1))).end('x'.repeat(50_000)));
    servers.push(s);
    const port = await listen(s);
    const probe = (status: number) => new AppHealth(settings({ check: { kind: 'http', path: `/${status}` } }), { host: '127.0.0.1', port }, () => undefined).probe();
    for (const ok of [200, 204, 302, 399]) assert.equal(await probe(ok), undefined, String(ok));
    for (const bad of [400, 404, 500, 503]) assert.equal(await probe(bad), `GET http://127.0.0.1:${port}/${bad} answered ${bad}`);
  });

  test('http: an app that never answers fails by the timeout', async () => {
    const s = createNetServer(() => undefined);
    servers.push(s);
    const port = await listen(s);
    assert.equal(await new AppHealth(settings({ check: { kind: 'http', path: '/' }, timeoutMs: 200 }), { host: '127.0.0.1', port }, () => undefined).probe(), `GET http://127.0.0.1:${port}/ timed out after 200 ms`);
  });

  test('thresholds: healthy after successThreshold passes in a row, unhealthy after failureThreshold failures in a row', async () => {
    // The app answers this sequence, one status per probe, then 500 for good.
    const script = [500, 200, 200, 500, 500, 200, 500, 500, 500];
    let n = 0;
    const s = createServer((_req, res) => res.writeHead(script[n++] ?? 500).end());
    servers.push(s);
    const port = await listen(s);
    const changes: [boolean, number][] = [];
    let resolveDone: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const health = new AppHealth(settings({ check: { kind: 'http', path: '/' }, successThreshold: 2, failureThreshold: 3 }), { host: '127.0.0.1', port }, (healthy) => {
      changes.push([healthy, n]);
      if (!healthy) resolveDone();
    });
    assert.equal(health.healthy, false, 'unhealthy until probed, as a pod starts unready');
    await health.start();
    await done;
    health.stop();
    assert.deepEqual(changes, [[true, 3], [false, 9]]);
    assert.equal(health.healthy, false);
    assert.match(health.reason, /answered 500/);
  });

  test('none: healthy without probing', async () => {
    const health = new AppHealth(settings({ check: { kind: 'none' } }), { host: '127.0.0.1', port: await closedPort() }, () => assert.fail('no change'));
    await health.start();
    assert.equal(health.healthy, true);
  });
});
