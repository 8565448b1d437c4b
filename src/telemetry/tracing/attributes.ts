// The attributes of a hop's span: Istio's own tags and the mesh labels of the hop, from the same
// peer labels the metrics use, so a span and its metric series describe the hop alike.
import type { Attributes } from '@opentelemetry/api';
import type { PeerLabels } from '../metrics/labels.js';
import type { Redactor } from '../redact.js';

/** Span attributes of a hop; the URL and user agent pass `redactor` (tokens never reach a collector). */
export function meshSpanAttributes(peer: PeerLabels, request?: { method?: string; url?: string; protocol?: string; userAgent?: string; upstreamCluster?: string }, redactor?: Redactor): Attributes {
  const clean = (v: string) => (redactor === undefined ? v : redactor.string(v));
  const self = peer.reporter === 'source' ? peer.source : peer.destination;
  return {
    component: 'proxy',
    'istio.namespace': self.namespace,
    'istio.canonical_service': self.canonicalService,
    'istio.canonical_revision': self.canonicalRevision,
    'source.workload': peer.source.workload,
    'source.namespace': peer.source.namespace,
    'source.principal': peer.source.principal,
    'destination.workload': peer.destination.workload,
    'destination.namespace': peer.destination.namespace,
    'destination.principal': peer.destination.principal,
    'destination.service': peer.destinationService,
    'connection_security_policy': peer.connectionSecurityPolicy,
    ...(request?.method === undefined ? {} : { 'http.method': request.method }),
    ...(request?.url === undefined ? {} : { 'http.url': clean(request.url) }),
    ...(request?.protocol === undefined ? {} : { 'http.protocol': request.protocol }),
    ...(request?.userAgent === undefined ? {} : { user_agent: clean(request.userAgent) }),
    ...(request?.upstreamCluster === undefined ? {} : { upstream_cluster: request.upstreamCluster }),
  };
}
