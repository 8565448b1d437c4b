// A snapshot's revocation list in the data path, with real sidecar proxies and sockets on
// 127.0.0.1: established sessions with a revoked peer close at once, new handshakes with it are
// refused both ways with the reason "certificate revoked", a sidecar whose own certificate is
// revoked says so to its app, and nobody else is touched.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { httpRequest, startPair, type Pair } from '../proxy/helpers.js';

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();
const get = (p: Pair) => httpRequest(p.outboundPort, { path: '/', headers: { host: 'details.default:9080' } });

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('revocation in the data path', () => {
  let p: Pair;
  let clientSerial: string;
  let serverSerial: string;

  before(async () => {
    p = await startPair();
    clientSerial = serialOf(p.clientIdentity.certChainPem);
    serverSerial = serialOf(p.serverIdentity.certChainPem);
  });
  after(async () => p.close());

  test('the server side: an established session with a revoked client closes at once, and its handshakes are refused', async () => {
    assert.equal((await get(p)).status, 200);
    assert.equal(p.server.stats().inbound_sessions_active, 1);
    assert.equal(p.server.updateRevocations(['4a'.repeat(16)]), 0, 'an unrelated serial closes nothing');
    assert.equal(p.server.updateRevocations([clientSerial]), 1);
    await until('the revoked session is gone', () => p.server.stats().inbound_sessions_active === 0);
    // The server refuses the client after the handshake (it verifies client certificates then), so
    // the client sees its stream cut; the reason is in the server's log and counters.
    const refused = await get(p);
    assert.ok(refused.status === 502 || refused.status === 503, `status ${refused.status}`);
    const s = p.server.stats();
    assert.equal(s.revoked_sessions_closed_total, 1);
    assert.ok(s.peer_revoked_refused_total >= 1);
    const line = p.serverLog.find('inbound.peer.refused').find((l) => l.fields.stage === 'revoked');
    assert.ok(line, 'the refusal is logged');
    assert.match(String(line.fields.reason), /certificate revoked/);
    assert.ok(p.serverLog.find('inbound.session.closed').some((l) => l.fields.reason === 'certificate revoked' && l.fields.serial === clientSerial));
    p.server.updateRevocations([]);
    assert.equal((await get(p)).status, 200, 'lifted: served again');
  });

  test('the client side: a pooled session to a revoked server closes, and the next handshake to it is refused', async () => {
    assert.equal((await get(p)).status, 200);
    assert.equal(p.client.updateRevocations([serverSerial]), 1);
    const refused = await get(p);
    assert.equal(refused.status, 503, 'the client refuses the server inside the handshake: nothing was sent');
    assert.ok(p.clientLog.find('outbound.peer.refused').some((l) => l.fields.reason === 'certificate revoked' && l.fields.serial === serverSerial));
    assert.ok(p.clientLog.find('outbound.session.closed').some((l) => l.fields.serial === serverSerial));
    p.client.updateRevocations([]);
    assert.equal((await get(p)).status, 200);
  });

  test('its own certificate revoked: the sidecar answers its app 503 "certificate revoked" itself', async () => {
    assert.equal((await get(p)).status, 200);
    p.client.updateRevocations([clientSerial]);
    for (let i = 0; i < 3; i++) {
      const r = await get(p);
      assert.equal(r.status, 503);
      assert.match(String(r.headers['x-weft-proxy-error']), /^UF WEFT_PROXY_IDENTITY_REVOKED: certificate revoked/);
    }
    assert.equal(p.client.stats().outbound_requests_self_revoked_total >= 3, true);
    p.client.updateRevocations([]);
    assert.equal((await get(p)).status, 200);
  });
});
