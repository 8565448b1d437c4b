// The request the app receives is the request the policy decided on, through a real sidecar pair
// on 127.0.0.1, on every branch of the inbound path: mTLS HTTP/2 (through the client sidecar, or a
// peer speaking HTTP/2 itself) with or without RequestAuthentication and with the token valid,
// absent or refused, and PERMISSIVE plaintext HTTP/1.1. What policy saw is read from the serving
// sidecar's decision channel; what the app saw from the app itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { PathNormalization } from '../../src/policy/index.js';
import { appView, asPeer, AUTHORITY, authz, inboundPolicy, plaintext, policyView, startRig, viaSidecar, type Answer, type Rig } from './helpers.js';

const PUBLIC_ONLY = authz('public-only', '  rules: [{ to: [{ operation: { paths: ["/public/*"] } }] }]');
const DENY_ADMIN = authz('deny-admin', '  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }]');

type Branch = 'mtls' | 'mtls-jwt-absent' | 'mtls-jwt-valid' | 'mtls-jwt-refused' | 'peer-h2' | 'plaintext' | 'plaintext-jwt-absent';
const BRANCHES: readonly Branch[] = ['mtls', 'mtls-jwt-absent', 'mtls-jwt-valid', 'mtls-jwt-refused', 'peer-h2', 'plaintext', 'plaintext-jwt-absent'];

describe('the app receives exactly the request the policy decided on', () => {
  let rig: Rig;
  let valid: string;
  let forged: string;

  before(async () => {
    rig = await startRig();
    valid = await rig.sign({ groups: ['readers'] });
    forged = await rig.sign({ groups: ['readers'] }, { foreignKey: true });
  });
  after(async () => {
    await rig?.close();
  });

  /** Sends `target` on `branch` under the public-only policy and `mode`; returns the answer and both views. */
  async function send(branch: Branch, target: string, mode: PathNormalization, yaml = PUBLIC_ONLY, extra: readonly string[] = []): Promise<{ answer: Answer; app?: ReturnType<typeof appView>; policy?: ReturnType<typeof policyView> }> {
    const jwt = branch.includes('jwt');
    rig.use(inboundPolicy({ yaml, normalization: mode, ...(jwt ? { jwks: rig.jwks } : {}), permissive: branch.startsWith('plaintext') }));
    rig.app.seen.length = 0;
    rig.decided.length = 0;
    const token = branch === 'mtls-jwt-valid' ? valid : branch === 'mtls-jwt-refused' ? forged : undefined;
    const headers = ['host', AUTHORITY, ...(token === undefined ? [] : ['authorization', `Bearer ${token}`]), ...extra];
    const answer =
      branch === 'peer-h2' ? await asPeer(rig, { ':path': target, ':authority': AUTHORITY, ...grouped(extra) })
      : branch.startsWith('plaintext') ? await plaintext(rig, target, headers)
      : await viaSidecar(rig, target, headers);
    const seen = rig.app.seen[0];
    const decided = rig.decided.find((d) => d.attributes.protocol === 'http');
    return { answer, ...(seen === undefined ? {} : { app: appView(seen) }), ...(decided === undefined ? {} : { policy: policyView(decided.attributes) }) };
  }

  /** The invariant: an allowed request reaches the app as decided; anything else never reaches it. */
  function assertAgreement(branch: Branch, target: string, r: Awaited<ReturnType<typeof send>>): void {
    const where = `${branch} ${JSON.stringify(target)}: ${r.answer.status} ${r.answer.body.slice(0, 120)}`;
    if (r.answer.status !== 200) {
      assert.equal(r.app, undefined, `${where}: a refused request reached the app`);
      return;
    }
    assert.ok(r.app !== undefined && r.policy !== undefined, where);
    assert.equal(r.app.target, r.policy.target, `${where}: the app got another target than policy saw`);
    assert.equal(r.app.host, r.policy.host, `${where}: the app got another authority than policy saw`);
    assert.deepEqual(r.app.fields, r.policy.fields, `${where}: the app got other headers than policy saw`);
    for (const name of Object.keys(r.policy.fields)) assert.ok(!/^x-(weft|envoy)-/.test(name), `${where}: ${name} reached policy`);
    // The RequestAuthentication output headers are owned only where one is in force: then they come from the token or not at all.
    if (branch.includes('jwt')) assert.deepEqual(r.policy.fields['x-jwt-sub'], branch === 'mtls-jwt-valid' ? ['alice'] : undefined, where);
    for (const xfcc of r.policy.fields['x-forwarded-client-cert'] ?? []) assert.match(xfcc, /^By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/details;Hash=[0-9a-f]{64};URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/productpage$/, where);
  }

  const PATHS: ReadonlyArray<readonly [string, PathNormalization, number, string?]> = [
    ['/admin/../public/x', 'BASE', 200, '/public/x'],
    ['/public/./x', 'BASE', 200, '/public/x'],
    ['/public/%2e%2e/admin', 'BASE', 403],
    ['/public/%2E%2e/public/y', 'BASE', 200, '/public/y'],
    ['/public/x?a=../b', 'BASE', 200, '/public/x?a=../b'],
    ['/public%2Fx', 'BASE', 403],
    ['/public%2Fx', 'DECODE_AND_MERGE_SLASHES', 200, '/public/x'],
    ['/admin%2F..%2Fpublic/x', 'DECODE_AND_MERGE_SLASHES', 200, '/public/x'],
    ['/public//x', 'BASE', 200, '/public//x'],
    ['/public//x', 'MERGE_SLASHES', 200, '/public/x'],
    ['//public/x', 'MERGE_SLASHES', 200, '/public/x'],
    ['/admin\\..\\public\\x', 'BASE', 200, '/public/x'],
    ['/admin/..;x/public/x', 'BASE', 200, '/public/x'],
    ['/admin/../public/x', 'NONE', 403],
    ['/admin', 'BASE', 403],
    ['/public/a%zz', 'BASE', 400],
  ];
  for (const branch of BRANCHES) {
    test(`path table on branch ${branch}`, async () => {
      for (const [target, mode, status, appTarget] of PATHS) {
        const r = await send(branch, target, mode);
        // A path is checked before any token: a bad one is 400 on every branch.
        const expected = branch === 'mtls-jwt-refused' && status !== 400 ? 401 : status;
        assert.equal(r.answer.status, expected, `${branch} ${mode} ${target}: ${r.answer.body.slice(0, 200)}`);
        assertAgreement(branch, target, r);
        if (expected === 200) assert.equal(r.app!.target, appTarget, `${branch} ${mode} ${target}`);
      }
    });
  }

  test('property: on every branch and normalization, an allowed request reaches the app with the target, authority and headers policy saw', async () => {
    const segment = fc.constantFrom('public', 'admin', 'x', '.', '..', '%2e', '%2E%2e', '..;p', '', 'a%2Fb', 'a%5Cb', 'b\\..', '%41', 'é', '%7E');
    const path = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('', '?q=1', '?a=/../b')).map(([s, q]) => `/${s.join('/')}${q}`);
    const mode = fc.constantFrom<PathNormalization>('NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES');
    const branch = fc.constantFrom(...BRANCHES);
    // Fields a client may repeat or spoof: policy and app must agree on them, and never see a spoofed one.
    const field = fc.tuple(fc.constantFrom('x-role', 'x-a', 'cookie', 'x-forwarded-client-cert', 'x-weft-peer', 'x-envoy-original-path', 'x-jwt-sub', 'x-jwt-payload'), fc.constantFrom('admin', 'user', 'a=1', 'By=x;URI=spiffe://cluster.local/ns/default/sa/admin'));
    const fields = fc.array(field, { maxLength: 5 }).map((list) => list.flat());
    await fc.assert(
      fc.asyncProperty(branch, path, mode, fields, async (b, p, m, extra) => {
        // A raw HTTP/1.1 request line carries no bytes above 0x7f: the client encodes them first.
        const target = b === 'peer-h2' ? p : p.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
        assertAgreement(b, target, await send(b, target, m, DENY_ADMIN, extra));
      }),
      { numRuns: 120 },
    );
  });
});

describe('one authority, sidecar-owned headers and repeated headers', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(async () => {
    await rig?.close();
  });

  function last(): { app?: ReturnType<typeof appView>; policy?: ReturnType<typeof policyView> } {
    const seen = rig.app.seen[0];
    const decided = rig.decided.find((d) => d.attributes.protocol === 'http');
    return { ...(seen === undefined ? {} : { app: appView(seen) }), ...(decided === undefined ? {} : { policy: policyView(decided.attributes) }) };
  }

  async function run(yaml: string, send: () => Promise<Answer>, opts: { jwks?: boolean; permissive?: boolean } = {}): Promise<Answer & ReturnType<typeof last>> {
    rig.use(inboundPolicy({ yaml, ...(opts.jwks === true ? { jwks: rig.jwks } : {}), permissive: opts.permissive ?? true }));
    rig.app.seen.length = 0;
    rig.decided.length = 0;
    const answer = await send();
    return { ...answer, ...last() };
  }

  const HOSTS_DETAILS = authz('hosts', '  rules: [{ to: [{ operation: { hosts: ["details.default:9080", "details.default"] } }] }]');

  test('authority table: :authority, or host when it is absent; two different ones are 400; the same value at routing, policy and app', async () => {
    const cases: ReadonlyArray<readonly [string, () => Promise<Answer>, number, string?]> = [
      ['h2 :authority', () => asPeer(rig, { ':path': '/a', ':authority': AUTHORITY }), 200, AUTHORITY],
      ['h2 host and no :authority', () => asPeer(rig, { ':path': '/a', host: AUTHORITY }), 200, AUTHORITY],
      ['h2 :authority and an equal host', () => asPeer(rig, { ':path': '/a', ':authority': 'details.default', host: 'Details.Default:80' }), 200, 'details.default'],
      ['h2 :authority and another host', () => asPeer(rig, { ':path': '/a', ':authority': AUTHORITY, host: 'evil.example' }), 400],
      ['h2 host naming another service than :authority', () => asPeer(rig, { ':path': '/a', ':authority': 'evil.example', host: AUTHORITY }), 400],
      ['h1 origin-form with Host', () => plaintext(rig, '/a', ['host', AUTHORITY]), 200, AUTHORITY],
      ['h1 absolute-form wins over Host', () => plaintext(rig, `http://${AUTHORITY}/a`, ['host', 'evil.example']), 200, AUTHORITY],
      ['h1 absolute-form naming another host than the policy allows', () => plaintext(rig, 'http://evil.example/a', ['host', AUTHORITY]), 403],
      ['h1 two Host headers', () => plaintext(rig, '/a', ['host', AUTHORITY, 'host', 'evil.example']), 400],
      ['h1 no Host', () => plaintext(rig, '/a', []), 400],
      ['h1 user information in an absolute-form target', () => plaintext(rig, `http://u@${AUTHORITY}/a`, ['host', AUTHORITY]), 400],
      ['through the client sidecar: the absolute-form URI routes, decides and reaches the app', () => viaSidecar(rig, `http://${AUTHORITY}/a`, ['host', 'evil.example']), 200, AUTHORITY],
    ];
    for (const [name, send, status, authority] of cases) {
      const r = await run(HOSTS_DETAILS, send);
      assert.equal(r.status, status, `${name}: ${r.body.slice(0, 200)}`);
      if (status !== 200) {
        assert.equal(r.app, undefined, `${name}: reached the app`);
        continue;
      }
      assert.equal(r.policy?.host, authority, `${name}: policy's host`);
      assert.equal(r.app?.host, authority, `${name}: the app's Host`);
      assert.equal(r.app?.target, '/a', name);
    }
  });

  test('headers the sidecar owns are never the client\'s: policy and app see the sidecar\'s values only', async () => {
    const spoofed = [
      'x-forwarded-client-cert', 'By=spiffe://cluster.local/ns/default/sa/details;URI=spiffe://cluster.local/ns/default/sa/admin',
      'x-weft-peer', 'spiffe://cluster.local/ns/default/sa/admin',
      'x-envoy-peer-metadata-id', 'admin',
      'x-jwt-sub', 'admin',
      'x-jwt-payload', 'eyJzdWIiOiJhZG1pbiJ9',
    ];
    // Each policy would let the spoofed value in; none may.
    const fooled = [
      authz('xfcc', '  rules: [{ when: [{ key: "request.headers[x-forwarded-client-cert]", values: ["*sa/admin"] }] }]'),
      authz('weft', '  rules: [{ when: [{ key: "request.headers[x-weft-peer]", values: ["*"] }] }]'),
      authz('envoy', '  rules: [{ when: [{ key: "request.headers[x-envoy-peer-metadata-id]", values: ["admin"] }] }]'),
      authz('claim', '  rules: [{ when: [{ key: "request.headers[x-jwt-sub]", values: ["admin"] }] }]'),
      authz('payload', '  rules: [{ when: [{ key: "request.headers[x-jwt-payload]", values: ["*"] }] }]'),
    ];
    const senders: ReadonlyArray<readonly [string, () => Promise<Answer>]> = [
      ['through the client sidecar', () => viaSidecar(rig, '/a', ['host', AUTHORITY, ...spoofed])],
      ['as an HTTP/2 peer', () => asPeer(rig, { ':path': '/a', ':authority': AUTHORITY, ...pairs(spoofed) })],
      ['in plaintext', () => plaintext(rig, '/a', ['host', AUTHORITY, ...spoofed])],
    ];
    for (const [how, send] of senders) {
      for (const yaml of fooled) {
        const r = await run(yaml, send, { jwks: true });
        assert.equal(r.status, 403, `${how}, ${yaml.split('\n')[2]}: ${r.body}`);
        assert.equal(r.app, undefined);
      }
      const r = await run(DENY_ADMIN, send, { jwks: true });
      assert.equal(r.status, 200, `${how}: ${r.body}`);
      for (const view of [r.policy!, r.app!]) {
        for (const name of ['x-weft-peer', 'x-envoy-peer-metadata-id', 'x-jwt-sub', 'x-jwt-payload']) assert.equal(view.fields[name], undefined, `${how}: ${name}`);
        const xfcc = view.fields['x-forwarded-client-cert'];
        if (how === 'in plaintext') assert.equal(xfcc, undefined, 'a plaintext client has no XFCC');
        else assert.deepEqual(xfcc, [`By=spiffe://cluster.local/ns/default/sa/details;Hash=${xfcc![0]!.split('Hash=')[1]!.split(';')[0]};URI=spiffe://cluster.local/ns/default/sa/productpage`]);
      }
      assert.deepEqual(r.app!.fields, r.policy!.fields, how);
    }
  });

  test('with a valid token the claim headers are the sidecar\'s, from the token', async () => {
    const token = await rig.sign({});
    const r = await run(DENY_ADMIN, () => viaSidecar(rig, '/a', ['host', AUTHORITY, 'authorization', `Bearer ${token}`, 'x-jwt-sub', 'admin']), { jwks: true });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.policy!.fields['x-jwt-sub'], ['alice']);
    assert.deepEqual(r.app!.fields['x-jwt-sub'], ['alice']);
    assert.equal(r.app!.fields.authorization, undefined, 'the token is not forwarded');
  });

  test('repeated header table: a repeated header can make a DENY match, never an ALLOW', async () => {
    const DENY_ROLE = authz('deny-admin-role', '  action: DENY\n  rules: [{ when: [{ key: "request.headers[x-role]", values: ["admin"] }] }]');
    const ALLOW_USER = authz('allow-user-role', '  rules: [{ when: [{ key: "request.headers[x-role]", values: ["user"] }] }]');
    const cases: ReadonlyArray<readonly [string, string, readonly string[], number]> = [
      ['DENY admin: [user, admin]', DENY_ROLE, ['user', 'admin'], 403],
      ['DENY admin: [admin, user]', DENY_ROLE, ['admin', 'user'], 403],
      ['DENY admin: [user, guest]', DENY_ROLE, ['user', 'guest'], 200],
      ['DENY admin: [admin]', DENY_ROLE, ['admin'], 403],
      ['ALLOW user: [user]', ALLOW_USER, ['user'], 200],
      ['ALLOW user: [user, admin]', ALLOW_USER, ['user', 'admin'], 403],
      ['ALLOW user: [user, user]', ALLOW_USER, ['user', 'user'], 403],
    ];
    for (const [name, yaml, values, status] of cases) {
      const fields = values.flatMap((v) => ['x-role', v]);
      const senders: ReadonlyArray<readonly [string, () => Promise<Answer>]> = [
        ['through the client sidecar', () => viaSidecar(rig, '/a', ['host', AUTHORITY, ...fields])],
        ['as an HTTP/2 peer', () => asPeer(rig, { ':path': '/a', ':authority': AUTHORITY, 'x-role': [...values] })],
        ['in plaintext', () => plaintext(rig, '/a', ['host', AUTHORITY, ...fields])],
      ];
      for (const [how, send] of senders) {
        const r = await run(yaml, send);
        assert.equal(r.status, status, `${name} ${how}: ${r.body}`);
        if (status === 200) {
          assert.deepEqual(r.policy!.fields['x-role'], values, `${name} ${how}: policy saw every value`);
          assert.deepEqual(r.app!.fields['x-role'], values, `${name} ${how}: the app got every value`);
        } else assert.equal(r.app, undefined);
      }
    }
  });
});

/** A flat field list as an HTTP/2 header object: a repeated name becomes a list (sent as repeated fields). */
function grouped(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!] ??= []).push(flat[i + 1]!);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
}

function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
