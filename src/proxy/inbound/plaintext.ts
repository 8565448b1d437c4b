// Inbound plaintext, for a port PeerAuthentication puts in PERMISSIVE (or DISABLE): an HTTP/1.1
// client outside the mesh speaks to the inbound port directly. It has no principal (policies see
// no source.principal or source.namespace), its x-forwarded-client-cert and every other header
// the sidecar owns are dropped (it can vouch for nobody), and it goes through the same
// authorization stage, and the same forwarding of the decided request, as a mesh peer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http2';
import { pipeline } from 'node:stream';
import { h1ToH2Headers } from '../hop-headers.js';
import { h1Downstream } from '../ext-authz/downstream.js';
import { authorizeRequest, jwtOutputsOf, type InboundVerdict } from './authorize.js';
import type { InboundForwarder } from './forward.js';
import { readH1Request, toAppRequest, type InboundRequest } from './request.js';

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);
}

export function relayPlaintext(fwd: InboundForwarder, req: IncomingMessage, res: ServerResponse): void {
  const stats = fwd.stats;
  stats.inbound_requests_total++;
  stats.inbound_plaintext_requests_total++;
  const policy = fwd.policy?.();
  const read = readH1Request(req, { jwtOutputs: jwtOutputsOf(policy) });
  if (!read.ok) {
    stats.inbound_requests_malformed_total++;
    fwd.logger.log('info', 'inbound.request.refused', { remote: req.socket.remoteAddress ?? null, reason: read.reason });
    req.resume();
    return answer(res, 400, `bad request: ${read.reason}`);
  }
  const appPort = fwd.appPortFor(req.headers.host, true) as number;
  if (policy === undefined) return forward(fwd, req, res, read.request, appPort);
  const facts = { sourceIp: req.socket.remoteAddress, destinationIp: req.socket.localAddress };
  const decided = (verdict: InboundVerdict): void => {
    if (!verdict.allow) return verdict.answered === true ? undefined : answer(res, verdict.status, verdict.body);
    forward(fwd, req, res, verdict.request, appPort, verdict.responseHeaders);
  };
  const verdict = authorizeRequest(policy, read.request, facts, appPort, stats, fwd.logger, h1Downstream(req, res));
  if (verdict instanceof Promise) verdict.then(decided, () => res.writeHead(500).end('internal error\n'));
  else decided(verdict);
}

function forward(fwd: InboundForwarder, req: IncomingMessage, res: ServerResponse, request: InboundRequest, appPort: number, extra?: readonly (readonly [string, string])[]): void {
  const stats = fwd.stats;
  const sent = toAppRequest(request);
  // This listener's node:http server already answered `Expect: 100-continue`, and undici refuses the field.
  if (request.fields.expect !== undefined) sent.headers = withoutField(sent.headers, 'expect');
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  stats.inbound_requests_active++;
  fwd
    .pool(appPort)
    .request({ method: sent.method as 'GET', path: sent.path, headers: sent.headers, body: hasBody ? req : null })
    .then(({ statusCode, headers: answer, body }) => {
      const headers = h1ToH2Headers(answer as IncomingHttpHeaders, {}) as Record<string, string | string[]>;
      // headersToDownstreamOnAllow: an ext_authz provider's headers, added to the app's.
      for (const [k, v] of extra ?? []) headers[k] = headers[k] === undefined ? v : [...[headers[k]].flat(), v];
      res.writeHead(statusCode, headers);
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

function withoutField(flat: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (flat[i] !== name) out.push(flat[i]!, flat[i + 1]!);
  return out;
}
