import { WeftError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a Go-style duration ("90s", "1h30m", "24h", "7d") into milliseconds. A bare number is
 * refused because its unit would be a guess.
 *
 * @throws WeftError `WEFT_DURATION_INVALID` naming the text.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(trimmed); m !== null; m = re.exec(trimmed)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw new WeftError('WEFT_DURATION_INVALID', `invalid duration "${text}": use a number with a unit, e.g. 90s, 1h30m, 24h or 7d`);
  }
  return Math.round(total);
}

/** Formats milliseconds as the shortest exact duration text ("1h30m", "45s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}
