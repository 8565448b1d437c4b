// Istio's security semantics end to end through real sidecars: a table of scenarios written from
// Istio's documentation tasks (HTTP authorization, TCP authorization, deny, allow-nothing, deny-all, ipBlocks,
// headers, path normalization, mTLS migration PERMISSIVE -> STRICT), each applied to a live mesh
// and checked with a real request. The caller is a sidecar's outbound proxy (its SPIFFE ID is the
// principal) or curl in plaintext straight to the inbound port.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminClient, loadAdminConfig } from '../../src/cli/admin/client.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';

type Caller = 'productpage' | 'details' | 'sleep' | 'plaintext';
interface Scenario {
  readonly name: string;
  /** Resources applied for this scenario (removed after it); `APP_PORT` is replaced by reviews' app port. */
  readonly yaml: string;
  /** `tcp`: a TCP connection through the caller's proxy (curl -p: CONNECT, then bytes); status is the CONNECT answer. */
  readonly requests: readonly { from: Caller; tcp?: boolean; method?: string; path?: string; host?: string; headers?: Record<string, string>; status: number }[];
}

const ap = (name: string, spec: string, ns = 'default', extraMeta = '') =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: ${ns}${extraMeta} }\nspec: ${spec}\n---\n`;
const pa = (name: string, spec: string, ns = 'default') => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n---\n`;
const mesh = (spec: string) => `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: default }\nspec: ${spec}\n---\n`;
const SEL = 'selector: { matchLabels: { app: reviews } }';
const PP = 'cluster.local/ns/default/sa/productpage';
const ALLOW_ALL = ap('allow-all', `{ ${SEL}, rules: [{}] }`);

const SCENARIOS: Scenario[] = [
  { name: 'no policy: every mesh caller is allowed', yaml: '', requests: [{ from: 'productpage', status: 200 }, { from: 'sleep', status: 200 }] },
  { name: 'allow-nothing: an ALLOW policy with an empty spec denies everything', yaml: ap('allow-nothing', `{ ${SEL} }`), requests: [{ from: 'productpage', status: 403 }] },
  { name: 'deny-all: DENY with rules [{}]', yaml: ap('deny-all', `{ ${SEL}, action: DENY, rules: [{}] }`), requests: [{ from: 'productpage', status: 403 }] },
  { name: 'allow-all: ALLOW with rules [{}]', yaml: ALLOW_ALL, requests: [{ from: 'details', status: 200 }] },
  { name: 'ALLOW by principal', yaml: ap('pp', `{ ${SEL}, rules: [{ from: [{ source: { principals: ["${PP}"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'details', status: 403 }] },
  { name: 'ALLOW by principal prefix and suffix wildcards', yaml: ap('wild', `{ ${SEL}, rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/product*", "*/sa/sleep"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'sleep', status: 200 }, { from: 'details', status: 403 }] },
  { name: 'ALLOW by namespace', yaml: ap('ns', `{ ${SEL}, rules: [{ from: [{ source: { namespaces: ["other"] } }] }] }`), requests: [{ from: 'sleep', status: 200 }, { from: 'productpage', status: 403 }] },
  { name: 'DENY notNamespaces: only the own namespace gets in', yaml: ap('not-ns', `{ ${SEL}, action: DENY, rules: [{ from: [{ source: { notNamespaces: ["default"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'sleep', status: 403 }] },
  { name: 'DENY notPrincipals', yaml: ap('not-pp', `{ ${SEL}, action: DENY, rules: [{ from: [{ source: { notPrincipals: ["${PP}"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'details', status: 403 }] },
  { name: 'ALLOW GET only (methods)', yaml: ap('get', `{ ${SEL}, rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'productpage', method: 'POST', status: 403 }] },
  { name: 'DENY notMethods', yaml: ap('not-get', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { notMethods: ["GET", "HEAD"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'productpage', method: 'DELETE', status: 403 }] },
  { name: 'ALLOW path prefix', yaml: ap('prefix', `{ ${SEL}, rules: [{ to: [{ operation: { paths: ["/api/*"] } }] }] }`), requests: [{ from: 'productpage', path: '/api/v1/x', status: 200 }, { from: 'productpage', path: '/private', status: 403 }] },
  { name: 'DENY path suffix', yaml: ap('suffix', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { paths: ["*.secret"] } }] }] }`), requests: [{ from: 'productpage', path: '/a/b.secret', status: 403 }, { from: 'productpage', path: '/a/b.txt', status: 200 }] },
  { name: 'path template {*} matches one segment', yaml: ap('tmpl', `{ ${SEL}, rules: [{ to: [{ operation: { paths: ["/reviews/{*}"] } }] }] }`), requests: [{ from: 'productpage', path: '/reviews/7', status: 200 }, { from: 'productpage', path: '/reviews/7/comments', status: 403 }] },
  { name: 'path template {**} matches several segments', yaml: ap('tmpl2', `{ ${SEL}, rules: [{ to: [{ operation: { paths: ["/reviews/{**}"] } }] }] }`), requests: [{ from: 'productpage', path: '/reviews/7/comments', status: 200 }, { from: 'productpage', path: '/ratings/7', status: 403 }] },
  { name: 'hosts match case-insensitively', yaml: ap('hosts', `{ ${SEL}, rules: [{ to: [{ operation: { hosts: ["reviews.default:9080"] } }] }] }`), requests: [{ from: 'productpage', host: 'REVIEWS.default:9080', status: 200 }] },
  { name: 'DENY notHosts', yaml: ap('not-hosts', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { notHosts: ["reviews.default:9080"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }, { from: 'productpage', host: 'reviews.default.svc.cluster.local:9080', status: 403 }] },
  { name: 'when request.headers values', yaml: ap('hdr', `{ ${SEL}, rules: [{ when: [{ key: "request.headers[x-team]", values: ["blue"] }] }] }`), requests: [{ from: 'productpage', headers: { 'x-team': 'blue' }, status: 200 }, { from: 'productpage', headers: { 'x-team': 'red' }, status: 403 }, { from: 'productpage', status: 403 }] },
  { name: 'when request.headers notValues on a DENY', yaml: ap('hdr-deny', `{ ${SEL}, action: DENY, rules: [{ when: [{ key: "request.headers[x-team]", notValues: ["blue"] }] }] }`), requests: [{ from: 'productpage', headers: { 'x-team': 'blue' }, status: 200 }, { from: 'productpage', status: 403 }] },
  { name: 'ipBlocks allow loopback', yaml: ap('ip', `{ ${SEL}, rules: [{ from: [{ source: { ipBlocks: ["127.0.0.0/8"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }] },
  { name: 'ipBlocks elsewhere allow nothing here', yaml: ap('ip2', `{ ${SEL}, rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/8", "192.168.0.0/16"] } }] }] }`), requests: [{ from: 'productpage', status: 403 }] },
  { name: 'DENY notIpBlocks', yaml: ap('ip3', `{ ${SEL}, action: DENY, rules: [{ from: [{ source: { notIpBlocks: ["127.0.0.1/32"] } }] }] }`), requests: [{ from: 'productpage', status: 200 }] },
  { name: 'when destination.port on the app port', yaml: ap('port', `{ ${SEL}, rules: [{ when: [{ key: "destination.port", values: ["APP_PORT"] }] }] }`), requests: [{ from: 'productpage', status: 200 }] },
  { name: 'DENY wins over a matching ALLOW', yaml: ALLOW_ALL + ap('deny-pp', `{ ${SEL}, action: DENY, rules: [{ from: [{ source: { principals: ["${PP}"] } }] }] }`), requests: [{ from: 'productpage', status: 403 }, { from: 'details', status: 200 }] },
  { name: 'AUDIT decides nothing', yaml: ap('audit', `{ ${SEL}, action: AUDIT, rules: [{}] }`), requests: [{ from: 'productpage', status: 200 }] },
  { name: 'istio.io/dry-run enforces nothing', yaml: ap('dry', `{ ${SEL}, action: DENY, rules: [{}] }`, 'default', ', annotations: { "istio.io/dry-run": "true" }'), requests: [{ from: 'productpage', status: 200 }] },
  { name: 'CUSTOM fails closed when its provider is a host name weft cannot dial yet', yaml: mesh('{ extensionProviders: [{ name: ext, envoyExtAuthzHttp: { service: ext.default.svc.cluster.local, port: 8000 } }] }') + ap('custom', `{ ${SEL}, action: CUSTOM, provider: { name: ext }, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] }`), requests: [{ from: 'productpage', path: '/admin', status: 403 }, { from: 'productpage', path: '/ok', status: 200 }] },
  { name: 'root-namespace policy with a selector applies in every namespace', yaml: ap('root-deny', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { methods: ["DELETE"] } }] }] }`, 'istio-system'), requests: [{ from: 'productpage', method: 'DELETE', status: 403 }, { from: 'productpage', status: 200 }] },
  { name: 'another namespace\'s policy does not apply', yaml: ap('elsewhere', '{ action: DENY, rules: [{}] }', 'other'), requests: [{ from: 'productpage', status: 200 }] },
  { name: 'requestPrincipals without a token: refused', yaml: ap('need-jwt', `{ ${SEL}, rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }`), requests: [{ from: 'productpage', status: 403 }] },
  { name: 'mTLS migration: PERMISSIVE serves plaintext callers, who have no principal', yaml: pa('permissive', `{ ${SEL}, mtls: { mode: PERMISSIVE } }`) + ALLOW_ALL, requests: [{ from: 'plaintext', status: 200 }, { from: 'productpage', status: 200 }] },
  { name: 'mTLS migration: a principal-based policy refuses the plaintext caller under PERMISSIVE', yaml: pa('permissive', `{ ${SEL}, mtls: { mode: PERMISSIVE } }`) + ap('pp', `{ ${SEL}, rules: [{ from: [{ source: { principals: ["*"] } }] }] }`), requests: [{ from: 'plaintext', status: 403 }, { from: 'productpage', status: 200 }] },
  { name: 'mTLS migration: STRICT refuses plaintext (closed before any byte reaches the app)', yaml: pa('strict', `{ ${SEL}, mtls: { mode: STRICT } }`) + ALLOW_ALL, requests: [{ from: 'plaintext', status: 0 }, { from: 'productpage', status: 200 }] },
  { name: 'MeshConfig PERMISSIVE, namespace STRICT: the more specific policy wins', yaml: mesh('{ mtls: { mode: PERMISSIVE } }') + pa('ns-strict', '{ mtls: { mode: STRICT } }') + ALLOW_ALL, requests: [{ from: 'plaintext', status: 0 }] },
  { name: 'portLevelMtls PERMISSIVE on the app port under a STRICT workload policy', yaml: pa('port', `{ ${SEL}, mtls: { mode: STRICT }, portLevelMtls: { "APP_PORT": { mode: PERMISSIVE } } }`) + ALLOW_ALL, requests: [{ from: 'plaintext', status: 200 }] },
  { name: 'TCP: no policy, a mesh caller\'s connection reaches the app', yaml: '', requests: [{ from: 'productpage', tcp: true, status: 200 }, { from: 'sleep', tcp: true, status: 200 }] },
  { name: 'TCP: ALLOW by port and principal', yaml: ap('tcp-port', `{ ${SEL}, rules: [{ from: [{ source: { principals: ["${PP}"] } }], to: [{ operation: { ports: ["APP_PORT"] } }] }] }`), requests: [{ from: 'productpage', tcp: true, status: 200 }, { from: 'details', tcp: true, status: 403 }] },
  { name: 'TCP: an ALLOW rule with HTTP-only fields never matches a TCP connection', yaml: ap('tcp-methods', `{ ${SEL}, rules: [{ to: [{ operation: { methods: ["GET"], ports: ["APP_PORT"] } }] }] }`), requests: [{ from: 'productpage', tcp: true, status: 403 }, { from: 'productpage', status: 200 }] },
  { name: 'TCP: a DENY rule with HTTP-only fields denies every TCP connection', yaml: ap('tcp-deny-methods', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }`), requests: [{ from: 'productpage', tcp: true, status: 403 }, { from: 'productpage', method: 'POST', status: 200 }, { from: 'productpage', status: 403 }] },
  { name: 'TCP: DENY by namespace closes the other namespace\'s connections only', yaml: ap('tcp-deny-ns', `{ ${SEL}, action: DENY, rules: [{ from: [{ source: { namespaces: ["other"] } }] }] }`), requests: [{ from: 'sleep', tcp: true, status: 403 }, { from: 'productpage', tcp: true, status: 200 }] },
  { name: 'TCP: requestPrincipals cannot match without HTTP, so JWT-only ALLOW refuses TCP', yaml: ap('tcp-jwt', `{ ${SEL}, rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }`), requests: [{ from: 'productpage', tcp: true, status: 403 }] },
  { name: 'default normalization (MERGE_SLASHES): dot segments and doubled slashes cannot reach a denied path', yaml: ap('deny-admin', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] }`), requests: [{ from: 'productpage', path: '/x/../admin', status: 403 }, { from: 'productpage', path: '/./admin', status: 403 }, { from: 'productpage', path: '/admin?x=1', status: 403 }, { from: 'productpage', path: '//admin', status: 403 }] },
  { name: 'BASE normalization (set explicitly, as Istio\'s default): dot segments are caught, //admin is not', yaml: mesh('{ pathNormalization: { normalization: BASE } }') + ap('deny-admin', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] }`), requests: [{ from: 'productpage', path: '/x/../admin', status: 403 }, { from: 'productpage', path: '//admin', status: 200 }] },
  { name: 'MERGE_SLASHES: //admin is /admin', yaml: mesh('{ pathNormalization: { normalization: MERGE_SLASHES } }') + ap('deny-admin', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] }`), requests: [{ from: 'productpage', path: '//admin', status: 403 }, { from: 'productpage', path: '/ok', status: 200 }] },
  { name: 'DECODE_AND_MERGE_SLASHES: %2F and %5C cannot hide a slash', yaml: mesh('{ pathNormalization: { normalization: DECODE_AND_MERGE_SLASHES } }') + ap('deny-admin', `{ ${SEL}, action: DENY, rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }] }`), requests: [{ from: 'productpage', path: '/admin%2Fusers', status: 403 }, { from: 'productpage', path: '/admin%5Cusers', status: 403 }] },
];

function call(w: Workload, r: Scenario['requests'][number]): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: w.outboundPort, method: r.method ?? 'GET', path: r.path ?? '/', headers: { host: r.host ?? 'reviews.default:9080', ...(r.headers ?? {}) }, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * A TCP connection through the caller's sidecar: curl asks for `CONNECT reviews.default:9080`, then
 * speaks HTTP/1.1 to the app through the tunnel. Returns the CONNECT status; an opened tunnel must
 * also carry the app's answer.
 */
async function tunnel(w: Workload): Promise<number> {
  const out = (await runCommand('curl', ['-s', '-o', '/dev/null', '-m', '5', '-p', '-x', `http://127.0.0.1:${w.outboundPort}`, '-w', '%{http_connect} %{http_code}', 'http://reviews.default:9080/'])).stdout;
  const [connect, app] = out.trim().split(' ').map(Number) as [number, number];
  if (connect === 200) assert.equal(app, 200, `the tunnel opened but the app's answer did not come back: ${out}`);
  return connect;
}

describe('Istio security scenarios through real sidecars', () => {
  let dir: { dir: string; cleanup: () => void };
  let m: Mesh;
  let api: AdminClient;
  let reviews: Workload;
  const callers = {} as Record<Exclude<Caller, 'plaintext'>, Workload>;

  async function configKeys(): Promise<string[]> {
    return ((await (await fetch(`http://127.0.0.1:${reviews.adminPort}/config`)).json()) as { resources: string[] }).resources;
  }

  async function inForce(expected: string[]): Promise<void> {
    const deadline = performance.now() + 15_000;
    for (;;) {
      const keys = await configKeys();
      if (expected.every((k) => keys.includes(k)) && keys.length === expected.length) return;
      if (performance.now() > deadline) throw new Error(`sidecar config ${JSON.stringify(keys)} never became ${JSON.stringify(expected)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    dir = tempDir();
    m = await startControlPlane(join(dir.dir, 'cp'));
    api = new AdminClient(loadAdminConfig(join(m.dataDir, 'admin.conf')));
    reviews = await startWorkload(m, { service: 'reviews' });
    callers.productpage = await startWorkload(m, { service: 'productpage' });
    callers.details = await startWorkload(m, { service: 'details' });
    callers.sleep = await startWorkload(m, { service: 'sleep', namespace: 'other' });
  });
  after(async () => {
    await stop(m.procs);
    dir.cleanup();
  });

  for (const s of SCENARIOS) {
    test(s.name, async () => {
      const yaml = s.yaml.replaceAll('APP_PORT', String(reviews.appPort));
      let keys: string[] = [];
      if (yaml !== '') {
        const res = await api.call<{ results: { key: string; after: { metadata: { resourceVersion: string } } }[] }>('POST', '/v1/apply', { sources: [{ file: 'scenario.yaml', text: yaml }], dryRun: false });
        keys = res.results.map((r) => r.key);
        await inForce(res.results.filter((r) => !r.key.startsWith('AuthorizationPolicy/other/')).map((r) => `${r.key}@${r.after.metadata.resourceVersion}`));
      }
      try {
        for (const r of s.requests) {
          const status =
            r.from === 'plaintext'
              ? Number((await runCommand('curl', ['-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', `http://127.0.0.1:${reviews.inboundPort}${r.path ?? '/'}`])).stdout)
              : r.tcp === true
                ? await tunnel(callers[r.from])
                : await call(callers[r.from], r);
          assert.equal(status, r.status, `${r.from} ${r.method ?? 'GET'} ${r.path ?? '/'}${r.headers ? ` ${JSON.stringify(r.headers)}` : ''}`);
        }
      } finally {
        if (keys.length > 0) {
          await api.call('POST', '/v1/delete', { keys, dryRun: false });
          await inForce([]);
        }
      }
    });
  }

  test('the table has at least 30 scenarios', () => assert.ok(SCENARIOS.length >= 30, String(SCENARIOS.length)));
});
