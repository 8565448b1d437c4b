// The sampling decision of a hop: an incoming sampled flag is honoured either way (the trace
// started upstream keeps its decision); otherwise MeshConfig defaultConfig.tracing.sampling, a
// percentage with 0.01 precision (Istio's PILOT_TRACE_SAMPLING: default 1, out of range -> 1).
import { randomInt } from 'node:crypto';

export const DEFAULT_SAMPLING_PERCENT = 1;

/** The percentage as a whole number of 10,000ths, or the default for a value out of range. */
export function samplingBasisPoints(percent: number | undefined): number {
  const p = percent === undefined || !Number.isFinite(percent) || percent < 0 || percent > 100 ? DEFAULT_SAMPLING_PERCENT : percent;
  return Math.round(p * 100);
}

/**
 * Sampled or not. `incoming` is the caller's flag when it sent one; `random` draws from
 * [0, 10000) and is injectable for tests.
 */
export function decideSampling(percent: number | undefined, incoming: boolean | undefined, random: () => number = () => randomInt(10_000)): boolean {
  if (incoming !== undefined) return incoming;
  const bp = samplingBasisPoints(percent);
  if (bp >= 10_000) return true;
  if (bp <= 0) return false;
  return random() < bp;
}
