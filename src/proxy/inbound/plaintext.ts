// Inbound plaintext, for a port PeerAuthentication puts in PERMISSIVE (or DISABLE): an HTTP/1.1
// client outside the mesh speaks to the inbound port directly. It has no principal (policies see
// no source.principal or source.namespace), its x-forwarded-client-cert is dropped (it can vouch
// for nobody), and it goes through the same authorization stage as a mesh peer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http2';
import { pipeline } from 'node:stream';
import { h1ToH2Headers, h2ToH1Headers } from '../hop-headers.js';
import { authorizeRequest, type InboundVerdict } from './authorize.js';
import type { InboundForwarder } from './forward.js';

export function relayPlaintext(fwd: InboundForwarder, req: IncomingMessage, res: ServerResponse): void {
  const stats = fwd.stats;
  stats.inbound_requests_total++;
  stats.inbound_plaintext_requests_total++;
  const path = req.url ?? '/';
  const policy = fwd.policy?.();
  if (policy === undefined) return forward(fwd, req, res, path, req.headers);
  const view: IncomingHttpHeaders = { ...req.headers, ':method': req.method, ':path': path, ':authority': req.headers.host };
  const facts = { sourceIp: req.socket.remoteAddress, destinationIp: req.socket.localAddress };
  const decided = (verdict: InboundVerdict): void => {
    if (!verdict.allow) {
      res.writeHead(verdict.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(verdict.body) }).end(verdict.body);
      return;
    }
    const sent = verdict.headers ?? req.headers;
    forward(fwd, req, res, verdict.target ?? (verdict.headers?.[':path'] as string | undefined) ?? path, sent);
  };
  const verdict = authorizeRequest(policy, view, facts, fwd.app.port, stats, fwd.logger);
  if (verdict instanceof Promise) verdict.then(decided, () => res.writeHead(500).end('internal error\n'));
  else decided(verdict);
}

function forward(fwd: InboundForwarder, req: IncomingMessage, res: ServerResponse, path: string, sent: IncomingHttpHeaders): void {
  const stats = fwd.stats;
  const headers = h2ToH1Headers(h1ToH2Headers(sent, {}) as IncomingHttpHeaders, [], true);
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  stats.inbound_requests_active++;
  fwd.pool
    .request({ method: req.method as 'GET', path, headers, body: hasBody ? req : null })
    .then(({ statusCode, headers: answer, body }) => {
      res.writeHead(statusCode, h1ToH2Headers(answer as IncomingHttpHeaders, {}) as Record<string, string | string[]>);
      pipeline(body, res, (err) => {
        stats.inbound_requests_active--;
        if (err) stats.inbound_requests_reset_total++;
        else stats.inbound_requests_forwarded_total++;
      });
    })
    .catch((err: Error) => {
      stats.inbound_requests_active--;
      stats.inbound_requests_failed_total++;
      fwd.logger.log('warn', 'inbound.plaintext.app_failed', { error: err.message });
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream unavailable: the application did not answer\n');
      else res.destroy();
    });
}
