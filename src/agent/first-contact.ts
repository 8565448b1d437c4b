// A sidecar's first contact, retried while the control plane is not there yet, so the start order
// of a sidecar and its control plane does not matter (systemd, compose). Only "not reachable" and
// "unavailable" are retried; a refusal (a forged, expired, revoked or reused token, a server that
// does not hold the pinned CA) ends the wait at once with its reason: waiting cannot fix it, and a
// refused token must not be replayed.
import { randomInt } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { SIDECAR_RECONNECT_MAX_MS } from '../api/limits.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { describeError, isWeftError } from '../lib/errors.js';
import { AgentError } from './errors.js';

/** gRPC statuses that say the control plane is not serving (yet), not that it refused. */
const RETRIED_STATUSES = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

const FIRST_BACKOFF_MS = 200;

export interface FirstContactOptions {
  /** How long to keep trying before giving up; 0 tries once. */
  readonly waitMs: number;
  readonly address: string;
  readonly clock?: Clock;
  readonly log?: (level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>) => void;
  /** Stops the wait early (the sidecar was told to stop). */
  readonly stopped?: () => boolean;
  /** Waits `ms`; injectable so tests need not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Whether an error of a first-contact attempt means "try again later" rather than "refused". */
export function isUnreachable(err: unknown): boolean {
  if (isWeftError(err)) return err.code === 'WEFT_CONTROL_PLANE_UNREACHABLE';
  const code = (err as Partial<ServiceError>).code;
  return typeof code === 'number' && RETRIED_STATUSES.has(code);
}

/**
 * Runs `attempt` until it succeeds, it fails with a refusal (thrown at once), or `waitMs` has
 * passed (thrown as WEFT_CONTROL_PLANE_UNREACHABLE with the last reason). Between attempts it
 * waits with exponential backoff and full jitter (200 ms doubling, capped at the sidecar's
 * reconnect cap), never past the deadline. Each failed attempt is logged.
 */
export async function withFirstContactRetry<T>(attempt: () => Promise<T>, opts: FirstContactOptions): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = clock.now() + opts.waitMs;
  let cap = FIRST_BACKOFF_MS;
  for (let n = 1; ; n++) {
    try {
      const result = await attempt();
      if (n > 1) opts.log?.('info', 'control_plane.reached', { address: opts.address, attempts: n });
      return result;
    } catch (err) {
      if (!isUnreachable(err) || opts.stopped?.()) throw err;
      const left = deadline - clock.now();
      const reason = describeError(err);
      if (left <= 0) {
        throw new AgentError(
          'WEFT_CONTROL_PLANE_UNREACHABLE',
          `gave up on the control plane at ${opts.address} after ${n} attempt${n === 1 ? '' : 's'} over ${Math.round(opts.waitMs / 1000)} s (--wait-for-control-plane): ${reason}`,
          { cause: err },
        );
      }
      const delay = Math.min(left, Math.max(1, randomInt(0, cap + 1)));
      opts.log?.('warn', 'control_plane.unreachable', { address: opts.address, attempt: n, reason, retryInMs: delay, giveUpInMs: left });
      cap = Math.min(SIDECAR_RECONNECT_MAX_MS, cap * 2);
      await sleep(delay);
      if (opts.stopped?.()) throw err;
    }
  }
}
