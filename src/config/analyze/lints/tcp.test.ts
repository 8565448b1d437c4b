import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, policy, run } from '../testing.js';

describe('WA003: HTTP-only fields on TCP ports', () => {
  test('fail/an ALLOW rule with methods and paths on a TCP-only workload allows nothing', () => {
    const f = only(run(policy('mysql-get', 'bookinfo', 'selector:\n  matchLabels:\n    app: mysqldb\nrules:\n- to:\n  - operation:\n      methods: ["GET"]\n      paths: ["/info*"]')), 'WA003');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.path, 'spec.rules[0].to[0].operation.methods');
    assert.match(f[0]!.message, /to\[0\]\.operation\.methods, to\[0\]\.operation\.paths/);
    assert.match(f[0]!.message, /the rule allows nothing/);
  });

  test('fail/request principals and request.auth claims count as HTTP-only too', () => {
    const f = only(run(policy('mysql-jwt', 'bookinfo', 'selector:\n  matchLabels:\n    app: mysqldb\nrules:\n- from:\n  - source:\n      requestPrincipals: ["https://idp/*"]\n- when:\n  - key: request.auth.claims[groups]\n    values: ["dba"]')), 'WA003');
    assert.deepEqual(f.map((x) => x.path), ['spec.rules[0].from[0].source.requestPrincipals', 'spec.rules[1].when[0]']);
  });

  test('fail/an ALLOW rule restricted to the TCP port of a mixed workload', () => {
    const f = only(run(policy('redis', 'bookinfo', 'selector:\n  matchLabels:\n    app: redis\nrules:\n- to:\n  - operation:\n      ports: ["6379"]\n      methods: ["GET"]')), 'WA003');
    assert.equal(f.length, 1);
  });

  test('fail/a namespace-wide ALLOW with paths names the TCP-only workloads it cannot match on, without claiming it allows nothing', () => {
    const f = only(run(policy('viewer', 'bookinfo', 'rules:\n- to:\n  - operation:\n      paths: ["/productpage"]')), 'WA003');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /bookinfo\/mysql/);
    assert.doesNotMatch(f[0]!.message, /allows nothing/);
  });

  test('ok/an ALLOW rule with HTTP fields on HTTP workloads, or on the HTTP port of a mixed one', () => {
    const f = run(docs(
      policy('reviews', 'bookinfo', 'selector:\n  matchLabels:\n    app: reviews\nrules:\n- to:\n  - operation:\n      methods: ["GET"]'),
      policy('redis-metrics', 'bookinfo', 'selector:\n  matchLabels:\n    app: redis\nrules:\n- to:\n  - operation:\n      paths: ["/metrics"]'),
      policy('redis-port', 'bookinfo', 'selector:\n  matchLabels:\n    app: redis\nrules:\n- to:\n  - operation:\n      ports: ["9121"]\n      paths: ["/metrics"]'),
    ));
    assert.deepEqual(only(f, 'WA003'), []);
  });

  test('ok/TCP attributes on a TCP workload (the authz-tcp task)', () => {
    const f = run(policy('tcp-policy', 'bookinfo', 'selector:\n  matchLabels:\n    app: mysqldb\naction: ALLOW\nrules:\n- from:\n  - source:\n      principals: ["cluster.local/ns/bookinfo/sa/bookinfo-reviews"]\n  to:\n  - operation:\n      ports: ["3306"]'));
    assert.deepEqual(only(f, 'WA003'), []);
  });

  test('fail/a DENY rule with only methods denies every TCP connection', () => {
    const f = only(run(policy('deny-get', 'bookinfo', 'selector:\n  matchLabels:\n    app: mysqldb\naction: DENY\nrules:\n- to:\n  - operation:\n      methods: ["GET"]')), 'WA003');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /TCP port 3306 of bookinfo\/mysql/);
    assert.match(f[0]!.message, /denies every connection$/);
  });

  test('fail/a DENY rule keeps its other conditions on TCP, and the message says which', () => {
    const f = only(run(policy('deny', 'bookinfo', 'selector:\n  matchLabels:\n    app: redis\naction: DENY\nrules:\n- from:\n  - source:\n      namespaces: ["legacy"]\n  to:\n  - operation:\n      methods: ["POST"]')), 'WA003');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /port 6379/);
    assert.match(f[0]!.message, /that meets its other conditions \(from\[0\]\.source\.namespaces\)/);
  });

  test('ok/a DENY rule with HTTP fields restricted to HTTP ports; a dry-run DENY', () => {
    const f = run(docs(
      policy('deny-metrics', 'bookinfo', 'selector:\n  matchLabels:\n    app: redis\naction: DENY\nrules:\n- to:\n  - operation:\n      ports: ["9121"]\n      paths: ["/debug*"]'),
      policy('dry', 'bookinfo', 'selector:\n  matchLabels:\n    app: mysqldb\naction: DENY\nrules:\n- to:\n  - operation:\n      methods: ["GET"]', { 'istio.io/dry-run': 'true' }),
    ));
    assert.deepEqual(only(f, 'WA003'), []);
  });

  test('ok/offline nothing is known about ports', () => {
    assert.deepEqual(only(run(policy('deny-get', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      methods: ["GET"]'), { workloads: 'offline' }), 'WA003'), []);
  });
});
