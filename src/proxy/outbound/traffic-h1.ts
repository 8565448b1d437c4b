// The route step's answers on the HTTP/1.1 listener: a local reply, a refusal through rescue, or
// the routed exchange (after a fault delay, a fault abort and the circuit breaker's admission).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rescueH1 } from '../rescue.js';
import { OutboundExchange, type OutboundContext } from './forward.js';
import type { RouteStep } from './traffic.js';
import { sendMirror } from './mirror-send.js';
import type { Clock } from '../../lib/clock.js';

/** Carries out a step other than 'plain'; the request is over for the listener afterwards. */
export function runStep(ctx: OutboundContext, clock: Clock, step: Exclude<RouteStep, { kind: 'plain' }>, req: IncomingMessage, res: ServerResponse): void {
  const over = (): void => {
    ctx.stats.outbound_requests_active--;
    ctx.done();
  };
  if (ctx.draining) res.shouldKeepAlive = false;
  switch (step.kind) {
    case 'reply': {
      req.resume();
      const body = step.body ?? '';
      const headers: string[] = [];
      for (const [name, value] of step.headers) headers.push(name, value);
      headers.push('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
      try {
        res.writeHead(step.status, headers);
        res.end(body);
      } catch {
        res.destroy();
      }
      over();
      return;
    }
    case 'refuse':
      req.resume();
      rescueH1(res, step.error, ctx.logger, ctx.emitErrorHeaders, { method: req.method, url: req.url, host: req.headers.host }, ctx.stats, step.override);
      over();
      return;
    case 'forward': {
      const plan = step.plan;
      const go = (): void => {
        if (plan.abort !== undefined) {
          runStep(ctx, clock, plan.abort, req, res);
          return;
        }
        const refused = plan.admit();
        if (refused !== undefined) {
          runStep(ctx, clock, refused, req, res);
          return;
        }
        const ex = new OutboundExchange(ctx, req, res, plan.target, plan.entry, plan);
        if (plan.mirrors.length > 0 && ex.noRequestBody) for (const m of plan.mirrors) sendMirror(ctx, clock, m, ex.h2Headers);
        ex.attempt();
      };
      if (plan.delayMs === undefined) {
        go();
        return;
      }
      // Envoy's fault filter: the delay first, flag DI, then the request goes on (or is aborted).
      ctx.stats.countFlag('DI');
      const gone = (): void => {
        clearTimeout(timer);
        over();
      };
      const timer = setTimeout(() => {
        res.off('close', gone);
        if (res.destroyed) {
          over();
          return;
        }
        go();
      }, plan.delayMs);
      res.once('close', gone);
      return;
    }
  }
}
