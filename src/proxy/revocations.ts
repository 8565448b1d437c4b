// The revocation list a sidecar enforces, from its latest snapshot: peer verification refuses a
// certificate whose serial is on it, and when a snapshot brings new revocations every session
// (inbound and pooled outbound) authenticated with a revoked certificate is closed at once:
// GOAWAY so the peer learns it, then destroyed so no stream of it goes on. A session is tracked
// only while it is open.
import type { Http2Session } from 'node:http2';
import type { Logger } from '../telemetry/logger.js';
import type { ProxyStats } from './stats.js';

/** The reason every refusal and closed session is logged with. */
export const REVOKED_REASON = 'certificate revoked';

interface Tracked {
  readonly serial: string;
  readonly peer: string;
  readonly side: 'inbound' | 'outbound';
}

// === Revocations ===

export class Revocations {
  #serials: ReadonlySet<string> = new Set();
  #own = '';
  readonly #sessions = new Map<Http2Session, Tracked>();
  readonly #stats: ProxyStats;
  readonly #logger: Logger;

  constructor(opts: { stats: ProxyStats; logger: Logger }) {
    this.#stats = opts.stats;
    this.#logger = opts.logger;
  }

  has(serial: string): boolean {
    return this.#serials.size > 0 && this.#serials.has(serial);
  }

  /** True once this sidecar's own certificate is revoked: no peer accepts it any more. */
  get selfRevoked(): boolean {
    return this.#own !== '' && this.has(this.#own);
  }

  /** The serial of this sidecar's current certificate (changes at rotation). */
  setOwnSerial(serial: string): void {
    this.#own = serial.toLowerCase();
  }

  /**
   * Counts a refused handshake (the verifier throws; this only records it) and, outbound, logs it:
   * the inbound listener logs its refusals itself, with the same stage and reason.
   */
  refused(side: 'inbound' | 'outbound', serial: string, peer: string): void {
    this.#stats.peer_revoked_refused_total++;
    if (side === 'outbound') this.#logger.log('warn', 'outbound.peer.refused', { stage: 'revoked', reason: REVOKED_REASON, serial, peer });
  }

  /** Follows `session` until it closes, to close it should `serial` be revoked later. */
  track(session: Http2Session, side: 'inbound' | 'outbound', serial: string, peer: string): void {
    if (serial === '') return;
    this.#sessions.set(session, { serial, peer, side });
    session.once('close', () => this.#sessions.delete(session));
  }

  /**
   * Puts a snapshot's list in force and closes every open session with a newly revoked peer
   * (and, when this sidecar's own certificate is revoked, every outbound one). Returns how many.
   */
  update(serials: readonly string[]): number {
    const next = new Set(serials.map((s) => s.toLowerCase()));
    const added = [...next].filter((s) => !this.#serials.has(s));
    this.#serials = next;
    if (added.length === 0) return 0;
    const fresh = new Set(added);
    const self = this.selfRevoked;
    if (self && fresh.has(this.#own)) this.#logger.log('error', 'svid.revoked', { serial: this.#own, reason: `${REVOKED_REASON}: this workload's own certificate was revoked; its requests fail until it enrols again with a new join token` });
    let closed = 0;
    for (const [session, t] of this.#sessions) {
      if (!fresh.has(t.serial) && !(self && t.side === 'outbound')) continue;
      this.#sessions.delete(session);
      closed++;
      this.#stats.revoked_sessions_closed_total++;
      this.#logger.log('warn', `${t.side}.session.closed`, { reason: REVOKED_REASON, serial: t.serial, peer: t.peer });
      if (!session.destroyed) {
        session.goaway();
        session.destroy();
      }
    }
    return closed;
  }
}
