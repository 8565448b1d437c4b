// MeshConfig extensionProviders as weft validates them: Istio's fields, weft's decision cache, and
// the bounds weft puts on what a provider may make the sidecar hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIssue } from './issue.js';
import { parseResources } from './validate.js';

const mesh = (provider: string): string => `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  extensionProviders:\n  - ${provider}\n`;
const issues = (text: string): string[] => {
  const r = parseResources(text, 'mesh.yaml');
  return r.ok ? [] : r.issues.map(formatIssue);
};

test('ok/every Istio field of both provider kinds, and the cache', () => {
  assert.deepEqual(issues(mesh(`name: http\n    envoyExtAuthzHttp: {service: 127.0.0.1, port: 9001, timeout: 250ms, pathPrefix: /check, failOpen: true, statusOnError: "503", includeRequestHeadersInCheck: [x-user, "x-tenant-*"], includeAdditionalHeadersInCheck: {x-from: weft}, includeRequestBodyInCheck: {maxRequestBytes: 8192, allowPartialMessage: true}, headersToUpstreamOnAllow: ["x-authz-*"], headersToDownstreamOnDeny: [x-reason], headersToDownstreamOnAllow: [x-note], cache: {maxEntries: 100, maxBytes: 65536, defaultTtl: 10s, maxTtl: 1m}}`)), []);
  assert.deepEqual(issues(mesh('name: grpc\n    envoyExtAuthzGrpc: {service: localhost, port: 9191, timeout: 1s, failOpen: false, statusOnError: "403", includeRequestBodyInCheck: {maxRequestBytes: 1024, packAsBytes: true}, cache: {}}')), []);
});

test('fail/cache and body bounds are refused outside their ranges, unknown cache fields too', () => {
  for (const bad of ['cache: {maxEntries: 0}', 'cache: {maxBytes: 10}', 'cache: {defaultTtl: forever}', 'cache: {size: 3}', 'includeRequestBodyInCheck: {maxRequestBytes: 33554432}']) {
    assert.notDeepEqual(issues(mesh(`name: g\n    envoyExtAuthzGrpc: {service: 127.0.0.1, port: 1, ${bad}}`)), [], bad);
  }
});

test('fail/statusOnError must be an HTTP status', () => {
  assert.notDeepEqual(issues(mesh('name: g\n    envoyExtAuthzGrpc: {service: 127.0.0.1, port: 1, statusOnError: "forbidden"}')), []);
});
