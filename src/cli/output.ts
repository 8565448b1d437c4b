import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../lib/duration.js';
import { isWeftError } from '../lib/errors.js';

export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** A flag combination commander cannot check by itself; exits with the usage code. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The data directory every CA and token command works on unless --data-dir says otherwise. */
export const DEFAULT_DATA_DIR = './.weft';

/** A commander option parser for durations ("1h", "90s"); a bad value is a usage error. */
export function durationOption(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new InvalidArgumentError(`"${value}" must be longer than zero`);
    return ms;
  } catch (err) {
    if (isWeftError(err)) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** A commander option parser for a whole number from `min` (default 1) to `max`. */
export function countOption(range: { min?: number; max?: number } = {}): (value: string) => number {
  const { min = 1, max = Number.MAX_SAFE_INTEGER } = range;
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`"${value}" is not a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A commander option parser for `-o` formats. */
export function formatOption(...allowed: string[]): (value: string) => string {
  return (value) => {
    if (!allowed.includes(value)) throw new InvalidArgumentError(`must be one of: ${allowed.join(', ')}`);
    return value;
  };
}

/** Prints rows as an aligned table with an upper-case header, kubectl style. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd();
  process.stdout.write(`${line(headers)}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

/** Prints "key: value" lines with the values aligned. */
export function printFields(fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  for (const [k, v] of fields) process.stdout.write(`${`${k}:`.padEnd(width)} ${v}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** ISO time without milliseconds, the form every weft command prints. */
export function isoTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface HostPort {
  host: string;
  port: number;
}

/** A commander option parser for HOST:PORT (IPv6 as [::1]:PORT); port 0 means "pick one". */
export function hostPortOption(value: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`"${value}" is not HOST:PORT (e.g. 127.0.0.1:15012)`);
  return { host: m[1] ?? m[2]!, port };
}
