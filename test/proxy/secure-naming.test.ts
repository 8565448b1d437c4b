// Secure naming (issue 3 §2, §4): the client sidecar sends a request only to a server whose
// SPIFFE ID is registered for the service; a sidecar with another identity receives nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SidecarProxy } from '../../src/proxy/index.js';
import { endpoint, httpRequest, idOf, runLoad, startApp, startPair, type App, type Pair } from './helpers.js';

describe('secure naming', () => {
  let p: Pair;
  let evilApp: App;
  let evil: SidecarProxy;
  let evilPort: number;

  before(async () => {
    p = await startPair();
    evilApp = await startApp('evil');
    // A genuine SVID of the trust domain, but for an identity the service does not have.
    evil = new SidecarProxy({ identity: await p.mesh.identity('evil'), directory: p.directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: evilApp.port } });
    evilPort = (await evil.start()).inboundPort;
  });
  after(async () => {
    await evil?.drain(1_000);
    await evilApp?.close();
    await p?.close();
  });

  test('fail/a service whose only endpoint has another identity gets 503, nothing sent, both identities logged', async () => {
    p.directory.set('reviews.default', [endpoint(evilPort, idOf('reviews'))], [idOf('reviews')]);
    const r = await httpRequest(p.outboundPort, { path: '/secret', method: 'POST', headers: { host: 'reviews.default:9080' }, body: 'card=4111' });
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-weft-proxy-error'], 'UF WEFT_PROXY_SECURE_NAMING: the peer sidecar is not an identity of the service');
    assert.equal(evilApp.seen.length, 0);
    assert.equal(evil.stats().inbound_requests_total, 0, 'not even a stream was opened on the impostor');
    const line = p.clientLog.find('outbound.secure_naming.mismatch').at(-1)!;
    assert.deepEqual(line.fields.expected, [idOf('reviews')]);
    assert.equal(line.fields.actual, idOf('evil'));
    assert.equal(line.level, 'warn');
  });

  test('ok/an impostor among genuine replicas receives no traffic; the genuine ones take it all', async () => {
    p.directory.set('details.default', [endpoint(evilPort, idOf('details')), endpoint(p.serverPort, idOf('details'))], [idOf('details')]);
    const before = p.app.seen.length;
    const load = await runLoad(p.outboundPort, { workers: 4, perWorker: 25, host: 'details.default' });
    assert.deepEqual(load.failed, []);
    assert.equal(load.ok, 100);
    assert.equal(p.app.seen.length - before, 100);
    assert.equal(evilApp.seen.length, 0);
    assert.ok(p.client.stats().outbound_requests_secure_naming_total! > 1);
  });
});
