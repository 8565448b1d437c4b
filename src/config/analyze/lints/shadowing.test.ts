import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, policy, run } from '../testing.js';

const allowGetReviews = policy('allow-get', 'bookinfo', 'selector:\n  matchLabels:\n    app: reviews\nrules:\n- from:\n  - source:\n      namespaces: ["bookinfo"]\n  to:\n  - operation:\n      methods: ["GET"]\n      paths: ["/reviews/*"]');

describe('WA004: an ALLOW rule a DENY rule always beats', () => {
  test('fail/a namespace deny-all shadows every ALLOW rule of the namespace', () => {
    const f = only(run(docs(policy('deny-all', 'bookinfo', 'action: DENY\nrules:\n- {}'), allowGetReviews)), 'WA004');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.resource, 'AuthorizationPolicy/bookinfo/allow-get');
    assert.equal(f[0]!.path, 'spec.rules[0]');
    assert.match(f[0]!.message, /rule 0 of AuthorizationPolicy\/bookinfo\/deny-all/);
  });

  test('fail/a DENY on GET from the root namespace shadows an ALLOW on GET of some paths', () => {
    const f = only(run(docs(policy('no-get', 'istio-system', 'action: DENY\nrules:\n- to:\n  - operation:\n      methods: ["GET", "HEAD"]'), allowGetReviews)), 'WA004');
    assert.equal(f.length, 1);
  });

  test('fail/a DENY with a wider selector and a presence wildcard', () => {
    const f = only(run(docs(
      policy('deny-jwt-users', 'bookinfo', 'action: DENY\nselector:\n  matchLabels:\n    app: reviews\nrules:\n- from:\n  - source:\n      requestPrincipals: ["*"]'),
      policy('allow-idp', 'bookinfo', 'selector:\n  matchLabels:\n    app: reviews\n    version: v2\nrules:\n- from:\n  - source:\n      requestPrincipals: ["https://idp.example.com/alice"]'),
    )), 'WA004');
    assert.equal(f.length, 1);
  });

  test('ok/a narrower DENY (other methods, an extra condition, a negative field) shadows nothing', () => {
    const f = run(docs(
      policy('deny-post', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      methods: ["POST"]'),
      policy('deny-legacy-get', 'bookinfo', 'action: DENY\nrules:\n- from:\n  - source:\n      namespaces: ["legacy"]\n  to:\n  - operation:\n      methods: ["GET"]'),
      policy('deny-not-admin', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      notPaths: ["/admin"]'),
      allowGetReviews,
    ));
    assert.deepEqual(only(f, 'WA004'), []);
  });

  test('ok/a DENY elsewhere, a DENY with a narrower selector, a dry-run DENY, a DENY with targetRefs', () => {
    const f = run(docs(
      policy('deny-all', 'shop', 'action: DENY\nrules:\n- {}'),
      policy('deny-v2', 'bookinfo', 'action: DENY\nselector:\n  matchLabels:\n    version: v2\nrules:\n- {}'),
      policy('dry', 'bookinfo', 'action: DENY\nrules:\n- {}', { 'istio.io/dry-run': 'true' }),
      policy('gw', 'bookinfo', 'action: DENY\ntargetRefs:\n- kind: Gateway\n  group: gateway.networking.k8s.io\n  name: ingress\nrules:\n- {}'),
      allowGetReviews,
    ));
    assert.deepEqual(only(f, 'WA004'), []);
  });

  test('fail/dry-run "false" means enforced, so it does shadow', () => {
    const f = run(docs(policy('deny-all', 'bookinfo', 'action: DENY\nrules:\n- {}', { 'istio.io/dry-run': 'false' }), allowGetReviews));
    assert.equal(only(f, 'WA004').length, 1);
  });

  test('ok/bare service accounts are read in their own policy namespace', () => {
    const f = run(docs(
      policy('deny-sa', 'istio-system', 'action: DENY\nrules:\n- from:\n  - source:\n      serviceAccounts: ["bookinfo-productpage"]'),
      policy('allow-sa', 'bookinfo', 'rules:\n- from:\n  - source:\n      serviceAccounts: ["bookinfo-productpage"]'),
    ));
    assert.deepEqual(only(f, 'WA004'), [], 'istio-system/bookinfo-productpage is not bookinfo/bookinfo-productpage');
    const same = run(docs(
      policy('deny-sa', 'istio-system', 'action: DENY\nrules:\n- from:\n  - source:\n      serviceAccounts: ["bookinfo/bookinfo-productpage"]'),
      policy('allow-sa', 'bookinfo', 'rules:\n- from:\n  - source:\n      serviceAccounts: ["bookinfo-productpage"]'),
    ));
    assert.equal(only(same, 'WA004').length, 1);
  });
});

describe('WA013: a DENY rule another DENY rule makes redundant', () => {
  test('fail/a DENY on /admin under a namespace deny-all', () => {
    const f = run(docs(policy('deny-all', 'bookinfo', 'action: DENY\nrules:\n- {}'), policy('deny-admin', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      paths: ["/admin"]')));
    assert.deepEqual(only(f, 'WA013').map((x) => `${x.resource} ${x.path}`), ['AuthorizationPolicy/bookinfo/deny-admin spec.rules[0]']);
    assert.equal(only(f, 'WA013')[0]!.severity, 'info');
  });

  test('fail/of two identical DENY rules only the second is reported', () => {
    const rule = 'action: DENY\nrules:\n- from:\n  - source:\n      notPrincipals: ["*"]';
    const f = only(run(docs(policy('a-require-mtls', 'bookinfo', rule), policy('b-require-mtls', 'bookinfo', rule))), 'WA013');
    assert.deepEqual(f.map((x) => x.resource), ['AuthorizationPolicy/bookinfo/b-require-mtls']);
  });

  test('ok/overlapping but different DENY rules', () => {
    const f = run(docs(
      policy('deny-admin', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      paths: ["/admin"]'),
      policy('deny-post', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      methods: ["POST"]'),
    ));
    assert.deepEqual(only(f, 'WA013'), []);
  });
});
