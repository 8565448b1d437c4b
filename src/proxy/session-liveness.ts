// HTTP/2 keepalive for the mesh hop, on both ends of a session. Node's HTTP/2 stops reading a
// session once it has answered a peer's protocol error with GOAWAY, and then never closes it:
// not when the peer half-closes, not ever, so a peer that sends one bad frame holds a socket
// until the idle timeout. Every session is therefore probed: after `interval` without a frame it
// sends a PING, and a session that does not answer within `interval` again is destroyed (a dead
// or wedged peer, or a session Node has given up on). A live session that stays idle for
// `idleClose` in all is closed gracefully, as before.
import type { Http2Session } from 'node:http2';

export interface SessionLivenessOptions {
  /** Idle time before a PING, and how long its answer may take. */
  readonly interval: number;
  /** A session without a frame beyond the PINGs for this long is closed gracefully (streams still open finish). */
  readonly idleClose: number;
  /** Called when a session is destroyed for an unanswered PING (for stats and logs). */
  readonly onDead?: (session: Http2Session) => void;
}

/** Envoy's connection keepalive has no default; 10 s answers a wedged peer fast and costs one PING per idle interval. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 10_000;

/**
 * Arms the probe on `session`; it ends with the session. Node's session timeout fires once after
 * `interval` without a frame and is re-armed here when a PING is answered, so a firing one
 * interval after the re-arm means nothing but PINGs happened: a run of those measures idleness.
 */
export function watchSessionLiveness(session: Http2Session, opts: SessionLivenessOptions): void {
  let quietSince = 0;
  let armedAt: number | undefined;
  let probe: NodeJS.Timeout | undefined;
  session.once('close', () => clearTimeout(probe));
  const dead = (): void => {
    probe = undefined;
    if (session.destroyed) return;
    opts.onDead?.(session);
    session.destroy();
  };
  const onIdle = (): void => {
    if (session.destroyed || session.closed || probe !== undefined) return;
    const now = performance.now();
    // Late by more than timer slack: a frame came and pushed the firing back, so a new idle run starts.
    if (armedAt === undefined || now - armedAt > opts.interval * 1.25) quietSince = now - opts.interval;
    armedAt = undefined;
    if (now - quietSince >= opts.idleClose) {
      session.close();
      return;
    }
    probe = setTimeout(dead, opts.interval);
    probe.unref();
    const sent = session.ping((err) => {
      clearTimeout(probe);
      probe = undefined;
      if (err !== null) return dead();
      if (session.destroyed) return;
      armedAt = performance.now();
      session.setTimeout(opts.interval, onIdle);
    });
    if (!sent) {
      clearTimeout(probe);
      dead();
    }
  };
  session.setTimeout(opts.interval, onIdle);
}
