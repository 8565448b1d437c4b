// Rotation and drain under load (issue 3 §2, §4): no connection dropped, no request failed.
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { SidecarProxy, type SidecarIdentity } from '../../src/proxy/index.js';
import { endpoint, heldRequests, httpRequest, idOf, runLoad, sha256, startApp, startPair, within, type App, type Pair } from './helpers.js';

/** The leaf the inbound port presents to a new handshake. */
function presentedLeaf(port: number, client: SidecarIdentity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, key: client.keyPem, cert: client.certChainPem, ca: client.bundlePem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(raw);
    });
    s.once('error', reject);
  });
}

describe('rotation', () => {
  let p: Pair;
  before(async () => {
    p = await startPair();
  });
  after(async () => {
    await p?.close();
  });

  test('three rotations of both sidecars under continuous load fail no request and drop no connection', async () => {
    const clientLeaves = [p.clientIdentity];
    const serverLeaves = [p.serverIdentity];
    for (let i = 0; i < 3; i++) {
      clientLeaves.push(await p.mesh.identity('productpage'));
      serverLeaves.push(await p.mesh.identity('details'));
    }
    let rotations = 0;
    const rotateAt = new Set([150, 300, 450]);
    const load = await within(
      60_000,
      'load with rotations',
      runLoad(p.outboundPort, {
        workers: 8,
        perWorker: 75,
        host: 'details.default',
        onProgress: (done) => {
          if (!rotateAt.has(done)) return;
          rotations++;
          p.client.updateIdentity(clientLeaves[rotations]!);
          p.server.updateIdentity(serverLeaves[rotations]!);
        },
      }),
    );
    assert.equal(rotations, 3);
    assert.deepEqual(load.failed, []);
    assert.equal(load.ok, 600);
    // Every client certificate was used in turn: the app saw each one's hash in XFCC.
    const hashes = new Set(p.app.seen.map((s) => /Hash=([0-9a-f]+)/.exec(String(s.headers['x-forwarded-client-cert']))?.[1]));
    for (const id of clientLeaves) assert.ok(hashes.has(sha256(id.leaf.der)), 'a client certificate was never presented');
    // A new handshake gets the newest server certificate.
    assert.deepEqual(await presentedLeaf(p.serverPort, clientLeaves[3]!), serverLeaves[3]!.leaf.der);
    assert.equal(p.server.stats().inbound_requests_reset_total, 0);
    assert.equal(p.client.stats().outbound_requests_reset_total, 0);
    assert.equal(p.client.stats().identity_updates_total, 3);
  });

  test('fail/a key that does not match its certificate is refused and the old identity stays', async () => {
    const a = await p.mesh.identity('productpage');
    const b = await p.mesh.identity('productpage');
    assert.throws(() => p.client.updateIdentity({ ...a, keyPem: b.keyPem }), /key values mismatch|KEY_VALUES_MISMATCH/i);
    const r = await httpRequest(p.outboundPort, { path: '/after-bad-rotation', headers: { host: 'details.default' } });
    assert.equal(r.status, 200);
  });
});

describe('drain', () => {
  let p: Pair;
  let replicaApp: App;
  let replica: SidecarProxy;
  before(async () => {
    p = await startPair();
    replicaApp = await startApp('details-2');
    replica = new SidecarProxy({ identity: await p.mesh.identity('details'), directory: p.directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: replicaApp.port } });
    const port = (await replica.start()).inboundPort;
    p.directory.set('details.default', [endpoint(p.serverPort, idOf('details')), endpoint(port, idOf('details'))], [idOf('details')]);
  });
  after(async () => {
    await replica?.drain(1_000);
    await replicaApp?.close();
    await p?.close();
  });

  test('a replica drained under load, still listed in the directory, fails no request: the rest is sent to the other', async (t) => {
    let drained: Promise<void> | undefined;
    const load = await within(
      60_000,
      'load with a drain',
      runLoad(p.outboundPort, {
        workers: 8,
        perWorker: 60,
        host: 'details.default',
        onProgress: (done) => {
          if (done === 120) drained = replica.drain(10_000);
        },
      }),
    );
    assert.ok(drained, 'the drain never started');
    await within(15_000, 'drain', drained);
    assert.deepEqual(load.failed, []);
    assert.equal(load.ok, 480);
    assert.ok(replicaApp.seen.length > 0 && p.app.seen.length > replicaApp.seen.length);
    assert.equal(replica.stats().inbound_requests_reset_total, 0);
    assert.equal(replica.stats().inbound_sessions_active, 0);
    const c = p.client.stats();
    t.diagnostic(`client sidecar: ${c.outbound_requests_retried_total} requests resent after GOAWAY/refusal, ${c.outbound_tls_handshake_failures_total} failed handshakes`);
  });

  test('draining the client sidecar lets in-flight requests finish and refuses new connections', async () => {
    p.directory.set('details.default', [endpoint(p.serverPort, idOf('details'))], [idOf('details')]);
    const inflight = Array.from({ length: 10 }, (_, i) => httpRequest(p.outboundPort, { path: `/hold/${i}`, headers: { host: 'details.default' } }));
    await heldRequests(p.app, 10);
    const drained = p.client.drain(10_000);
    await assert.rejects(httpRequest(p.outboundPort, { path: '/late', headers: { host: 'details.default' } }), /ECONNREFUSED/);
    p.app.release();
    const replies = await within(10_000, 'held requests', Promise.all(inflight));
    for (const r of replies) assert.equal(r.status, 200);
    await within(10_000, 'drain', drained);
  });
});

describe('a bounded drain', () => {
  test('gives up on a request that outlives the timeout, and stops', async () => {
    const p = await startPair();
    try {
      const stuck = httpRequest(p.outboundPort, { path: '/hold/forever', headers: { host: 'details.default' } }).then(
        (r) => r.status,
        (err: Error) => err.message,
      );
      await heldRequests(p.app, 1);
      await within(5_000, 'bounded drain', p.server.drain(200));
      assert.equal(await stuck, 502);
    } finally {
      p.app.release();
      await p.close();
    }
  });
});
