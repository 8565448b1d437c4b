import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Rule } from '../generated/types.js';
import { httpOnlyFields, subsumes, tcpRemainder } from './rules.js';

const at = (rule: Rule, namespace = 'foo') => ({ rule, namespace });

describe('rules', () => {
  const cases: { name: string; outer: Rule; inner: Rule; want: boolean }[] = [
    { name: 'ok/an empty rule covers anything', outer: {}, inner: { to: [{ operation: { paths: ['/a'] } }] }, want: true },
    { name: 'ok/a value subset', outer: { to: [{ operation: { methods: ['GET', 'POST'] } }] }, inner: { to: [{ operation: { methods: ['GET'] } }] }, want: true },
    { name: 'ok/presence covers exact values', outer: { from: [{ source: { principals: ['*'] } }] }, inner: { from: [{ source: { principals: ['cluster.local/ns/a/sa/b'] } }] }, want: true },
    { name: 'fail/presence does not cover a request principal with an open subject', outer: { from: [{ source: { requestPrincipals: ['*'] } }] }, inner: { from: [{ source: { requestPrincipals: ['https://idp/*'] } }] }, want: false },
    { name: 'fail/conservative: presence is compared with exact values only', outer: { to: [{ operation: { paths: ['*'] } }] }, inner: { to: [{ operation: { paths: ['/api*'] } }] }, want: false },
    { name: 'fail/a value outside', outer: { to: [{ operation: { methods: ['GET'] } }] }, inner: { to: [{ operation: { methods: ['GET', 'POST'] } }] }, want: false },
    { name: 'fail/the inner rule does not constrain the field', outer: { to: [{ operation: { methods: ['GET'] } }] }, inner: { to: [{ operation: { paths: ['/a'] } }] }, want: false },
    { name: 'fail/no from in the inner rule', outer: { from: [{ source: { namespaces: ['a'] } }] }, inner: {}, want: false },
    { name: 'ok/negative: a superset of exclusions', outer: { to: [{ operation: { notPaths: ['/a'] } }] }, inner: { to: [{ operation: { notPaths: ['/a', '/b'] } }] }, want: true },
    { name: 'fail/negative: fewer exclusions', outer: { to: [{ operation: { notPaths: ['/a', '/b'] } }] }, inner: { to: [{ operation: { notPaths: ['/a'] } }] }, want: false },
    { name: 'ok/every inner from entry is covered by some outer one', outer: { from: [{ source: { namespaces: ['a'] } }, { source: { namespaces: ['b'] } }] }, inner: { from: [{ source: { namespaces: ['b'] } }, { source: { namespaces: ['a'], principals: ['x/ns/a/sa/s'] } }] }, want: true },
    { name: 'ok/conditions: values subset and notValues superset', outer: { when: [{ key: 'request.headers[x-env]', values: ['dev', 'test'], notValues: ['x'] }] }, inner: { when: [{ key: 'request.headers[x-env]', values: ['dev'] }, { key: 'request.headers[x-env]', notValues: ['x', 'y'] }] }, want: true },
    { name: 'fail/conditions: another key', outer: { when: [{ key: 'request.headers[x-env]', values: ['dev'] }] }, inner: { when: [{ key: 'request.headers[x-stage]', values: ['dev'] }] }, want: false },
  ];
  for (const c of cases) test(`subsumes: ${c.name}`, () => assert.equal(subsumes(at(c.outer), at(c.inner)), c.want));

  test('httpOnlyFields lists every HTTP-only field, tcpRemainder what survives on TCP', () => {
    const rule: Rule = { from: [{ source: { requestPrincipals: ['*'] } }, { source: { namespaces: ['a'] } }], to: [{ operation: { ports: ['80'], methods: ['GET'] } }], when: [{ key: 'request.headers[x]', values: ['1'] }, { key: 'source.ip', values: ['10.0.0.0/8'] }] };
    assert.deepEqual(httpOnlyFields(rule), ['from[0].source.requestPrincipals', 'to[0].operation.methods', 'when[0]']);
    // from[0] is empty on TCP, so it matches any source and the from list no longer constrains.
    assert.deepEqual(tcpRemainder(rule), ['to[0].operation.ports', 'when[1]']);
    assert.deepEqual(tcpRemainder({ to: [{ operation: { paths: ['/x'] } }] }), []);
  });
});
