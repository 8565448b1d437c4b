// Registration is bounded: a workload cannot register labels beyond the Kubernetes rules, more
// registrations than its identity may hold, or more bytes than its identity may add to every other
// workload's snapshot; a snapshot still too large fails for the workload it concerns only, loudly.
// Meanwhile every other sidecar keeps receiving configuration: a DENY applied during the attack
// is enforced. A real control plane and sidecars on 127.0.0.1; the attacker speaks gRPC directly
// with an SVID of its own identity.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { ControlPlaneClient } from '../../src/agent/control-plane-client.js';
import { SidecarAgent } from '../../src/agent/sidecar-agent.js';
import type { RegisterRequest } from '../../src/api/control-plane-api.js';
import { runWeft, tempDir } from '../helpers/cli.js';
import { getViaProxy, startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';

const MAX_REGISTRATIONS = 4;
const MAX_BYTES = 32 * 1024;
const MAX_SNAPSHOT = 256 * 1024;

const DENY_PRODUCTPAGE = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-productpage, namespace: default }
spec:
  selector: { matchLabels: { app: details } }
  action: DENY
  rules:
  - from:
    - source: { principals: ["cluster.local/ns/default/sa/productpage"] }
`;

/** A policy for details alone, larger than the snapshot limit; its paths never match. */
const OVERSIZED_FOR_DETAILS = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: oversized, namespace: default }
spec:
  selector: { matchLabels: { app: details } }
  action: DENY
  rules:
  - to:
    - operation:
        paths: [${Array.from({ length: 12_000 }, (_, i) => `"/never/${String(i).padStart(20, '0')}"`).join(', ')}]
`;

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  while (performance.now() < deadline) {
    last = await probe().catch(() => undefined as T);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 2_000)}`);
}

const longLabels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${'p'.repeat(180)}.example.com/${String(i).padStart(60, 'k')}`, 'v'.repeat(63)]));

describe('registration limits', { timeout: 300_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let conf: string;
  let details: Workload;
  let productpage: Workload;
  let attacker: ControlPlaneClient;
  const weft = (args: string[], input?: string) => runWeft([...args, '--config', conf], { input, timeoutMs: 60_000 });

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'), [
      '--max-registrations-per-identity', String(MAX_REGISTRATIONS),
      '--max-endpoint-bytes-per-identity', String(MAX_BYTES),
      '--max-snapshot-size', String(MAX_SNAPSHOT),
    ]);
    conf = join(mesh.dataDir, 'admin.conf');
    details = await startWorkload(mesh, { service: 'details' });
    productpage = await startWorkload(mesh, { service: 'productpage' });
    // The attacker holds a genuine SVID for its own service, reviews.
    const token = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'reviews']);
    const agent = new SidecarAgent({ controlPlane: { host: '127.0.0.1', port: mesh.cpPort }, token: token.stdout.trim() });
    const svid = await agent.start();
    await agent.stop();
    attacker = new ControlPlaneClient(`127.0.0.1:${mesh.cpPort}`, 'cluster.local', { rootPem: svid.bundlePem, keyPem: svid.keyPem, certChainPem: svid.certChainPem });
  });
  after(async () => {
    attacker?.close();
    await stop(mesh.procs);
    tmp.cleanup();
  });

  const registration = (over: Partial<RegisterRequest>): RegisterRequest => ({
    namespace: 'default',
    services: ['reviews'],
    ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }],
    labels: { app: 'reviews' },
    address: '127.0.0.1',
    inboundPort: 20_000,
    ...over,
  });
  const refusal = (req: RegisterRequest) => attacker.register(req).then(() => assert.fail('registered'), (err: ServiceError) => err);

  test('labels outside the Kubernetes rules are INVALID_ARGUMENT, naming the label and the rule', async () => {
    const shapes: [string, Record<string, string>, RegExp][] = [
      ['fail/1.3 MB label value (the attack)', { app: 'x'.repeat(1_300_000) }, /the value is 1300000 characters long; at most 63/],
      ['fail/1.3 MB of labels (20 000 of them)', Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 'v'.repeat(60)])), /20000 labels; a workload has at most 64/],
      ['fail/65 labels', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])), /65 labels; a workload has at most 64/],
      ['fail/64-character name', { ['a'.repeat(64)]: 'v' }, /the name is 64 characters long/],
      ['fail/254-character prefix', { [`${'a'.repeat(254)}/x`]: 'v' }, /the prefix is 254 characters long/],
      ['fail/prefix not a DNS subdomain', { 'Example..com/x': 'v' }, /the prefix must be a DNS subdomain/],
      ['fail/two slashes', { 'a/b/c': 'v' }, /at most one "\/"/],
      ['fail/value with a space', { app: 'a b' }, /the value must be empty, or letters/],
      ['fail/value ending with "-"', { app: 'a-' }, /beginning and ending with a letter or digit/],
    ];
    for (const [name, labels, message] of shapes) {
      const err = await refusal(registration({ labels }));
      assert.equal(err.code, status.INVALID_ARGUMENT, `${name}: ${err.details}`);
      assert.match(err.details, message, name);
      assert.match(err.details, /\(WEFT_REGISTRATION_INVALID\)$/, name);
      assert.ok(err.details.length < 500, `${name}: the refusal stays short`);
    }
  });

  test('an identity adds at most --max-endpoint-bytes-per-identity, and holds at most --max-registrations-per-identity', async () => {
    const labels = longLabels(64); // the largest labels allowed: about 16 KB
    await attacker.register(registration({ inboundPort: 20_001, labels }));
    const tooLarge = await refusal(registration({ inboundPort: 20_002, labels: { ...labels, [Object.keys(labels)[0]!]: 'w'.repeat(63) } }));
    const tooLargeAgain = await refusal(registration({ inboundPort: 20_003, labels: longLabels(64) }));
    for (const err of [tooLarge, tooLargeAgain]) {
      assert.equal(err.code, status.RESOURCE_EXHAUSTED, err.details);
      assert.match(err.details, new RegExp(`one identity may add at most ${MAX_BYTES} \\(--max-endpoint-bytes-per-identity\\).*\\(WEFT_REGISTRATION_TOO_LARGE\\)$`));
    }
    for (let port = 20_004; port < 20_004 + MAX_REGISTRATIONS - 1; port++) await attacker.register(registration({ inboundPort: port }));
    const tooMany = await refusal(registration({ inboundPort: 20_100 }));
    assert.equal(tooMany.code, status.RESOURCE_EXHAUSTED, tooMany.details);
    assert.match(tooMany.details, new RegExp(`already holds ${MAX_REGISTRATIONS} registrations.*--max-registrations-per-identity ${MAX_REGISTRATIONS}.*\\(WEFT_REGISTRATION_LIMIT\\)$`));
    // Re-registering the same address and port replaces, so a restarted sidecar is never locked out.
    await attacker.register(registration({ inboundPort: 20_004, labels: { app: 'reviews', version: 'v2' } }));
  });

  test('hostile ports and locality are INVALID_ARGUMENT naming the field; ports contradicting the service are FAILED_PRECONDITION', async () => {
    const port = (name: string, n: number, protocol = '') => ({ name, port: n, protocol });
    const shapes: [string, Partial<RegisterRequest>, RegExp][] = [
      ['fail/10 000 ports', { ports: Array.from({ length: 10_000 }, (_, i) => port(`p${i}`, (i % 65_535) + 1)) }, /10000 ports; a workload has at most 64/],
      ['fail/a 1 MB port name', { ports: [port('h'.repeat(1_000_000), 80)] }, /ports\[0\]\.name: "h{80}…" is not empty or a DNS label/],
      ['fail/duplicate names', { ports: [port('http', 80), port('http', 81)] }, /ports\[1\]\.name: "http" is also the name of ports\[0\]/],
      ['fail/duplicate numbers', { ports: [port('http', 80), port('grpc', 80)] }, /ports\[1\]\.port: 80 is also the port of ports\[0\]/],
      ['fail/a stated protocol against the name', { ports: [port('http', 80, 'TCP')] }, /ports\[0\]\.protocol: TCP contradicts the name "http", which selects HTTP/],
      ['fail/an unknown protocol', { ports: [port('', 80, 'QUIC')] }, /ports\[0\]\.protocol: "QUIC" is not one of/],
      ['fail/UDP', { ports: [port('udp-dns', 53)] }, /is UDP by its name: the mesh carries TCP only/],
      ['fail/a target port out of range', { ports: [{ ...port('http', 80), targetPort: 70_000 }] }, /ports\[0\]\.targetPort: "70000" is not a port number/],
      ['fail/a 1 MB locality', { locality: 'r'.repeat(1_000_000) }, /locality: it is 1000000 characters long; at most 191/],
      ['fail/a locality of four parts', { locality: 'a/b/c/d' }, /locality: it has 4 parts/],
    ];
    for (const [name, over, message] of shapes) {
      const err = await refusal(registration({ inboundPort: 20_200, ...over }));
      assert.equal(err.code, status.INVALID_ARGUMENT, `${name}: ${err.details}`);
      assert.match(err.details, message, name);
      assert.match(err.details, /\(WEFT_REGISTRATION_INVALID\)$/, name);
      assert.ok(err.details.length < 500, `${name}: the refusal stays short`);
    }
    // Its other registrations declare http:9080; replacing one of them with tcp:9080 contradicts them.
    const conflict = await refusal(registration({ inboundPort: 20_004, ports: [port('tcp', 9080)] }));
    assert.equal(conflict.code, status.FAILED_PRECONDITION, conflict.details);
    assert.match(conflict.details, /port 9080 of reviews\.default is HTTP for its other workloads, not TCP: one service has one protocol per port \(WEFT_REGISTRATION_CONFLICT\)$/);
  });

  test('during the attack every sidecar still receives configuration: a DENY applied now is enforced', async () => {
    const applied = await weft(['apply', '-f', '-'], DENY_PRODUCTPAGE);
    assert.equal(applied.code, 0, applied.stderr);
    const denied = await until('the DENY enforced', () => getViaProxy(productpage.outboundPort, 'details.default:9080'), (r) => r.status === 403);
    assert.match(denied.body, /RBAC: access denied/);
    const st = await weft(['status', '-o', 'json']);
    const sidecars = (JSON.parse(st.stdout) as { sidecars: { spiffeId: string; state: string; sentBytes?: number }[] }).sidecars;
    assert.deepEqual(sidecars.map((s) => s.state), ['ACK', 'ACK']);
    for (const s of sidecars) assert.ok(s.sentBytes === undefined || s.sentBytes < MAX_SNAPSHOT, `${s.spiffeId}: ${s.sentBytes} bytes`);
  });

  test('a snapshot still too large fails for the workload it concerns alone, logged and shown by weft status', async () => {
    const applied = await weft(['apply', '-f', '-'], OVERSIZED_FOR_DETAILS);
    assert.equal(applied.code, 0, applied.stderr);
    const st = await until('details FAILED', () => weft(['status']), (r) => /FAILED/.test(r.stdout));
    assert.match(st.stdout, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/details \(\S+\) was not sent version \d+: snapshot of \d+ bytes .* exceeds the 262144-byte limit a sidecar accepts.*WEFT_SNAPSHOT_TOO_LARGE/);
    assert.match(mesh.controlPlane.output(), /^(?=.*"event":"snapshot\.too_large")(?=.*sa\/details).*$/m);
    const json = JSON.parse((await weft(['status', '-o', 'json'])).stdout) as { sidecars: { spiffeId: string; state: string }[] };
    assert.deepEqual(json.sidecars.map((s) => [s.spiffeId.split('/sa/')[1], s.state]), [['details', 'FAILED'], ['productpage', 'ACK']]);
    // The others still get changes; details keeps the snapshot it holds, DENY included.
    const more = await weft(['apply', '-f', '-'], 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: default }\nspec: { mtls: { mode: STRICT } }\n');
    assert.equal(more.code, 0, more.stderr);
    await until('productpage receives the new resource', async () => (await (await fetch(`http://127.0.0.1:${productpage.adminPort}/config`)).json()) as { resources: string[] }, (c) => c.resources.some((r) => r.startsWith('PeerAuthentication/default/default@')));
    assert.equal((await getViaProxy(productpage.outboundPort, 'details.default:9080')).status, 403);
    // Removing the oversized policy lets details catch up.
    const deleted = await weft(['delete', 'AuthorizationPolicy', 'oversized', '-n', 'default']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await until('details ACKs again', () => weft(['status', '-o', 'json']), (r) => (JSON.parse(r.stdout) as { sidecars: { state: string }[] }).sidecars.every((s) => s.state === 'ACK'));
    await stop([details.sidecar, productpage.sidecar, details.app, productpage.app]);
  });
});
