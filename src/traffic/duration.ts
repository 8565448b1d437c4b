// Durations as Kubernetes CRDs write them (Go's time.ParseDuration: `5s`, `1.5s`, `1h30m`,
// `250ms`, `100us`), read into milliseconds. Validation already refused anything else; this stays
// total so the engine never throws on a value it is handed.

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Milliseconds of a Go duration, rounded to the nearest millisecond (Envoy's resolution); `"0"`
 * is 0; undefined for text that is not a duration.
 * @example goDurationMs('1.5s') === 1500
 */
export function goDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0 || text.length > 64) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}
