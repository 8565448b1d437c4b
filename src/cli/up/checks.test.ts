// The hop checks of `weft up` turn the demo's answer into rows: a failed hop says why (status,
// the calling sidecar's x-weft-proxy-error, the deciding policy of a 403), and a hop behind a
// failed one says which. The answer comes from a real HTTP server on loopback, in the demo app's
// shape.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { checkCalls } from './checks.js';

const EDGES = ['productpage v1 -> details v1', 'productpage v1 -> reviews v1', 'productpage v1 -> reviews v2', 'reviews v2 -> ratings v1'];
const ID = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

async function serve(answer: unknown): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

test('a refused hop shows the status, the sidecar\'s error header and the policy that decided; the hop behind it says it was not reached', async () => {
  const { server, port } = await serve({
    service: 'productpage',
    version: 'v1',
    calls: [
      { target: 'details.default:9080', status: 200, service: 'details', version: 'v1', self: ID('details'), caller: ID('productpage'), calls: [] },
      { target: 'reviews.default:9080', status: 403, error: 'RBAC: access denied' },
    ],
  });
  try {
    const asked: string[] = [];
    const rows = await checkCalls(port, EDGES, { logDir: '/logs', denial: (service) => (asked.push(service), 'DENY by DENY policy default/deny-reviews, rule 0') }, 2);
    assert.deepEqual(rows[0], { check: EDGES[0], ok: true, detail: `mTLS ${ID('productpage')} -> ${ID('details')}` });
    for (const row of rows.slice(1, 3)) {
      assert.equal(row.ok, false);
      assert.equal(row.detail, 'HTTP 403: RBAC: access denied; DENY by DENY policy default/deny-reviews, rule 0');
    }
    assert.deepEqual(rows[3], { check: EDGES[3], ok: false, detail: 'not reached: reviews v2 never answered (see the row that calls it)' });
    assert.ok(asked.every((s) => s === 'reviews'), asked.join());
  } finally {
    server.close();
  }
});

test('a proxy error keeps the sidecar\'s x-weft-proxy-error text (response flag and code) and asks for no policy', async () => {
  const { server, port } = await serve({
    service: 'productpage',
    version: 'v1',
    calls: [
      { target: 'details.default:9080', status: 503, proxyError: 'UH WEFT_PROXY_NO_ENDPOINTS: no endpoint of details.default', error: 'no healthy upstream' },
      { target: 'reviews.default:9080', status: 0, error: 'connect ECONNREFUSED 127.0.0.1:1' },
    ],
  });
  try {
    const rows = await checkCalls(port, EDGES, { logDir: '/logs', denial: () => assert.fail('a 503 has no deciding policy') }, 1);
    assert.equal(rows[0]!.detail, 'HTTP 503: UH WEFT_PROXY_NO_ENDPOINTS: no endpoint of details.default');
    assert.equal(rows[1]!.detail, 'no answer: connect ECONNREFUSED 127.0.0.1:1');
  } finally {
    server.close();
  }
});

test('an edge never seen although its caller answered points at the logs', async () => {
  // reviews always answers as v1 here, so v2 (and what v2 calls) is never seen.
  const { server, port } = await serve({
    service: 'productpage',
    version: 'v1',
    calls: [{ target: 'reviews.default:9080', status: 200, service: 'reviews', version: 'v1', self: ID('reviews'), caller: ID('productpage'), calls: [] }],
  });
  try {
    const rows = await checkCalls(port, ['productpage v1 -> reviews v1', 'productpage v1 -> reviews v2'], { logDir: '/var/weft/logs', denial: () => undefined }, 3);
    assert.equal(rows[0]!.ok, true);
    assert.equal(rows[1]!.ok, false);
    assert.match(rows[1]!.detail, /never seen: .*\/var\/weft\/logs/);
  } finally {
    server.close();
  }
});
