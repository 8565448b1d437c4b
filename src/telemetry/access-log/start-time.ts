// START_TIME's strftime subset, always in UTC. Envoy's default (no format) is ISO 8601 with
// milliseconds: 2026-12-07T22:05:15.123Z.

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `ms` (milliseconds since the epoch) in the format; a format parseAccessLogFormat accepted. */
export function formatStartTime(ms: number, format?: string): string {
  const d = new Date(Number.isFinite(ms) ? ms : 0);
  if (format === undefined) return d.toISOString();
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const n = format[i + 1] ?? '';
    if (/[1-9]/.test(n) && format[i + 2] === 'f') {
      // Fractions of a second to N digits; the clock has milliseconds, the rest are zeros.
      out += `${pad(d.getUTCMilliseconds(), 3)}000000`.slice(0, Number(n));
      i += 2;
      continue;
    }
    i += 1;
    out += conversion(d, n);
  }
  return out;
}

function conversion(d: Date, c: string): string {
  switch (c) {
    case 'Y': return String(d.getUTCFullYear());
    case 'm': return pad(d.getUTCMonth() + 1);
    case 'd': return pad(d.getUTCDate());
    case 'H': return pad(d.getUTCHours());
    case 'M': return pad(d.getUTCMinutes());
    case 'S': return pad(d.getUTCSeconds());
    case 'j': return pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
    case 'z': return '+0000';
    case 'Z': return 'UTC';
    case 's': return String(Math.floor(d.getTime() / 1000));
    case 'F': return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case 'T': return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    case '%': return '%';
    default: return `%${c}`;
  }
}
