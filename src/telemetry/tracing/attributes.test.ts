import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerLabels } from '../metrics/index.js';
import { Redactor } from '../redact.js';
import { meshSpanAttributes } from './attributes.js';

test('a hop\'s span carries the mesh labels of the reporting side and of both ends', () => {
  const peer = peerLabels({ reporter: 'destination', source: { service: 'productpage', namespace: 'default', principal: 'spiffe://td/ns/default/sa/productpage' }, destination: { service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2' } }, mutualTls: true });
  const a = meshSpanAttributes(peer, { method: 'GET', url: 'http://reviews.default:9080/r?access_token=abc', userAgent: 'curl' }, new Redactor());
  assert.equal(a['istio.canonical_service'], 'reviews');
  assert.equal(a['istio.canonical_revision'], 'v2');
  assert.equal(a['source.workload'], 'productpage');
  assert.equal(a['destination.workload'], 'reviews-v2');
  assert.equal(a['destination.service'], 'reviews.default.svc.cluster.local');
  assert.equal(a.connection_security_policy, 'mutual_tls');
  assert.equal(a['http.url'], 'http://reviews.default:9080/r?access_token=[redacted]');
});
