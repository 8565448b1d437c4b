// Secrets never reach a log. A sidecar pair with RequestAuthentication reading tokens from a
// query parameter, a cookie and headers; secrets (a real JWT, opaque values under every token
// location, authorization and proxy-authorization credentials, cookies) go through every failure
// path the data path has: a refused path (400), a bad token (401), a denial (403), an unknown
// service and a malformed target at the caller, a refused tunnel, an application down (503) and a
// peer sidecar gone. Every process's whole output (at debug level) and every file the mesh wrote
// are then searched for the secrets.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { AdminClient, loadAdminConfig } from '../../src/cli/admin/client.js';
import { tempDir } from '../helpers/cli.js';
import { startControlPlane, startWorkload, stop, type Mesh, type Proc, type Workload } from '../helpers/mesh.js';

const ISSUER = 'https://issuer.weft.test';
// Opaque secrets: none has the shape of a JWT, so only the token locations can catch them.
const OPAQUE = {
  accessToken: 'opaque-access-token-4f1c9a7e',
  param: 'opaque-param-token-8b2d6e0f',
  cookie: 'opaque-cookie-token-3a7c5b1d',
  header: 'opaque-header-token-9e4f2a6c',
  basic: Buffer.from('alice:basic-password-5d8e1f3b').toString('base64'),
  proxyBasic: Buffer.from('bob:proxy-password-2c6a9d4e').toString('base64'),
  unrelatedCookie: 'session-of-another-app-7b3e',
};

interface Answer {
  status: number;
  body: string;
}

/** An HTTP/1.1 request to the caller's outbound proxy, `host` in the Host header, `path` as sent. */
function call(w: Workload, path: string, headers: Record<string, string> = {}, host = 'reviews.default:9080'): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: w.outboundPort, path, headers: { host, ...headers }, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** CONNECT through the caller's outbound proxy; the status it answers. */
function connect(w: Workload, authority: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: w.outboundPort, method: 'CONNECT', path: authority, headers, timeout: 15_000 });
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

function* filesUnder(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) yield* filesUnder(path);
    else if (st?.isFile()) yield path;
  }
}

describe('secrets never reach a log', { timeout: 180_000 }, () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let productpage: Workload;
  let reviews: Workload;
  let key: CryptoKey;
  let valid: string;
  let forged: string;
  const sign = (k: CryptoKey) => new SignJWT({ groups: ['readers'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setSubject('alice').setIssuedAt().setExpirationTime('10m').sign(k);

  before(async () => {
    // Every line the processes can write, debug included.
    process.env.WEFT_LOG_LEVEL = 'debug';
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    reviews = await startWorkload(mesh, { service: 'reviews' });
    productpage = await startWorkload(mesh, { service: 'productpage' });
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    valid = await sign(key);
    forged = await sign((await generateKeyPair('ES256')).privateKey);
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
    const yaml = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  jwtRules:
  - issuer: "${ISSUER}"
    jwks: '${jwks}'
    fromParams: [api_tok]
    fromCookies: [sid]
    fromHeaders: [{ name: x-jwt }, { name: authorization, prefix: "Bearer " }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-private, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/private", "/private/*"] } }] }]
`;
    const api = new AdminClient(loadAdminConfig(join(mesh.dataDir, 'admin.conf')));
    await api.call('POST', '/v1/apply', { sources: [{ file: 'jwt.yaml', text: yaml }], dryRun: false });
    const deadline = performance.now() + 20_000;
    while ((await call(productpage, '/private')).status !== 403) {
      if (performance.now() > deadline) throw new Error('policy not in force');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    await stop(mesh?.procs ?? []);
    dir?.cleanup();
  });

  test('every failure path answers as it should, and no log line or file holds a secret', async () => {
    const q = `access_token=${OPAQUE.accessToken}&api_tok=${OPAQUE.param}&t=${valid}`;
    const inboundOnly: [string, () => Promise<Answer>, number][] = [
      ['refused path', () => call(productpage, `/bad%00path?${q}`), 400],
      ['opaque token in the fromParams parameter', () => call(productpage, `/x?api_tok=${OPAQUE.param}&access_token=${OPAQUE.accessToken}`), 401],
      ['forged JWT in the fromParams parameter', () => call(productpage, `/x?api_tok=${forged}`), 401],
      ['opaque token in the fromCookies cookie', () => call(productpage, '/x', { cookie: `theme=dark; sid=${OPAQUE.cookie}; other=${OPAQUE.unrelatedCookie}` }), 401],
      ['opaque token in the fromHeaders header', () => call(productpage, '/x', { 'x-jwt': OPAQUE.header }), 401],
      ['forged JWT as a bearer token', () => call(productpage, '/x', { authorization: `Bearer ${forged}` }), 401],
      ['denied with a valid token and credentials', () => call(productpage, `/private/x?access_token=${OPAQUE.accessToken}&api_tok=${valid}`, { authorization: `Basic ${OPAQUE.basic}`, cookie: `theme=dark` }), 403],
    ];
    for (const [name, send, status] of inboundOnly) {
      const r = await send();
      assert.equal(r.status, status, `${name}: ${r.body}`);
    }

    // At the caller: no RequestAuthentication selects it, but every snapshot names the mesh's token
    // locations, so opaque values under the serving workload's parameter, cookie and header go too.
    const opaqueQ = `access_token=${OPAQUE.accessToken}&api_tok=${OPAQUE.param}`;
    const unknown = await call(productpage, `/x?${opaqueQ}`, { authorization: `Basic ${OPAQUE.basic}`, cookie: `sid=${OPAQUE.cookie}`, 'x-jwt': OPAQUE.header }, 'nosuch.default:9080');
    // Past the caller, the serving sidecar verifies what it finds, so these carry a valid token.
    const callerQ = `access_token=${OPAQUE.accessToken}&api_tok=${valid}`;
    assert.equal(unknown.status, 503, unknown.body);
    const malformed = await call(productpage, `https://reviews.default:9080/x?${callerQ}`, { authorization: `Bearer ${valid}` });
    assert.equal(malformed.status, 400, malformed.body);
    // A DENY with HTTP-only fields denies every TCP connection, so the peer refuses the tunnel.
    assert.equal(await connect(productpage, 'reviews.default:9080', { 'proxy-authorization': `Basic ${OPAQUE.proxyBasic}` }), 403);
    assert.ok([400, 503].includes(await connect(productpage, `nosuch.default:9080`, { 'proxy-authorization': `Basic ${OPAQUE.proxyBasic}`, authorization: `Bearer ${valid}` })));

    // The application down: the serving sidecar cannot forward (503).
    reviews.app.child.kill('SIGKILL');
    await reviews.app.exited;
    const down = await call(productpage, `/x?${callerQ}`, { cookie: `sid=${valid}`, authorization: `Bearer ${valid}` });
    assert.equal(down.status, 503, down.body);
    // The peer sidecar gone: the caller cannot reach it (503).
    await stop([reviews.sidecar]);
    const gone = await call(productpage, `/x?${callerQ}`, { authorization: `Basic ${OPAQUE.basic}` });
    assert.equal(gone.status, 503, gone.body);
    await stop([productpage.sidecar]);

    const outputs: [string, string][] = mesh.procs.map((p: Proc) => [p.name, p.output()]);
    for (const file of filesUnder(dir.dir)) outputs.push([file, readFileSync(file, 'latin1')]);
    const all = outputs.map(([, text]) => text).join('\n');
    // The failure paths were logged, with the secrets taken out.
    for (const event of ['inbound.path.refused', 'inbound.jwt.refused', 'inbound.denied', 'WEFT_PROXY_UNKNOWN_SERVICE', 'WEFT_PROXY_BAD_REQUEST', 'outbound.tcp.refused', 'WEFT_PROXY_APP_UNAVAILABLE']) {
      assert.ok(all.includes(event), `no ${event} line was logged`);
    }
    const secrets = [...Object.entries(OPAQUE).filter(([k]) => k !== 'unrelatedCookie'), ['valid JWT', valid], ['forged JWT', forged]];
    // A JWT counts as leaked if any of its segments shows.
    for (const jwt of [valid, forged]) jwt.split('.').forEach((segment, i) => secrets.push([`JWT segment ${i}`, segment]));
    for (const [what, secret] of secrets) {
      for (const [source, text] of outputs) {
        const at = text.indexOf(secret);
        assert.equal(at, -1, `${what} appears in ${source}: ...${text.slice(Math.max(0, at - 200), at + secret.length + 40)}`);
      }
    }
    assert.ok(all.includes('[redacted]'));
  });
});
