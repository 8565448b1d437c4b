// Mirroring (VirtualService `mirror`/`mirrors`): a copy of the request sent fire-and-forget to
// another destination on the same kind of verified session, secure naming included. Its answer is
// read and dropped; its failures touch nothing but its own stream. Only requests without a body
// are mirrored: the original's body is not kept for a copy.
import { constants as h2c, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { Clock } from '../../lib/clock.js';
import type { ClusterState, EndpointView } from '../../traffic/index.js';
import type { ServiceEntry } from '../types.js';
import type { OutboundContext } from './forward.js';
import { endpointKey, type MeshSession } from './pool.js';
import type { Target } from './route.js';
import { secureNamingError } from './secure-naming.js';

/** One mirror that fired for a request, resolved to its cluster. */
export interface MirrorPlan {
  readonly cluster: ClusterState;
  readonly endpoints: readonly EndpointView[];
  readonly entry: ServiceEntry;
  readonly target: Target;
}

/** A mirrored stream is given this long before it is cancelled, so copies cannot pile up. */
const MIRROR_TIMEOUT_MS = 30_000;

/** Sends one copy; `headers` are the HTTP/2 headers of the request as forwarded (rewrites applied). */
export function sendMirror(ctx: OutboundContext, clock: Clock, m: MirrorPlan, headers: OutgoingHttpHeaders): void {
  const pick = m.cluster.balancer.pick(m.endpoints, { nowMs: clock.now() });
  if (pick.kind !== 'endpoint') return;
  const ep = pick.endpoint;
  const key = endpointKey(ep);
  const go = (ms: MeshSession, reserved: boolean): void => {
    if (secureNamingError(m.entry, m.target, ms, ctx.stats, ctx.logger) !== undefined) {
      if (reserved) ctx.pool.release(ms);
      return;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = ctx.pool.request(ms, { ...headers, ':authority': m.target.authority }, { endStream: true }, reserved);
    } catch {
      return;
    }
    stream.on('error', ignore);
    stream.resume();
    stream.setTimeout(MIRROR_TIMEOUT_MS, () => stream.close(h2c.NGHTTP2_CANCEL));
  };
  const pooled = ctx.pool.get(key);
  if (pooled !== undefined) go(pooled, false);
  else ctx.pool.connect(ep, key).then((s) => go(s, true), ignore);
}

function ignore(): void {
  // A mirror's failure is no concern of the request it copies.
}
