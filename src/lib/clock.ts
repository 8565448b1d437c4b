/**
 * The one place that reads the wall clock. Everything that depends on time (certificate validity,
 * token expiry, rotation) takes a Clock so tests can freeze it.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class FrozenClock implements Clock {
  #ms: number;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#ms;
  }

  advance(ms: number): void {
    this.#ms += ms;
  }

  set(ms: number): void {
    this.#ms = ms;
  }
}
