// What an app (or anything that reaches its outbound proxy) can make the egress path do. The
// request that leaves for an outside host is the one the proxy decided on: its authority is the
// absolute URI's, never a second Host; credentials for this hop never leave it; a name that could
// be a mesh service is never dialled; malformed targets are refused before any connection.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEgressRig, type EgressRig } from '../proxy/egress-rig.js';
import { httpRequest } from '../proxy/helpers.js';

/** Writes raw bytes to the outbound listener and returns everything it answers until it closes or 5 s pass. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('error', () => undefined);
  });
}

describe('egress under hostile requests', () => {
  let rig: EgressRig;
  before(async () => {
    rig = await startEgressRig();
  });
  after(async () => {
    await rig?.close();
  });

  test('userinfo in the URI and proxy credentials never reach the outside host', async () => {
    const seen = rig.external.seen.length;
    const answer = await raw(
      rig.outbound,
      `GET http://user:s3cret@127.0.0.1:${rig.external.port}/u HTTP/1.1\r\nhost: 127.0.0.1:${rig.external.port}\r\nproxy-authorization: Basic c2VjcmV0\r\nconnection: close\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 200/);
    const got = rig.external.seen[seen]!;
    assert.equal(got.headers.host, `127.0.0.1:${rig.external.port}`);
    assert.equal(got.headers['proxy-authorization'], undefined);
    assert.ok(!got.rawHeaders.join('\n').includes('s3cret'));
  });

  test('the absolute URI decides where a request goes, whatever Host says', async () => {
    // URI: the mesh service; Host: the outside host. The request stays in the mesh.
    const toMesh = rig.external.seen.length;
    const inMesh = await raw(rig.outbound, `GET http://details.default/m HTTP/1.1\r\nhost: 127.0.0.1:${rig.external.port}\r\nconnection: close\r\n\r\n`);
    assert.match(inMesh, /^HTTP\/1\.1 200/);
    assert.equal(rig.external.seen.length, toMesh);
    assert.equal(rig.meshApp.seen.at(-1)!.headers.host, 'details.default');
    // URI: the outside host; Host: a mesh service. The outside host sees its own name as Host.
    const out = await raw(rig.outbound, `GET http://127.0.0.1:${rig.external.port}/o HTTP/1.1\r\nhost: details.default\r\nconnection: close\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 200/);
    assert.equal(rig.external.seen.at(-1)!.headers.host, `127.0.0.1:${rig.external.port}`);
  });

  test('malformed or oversized targets are refused before any connection is made', async () => {
    const seen = rig.external.seen.length;
    const passthrough = rig.client.stats().outbound_requests_passthrough_total! + rig.client.stats().outbound_tcp_passthrough_total!;
    const cases = [
      `GET http://${'a'.repeat(300)}.com/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      `GET / HTTP/1.1\r\nhost: 127.0.0.1:99999\r\nconnection: close\r\n\r\n`,
      `GET / HTTP/1.1\r\nhost: [::1\r\nconnection: close\r\n\r\n`,
      `CONNECT 127.0.0.1:${rig.external.port}/x HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`,
      `CONNECT 127.0.0.1 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`,
      `CONNECT user@127.0.0.1:${rig.external.port} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`,
    ];
    for (const bytes of cases) {
      const answer = await raw(rig.outbound, bytes);
      assert.match(answer, /^HTTP\/1\.1 (400|503)/, JSON.stringify(bytes.slice(0, 60)));
    }
    assert.equal(rig.external.seen.length, seen);
    assert.equal(rig.client.stats().outbound_requests_passthrough_total! + rig.client.stats().outbound_tcp_passthrough_total!, passthrough);
    // The proxy still serves.
    assert.equal((await httpRequest(rig.outbound, { path: '/after', headers: { host: `127.0.0.1:${rig.external.port}` } })).status, 200);
  });

  test('REGISTRY_ONLY holds for every spelling of an outside host', async () => {
    rig.mode = 'REGISTRY_ONLY';
    try {
      const seen = rig.external.seen.length;
      for (const host of [`127.0.0.1:${rig.external.port}`, `127.000.000.001:${rig.external.port}`, `[::ffff:127.0.0.1]:${rig.external.port}`, `0x7f.0.0.1:${rig.external.port}`, `2130706433:${rig.external.port}`]) {
        const r = await httpRequest(rig.outbound, { path: '/', headers: { host } });
        assert.ok(r.status === 502 || r.status === 503 || r.status === 400, `${host}: ${r.status}`);
      }
      const t = await raw(rig.outbound, `CONNECT 127.0.0.1:${rig.external.port} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
      assert.match(t, /^HTTP\/1\.1 502/);
      assert.equal(rig.external.seen.length, seen);
    } finally {
      rig.mode = 'ALLOW_ANY';
    }
  });
});
