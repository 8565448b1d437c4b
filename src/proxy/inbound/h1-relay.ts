// Inbound stage 3 for the requests undici's Pool cannot relay: one carrying `Expect: 100-continue`
// (undici refuses the field) and one that may end in trailers (undici sends none): a body of
// unknown length (chunked on the caller's side) or a request announcing `Trailer` / `TE:
// trailers`. These go over node:http's keep-alive Agent instead, which can flush the head alone
// and wait for the app's 100, and add trailers after the body. The decision is taken from the head,
// before any body byte: a request with a length and no announcement takes undici's lighter path.
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { constants as h2c, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { h1ToH2Headers } from '../hop-headers.js';
import { rescueH2 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import { announcesTrailers, forwardableTrailers, noFields } from '../trailers.js';
import type { HostPort } from '../types.js';
import { toAppRequest, type InboundRequest } from './request.js';

/** What the relay needs of the forwarder. */
export interface RelayHost {
  readonly app: HostPort;
  readonly agent: Agent;
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly emitErrorHeaders: boolean;
  readonly jwtOutputs: () => readonly string[];
}

/** Whether a request needs node:http's path: an expectation, or trailers that may follow the body. */
export function needsNodeHttp(request: InboundRequest, endStream: boolean): boolean {
  const f = request.fields;
  if (f.expect !== undefined) return true;
  if (endStream) return false;
  return f['content-length'] === undefined || announcesTrailers(f);
}

/** The keep-alive Agent for this path; one per forwarder. */
export function newAppAgent(): Agent {
  return new Agent({ keepAlive: true, scheduling: 'lifo' });
}

/** Relays one decided request to the app over node:http; the stream's close settles the counts. */
export function relayWithNodeHttp(host: RelayHost, stream: ServerHttp2Stream, request: InboundRequest, endStream: boolean, peer: string): void {
  const sent = toAppRequest(request);
  const length = request.fields['content-length'];
  // node:http throws on a Trailer announcement in a message it will not chunk: a body with a length.
  const headers = length !== undefined && request.fields.trailer !== undefined ? withoutTrailerField(sent.headers) : sent.headers;
  // Without a length node:http frames the body chunked (the only framing that carries trailers).
  if (!endStream && length === undefined) headers.push('transfer-encoding', 'chunked');
  let responded = false;
  let completed = false;
  let finished = false;
  let retried = false;
  let requestTrailers: IncomingHttpHeaders | undefined;
  let responseTrailers: NodeJS.Dict<string> | undefined;
  let req: ClientRequest;
  const stats = host.stats;

  const fail = (err: ProxyError): void => {
    if (finished) return;
    finished = true;
    stats.inbound_requests_failed_total++;
    rescueH2(stream, err, host.logger, host.emitErrorHeaders, { peer, method: sent.method, path: sent.path }, stats);
  };

  const send = (): void => {
    req = httpRequest({ host: host.app.host, port: host.app.port, method: sent.method, path: sent.path, headers, setHost: false, agent: host.agent });
    req.on('continue', () => {
      if (!stream.destroyed && !stream.headersSent) stream.additionalHeaders({ ':status': 100 });
    });
    req.on('response', onResponse);
    req.on('error', (err: Error & { code?: string }) => {
      if (finished || stream.destroyed) return;
      if (responded) return void stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      // A pooled connection the app closed as it was reused: nothing was processed.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET' && (endStream || !stream.readableDidRead)) {
        retried = true;
        send();
        return;
      }
      const unreachable = err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET';
      fail(new ProxyError(unreachable ? 'WEFT_PROXY_APP_UNAVAILABLE' : 'WEFT_PROXY_UPSTREAM_RESET', unreachable ? 'app unavailable' : 'app connection failed', { message: `app ${host.app.host}:${host.app.port}: ${err.message}`, cause: err }));
    });
    if (endStream) {
      req.end();
      return;
    }
    // The head goes alone, so an app reading `Expect: 100-continue` can answer before the body.
    req.flushHeaders();
    if (retried) return;
    stream.on('data', (chunk: Buffer) => {
      if (!req.write(chunk)) {
        stream.pause();
        req.once('drain', () => stream.resume());
      }
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => (requestTrailers = t));
    stream.once('end', () => {
      if (requestTrailers !== undefined) {
        const t = forwardableTrailers(requestTrailers, host.jwtOutputs());
        if (!t.ok) {
          stats.trailer_sections_refused_total++;
          host.logger.log('info', 'inbound.trailers.refused', { peer, reason: t.reason });
          req.destroy();
          fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', `request trailers refused: ${t.reason}`));
          return;
        }
        stats.trailer_fields_dropped_total += t.dropped;
        // A body sent with a length has no place for trailers in HTTP/1.1.
        if (length !== undefined) stats.trailer_fields_dropped_total += Object.keys(t.fields).length;
        else if (!noFields(t.fields)) req.addTrailers(t.fields);
      }
      req.end();
    });
  };

  const onResponse = (res: IncomingMessage): void => {
    if (finished || stream.destroyed || stream.closed) return void res.destroy();
    responded = true;
    const status = res.statusCode ?? 502;
    const h2 = h1ToH2Headers(res.headers, { ':status': status });
    const noBody = sent.method === 'HEAD' || status === 204 || status === 304 || res.headers['content-length'] === '0';
    const waitForTrailers = !noBody && res.headers['content-length'] === undefined;
    try {
      stream.respond(h2, { endStream: noBody, waitForTrailers });
    } catch (err) {
      responded = false;
      res.destroy();
      fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'app response headers cannot be relayed over HTTP/2', { cause: err }));
      return;
    }
    if (noBody) {
      res.resume();
      res.once('end', () => (completed = true));
      return;
    }
    if (waitForTrailers) {
      stream.once('wantTrailers', () => {
        const t = forwardableTrailers(responseTrailers);
        if (!t.ok) {
          stats.trailer_sections_refused_total++;
          host.logger.log('info', 'inbound.trailers.refused', { peer, reason: t.reason });
          return void stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
        }
        stats.trailer_fields_dropped_total += t.dropped;
        stream.sendTrailers(t.fields);
      });
    }
    res.on('data', (chunk: Buffer) => {
      if (!stream.destroyed && !stream.write(chunk)) {
        res.pause();
        stream.once('drain', () => res.resume());
      }
    });
    res.once('end', () => {
      completed = true;
      if (Object.keys(res.trailers).length > 0) responseTrailers = res.trailers;
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    });
    res.once('error', () => undefined);
  };

  stream.on('error', () => undefined);
  stream.once('close', () => {
    stats.inbound_requests_active--;
    if (!finished) {
      finished = true;
      if (stream.rstCode === h2c.NGHTTP2_NO_ERROR && completed) stats.inbound_requests_forwarded_total++;
      else stats.inbound_requests_reset_total++;
    }
    // The caller called the body off (a refused expectation) or reset: the app's request goes too.
    if (!req.writableFinished || !completed) req.destroy();
  });
  send();
}

function withoutTrailerField(flat: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (flat[i] !== 'trailer') out.push(flat[i]!, flat[i + 1]!);
  return out;
}
