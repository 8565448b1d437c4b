// A bounded fuzz run at both listeners of real sidecar processes: fast-check writes raw HTTP/1.1
// bytes to a client sidecar's outbound port and raw HTTP/2 frames over mTLS (a minted SVID) to a
// server sidecar's inbound port, in front of an app that records every request it receives. The
// server runs a DENY on /admin and on `x-role: admin`, and a RequestAuthentication (so the
// no-token branch is exercised too). For every input: the connection ends within a bound (no
// hang), both sidecars stay up, and nothing the policy refuses reaches the app: every path the
// app sees is already normalized and outside /admin, no x-role value is `admin`, and the only
// x-forwarded-client-cert is the serving sidecar's own.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { exportJWK, generateKeyPair } from 'jose';
import { normalizePath } from '../../src/policy/normalize-path.js';
import { runWeft, tempDir } from '../helpers/cli.js';
import { freePort, getViaProxy, startControlPlane, startWeft, stop, waitHttp, type Mesh, type Proc } from '../helpers/mesh.js';
import { H2_PREFACE, h2Answered, h2FramesArb, rawHttp1Arb } from './fuzz-inputs.js';

/** How long one connection may stay open after the fuzzer has sent everything and half-closed. */
const CONNECTION_BOUND_MS = 15_000;
/** Each property stops after this many inputs or this long, whichever comes first. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const TIME_LIMIT_MS = 90_000;
let runs = 0;

interface Seen {
  url: string;
  rawHeaders: string[];
}

function startRecordingApp(port: number): Promise<{ server: Server; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ url: req.url ?? '', rawHeaders: req.rawHeaders });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    });
    req.on('error', () => undefined);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, seen })));
}

/** The x-fuzz-id of inputs whose requests the DENY on `x-role: admin` must have stopped. */
const mustBeDenied = new Set<string>();

/** What no request at the app may show; returns the violations found. */
function violations(seen: readonly Seen[]): string[] {
  const out: string[] = [];
  for (const s of seen) {
    const normalized = normalizePath(s.url, 'MERGE_SLASHES');
    const path = s.url.split('?')[0]!;
    if (!normalized.ok || normalized.path !== path) out.push(`the app received a path that is not normalized: ${JSON.stringify(s.url)}`);
    if (path === '/admin' || path.startsWith('/admin/')) out.push(`the app received the denied path ${JSON.stringify(s.url)}`);
    const xfcc: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < s.rawHeaders.length; i += 2) {
      const name = s.rawHeaders[i]!.toLowerCase();
      const value = s.rawHeaders[i + 1]!;
      if (name === 'x-role' && value.trim() === 'admin') out.push(`the app received x-role ${JSON.stringify(value)} on ${JSON.stringify(s.url)}`);
      if (name === 'x-forwarded-client-cert') xfcc.push(value);
      if (name === 'x-fuzz-id') ids.push(value);
    }
    for (const id of ids) if (mustBeDenied.has(id)) out.push(`the app received request ${id}, which sent x-role admin, on ${JSON.stringify(s.url)}`);
    if (xfcc.length !== 1 || !xfcc[0]!.startsWith('By=spiffe://cluster.local/ns/default/sa/details;')) out.push(`the app received x-forwarded-client-cert ${JSON.stringify(xfcc)}`);
  }
  return out;
}

/** How long to wait for the answers to an input before half-closing anyway. */
const SETTLE_MS = 1_000;

/**
 * Writes `bytes`, waits until `settled` says the answers are in (bounded), half-closes, and
 * resolves once the peer closes; rejects when the connection outlives the bound.
 */
function exchange(open: () => import('node:net').Socket, bytes: Buffer, what: string, settled?: (received: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = open();
    let received = Buffer.alloc(0);
    let bound: NodeJS.Timeout | undefined;
    const halfClose = (): void => {
      if (bound !== undefined) return;
      clearTimeout(settle);
      socket.end();
      bound = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${what}: the connection was still open ${CONNECTION_BOUND_MS} ms after the input ended`));
      }, CONNECTION_BOUND_MS);
    };
    const settle = setTimeout(halfClose, settled === undefined ? 0 : SETTLE_MS);
    socket.on('data', (chunk: Buffer) => {
      if (settled === undefined || bound !== undefined) return;
      received = Buffer.concat([received, chunk]);
      if (settled(received)) halfClose();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(settle);
      clearTimeout(bound);
      resolve();
    });
    socket.write(bytes);
    if (settled === undefined) halfClose();
  });
}

async function startSidecar(mesh: Mesh, service: string, appPort: number, withOutbound: boolean): Promise<{ proc: Proc; inbound: number; outbound: number; admin: number }> {
  const token = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', service]);
  assert.equal(token.code, 0, token.stderr);
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const proc = startWeft(
    `${service}-sidecar`,
    [
      'sidecar', '--control-plane', `127.0.0.1:${mesh.cpPort}`, '--token-env', 'WEFT_JOIN_TOKEN', '--namespace', 'default', '--service', service,
      '--service-port', '9080', '--labels', `app=${service}`, '--inbound', `127.0.0.1:${inbound}`, '--app', `127.0.0.1:${appPort}`,
      ...(withOutbound ? ['--outbound', `127.0.0.1:${outbound}`] : []), '--admin', `127.0.0.1:${admin}`,
      // The calling side has no app behind it (port 9): its readiness is not about an app.
      ...(withOutbound ? ['--app-health', 'none'] : []),
      // A session Node wedged on a protocol error is found by an unanswered PING: 2 s, then 2 s more.
      '--keepalive-interval', '2s',
    ],
    { WEFT_JOIN_TOKEN: token.stdout.trim() },
  );
  mesh.procs.push(proc);
  await waitHttp(`http://127.0.0.1:${admin}/healthz/ready`, proc);
  return { proc, inbound, outbound, admin };
}

async function policies(): Promise<string> {
  const { publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
  return `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: default }
spec: { pathNormalization: { normalization: MERGE_SLASHES } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: details } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/admin", "/admin/*"] } }]
  - when: [{ key: "request.headers[x-role]", values: ["admin"] }]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  selector: { matchLabels: { app: details } }
  jwtRules: [{ issuer: "https://issuer.example", jwks: '${jwks}' }]
`;
}

describe('a bounded fuzz run at the sidecar listeners', () => {
  const dir = tempDir('weft-fuzz-');
  let mesh: Mesh;
  let app: { server: Server; seen: Seen[] };
  let details: Awaited<ReturnType<typeof startSidecar>>;
  let productpage: Awaited<ReturnType<typeof startSidecar>>;
  let svid: { cert: string; key: string; ca: string };

  before(async () => {
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    app = await startRecordingApp(await freePort());
    const appPort = (app.server.address() as AddressInfo).port;
    details = await startSidecar(mesh, 'details', appPort, false);
    productpage = await startSidecar(mesh, 'productpage', 9, true);
    const applied = await runWeft(['apply', '-f', '-', '--config', join(mesh.dataDir, 'admin.conf')], { input: await policies() });
    assert.equal(applied.code, 0, applied.stderr);
    const deadline = performance.now() + 30_000;
    while ((await getViaProxy(productpage.outbound, 'details.default:9080', '/admin//x')).status !== 403) {
      assert.ok(performance.now() < deadline, 'the DENY policy did not reach the sidecar in time');
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = join(dir.dir, 'fuzzer');
    const minted = await runWeft(['ca', 'mint', '--data-dir', mesh.dataDir, '--spiffe-id', 'spiffe://cluster.local/ns/default/sa/fuzzer', '--ttl', '1h', '--out', out]);
    assert.equal(minted.code, 0, minted.stderr);
    svid = { cert: readFileSync(join(out, 'svid.pem'), 'utf8'), key: readFileSync(join(out, 'key.pem'), 'utf8'), ca: readFileSync(join(out, 'bundle.pem'), 'utf8') };
    app.seen.length = 0;
  });

  after(async () => {
    await stop(mesh?.procs ?? []);
    await new Promise((r) => app?.server.close(r));
    dir.cleanup();
  });

  /** Both sidecars are up and a plain request still gets through after the run. */
  async function meshStillServes(): Promise<void> {
    for (const p of [details.proc, productpage.proc]) assert.equal(p.child.exitCode, null, `${p.name} exited:\n${p.output().slice(-4000)}`);
    const r = await getViaProxy(productpage.outbound, 'details.default:9080', '/still-ok');
    assert.equal(r.status, 200, r.body);
  }

  test('raw HTTP/1.1 at the outbound listener: no hang, no crash, nothing refused reaches the app', async () => {
    const port = productpage.outbound;
    const start = app.seen.length;
    await fc.assert(
      fc.asyncProperty(rawHttp1Arb, async (make) => {
        const before = app.seen.length;
        const { bytes, deniedIds } = make(`h1-${++runs}`);
        for (const id of deniedIds) mustBeDenied.add(id);
        const text = JSON.stringify(bytes.toString('latin1'));
        await exchange(() => netConnect(port, '127.0.0.1'), bytes, `outbound ${text}`);
        assert.deepEqual(violations(app.seen.slice(before)), [], `input ${text} (a request that arrived late may belong to the input before it)`);
        assert.equal(productpage.proc.child.exitCode, null, 'the client sidecar exited');
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, endOnFailure: true },
    );
    await meshStillServes();
    assert.deepEqual(violations(app.seen), []);
    // Not vacuous: a good share of the inputs are requests the mesh carries.
    assert.ok(app.seen.length - start >= runs / 20, `only ${app.seen.length - start} of ${runs} inputs reached the app`);
    console.log(`fuzz: ${runs} HTTP/1.1 inputs, ${app.seen.length - start} requests reached the app`);
  });

  test('raw HTTP/2 frames over mTLS at the inbound listener: no hang, no crash, nothing refused reaches the app', async () => {
    const port = details.inbound;
    const start = app.seen.length;
    const before = runs;
    const open = () => tlsConnect({ host: '127.0.0.1', port, servername: 'details.default', ALPNProtocols: ['h2'], cert: svid.cert, key: svid.key, ca: svid.ca, checkServerIdentity: () => undefined });
    await fc.assert(
      fc.asyncProperty(h2FramesArb, async (make) => {
        const before = app.seen.length;
        const { bytes: frames, deniedIds, streams = [] } = make(`h2-${++runs}`);
        for (const id of deniedIds) mustBeDenied.add(id);
        await exchange(open, Buffer.concat([H2_PREFACE, frames]), `inbound frames ${frames.toString('hex')}`, (received) => h2Answered(received, streams));
        assert.deepEqual(violations(app.seen.slice(before)), [], `frames ${frames.toString('hex')} (a request that arrived late may belong to the input before it)`);
        assert.equal(details.proc.child.exitCode, null, 'the server sidecar exited');
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, endOnFailure: true },
    );
    await meshStillServes();
    // Requests still in flight when a connection closed may reach the app after its check.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(violations(app.seen), []);
    assert.ok(app.seen.length - start >= (runs - before) / 20, `only ${app.seen.length - start} of ${runs - before} inputs reached the app`);
    console.log(`fuzz: ${runs - before} HTTP/2 inputs, ${app.seen.length - start} requests reached the app`);
  });
});
