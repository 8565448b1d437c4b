import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { Redactor } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured event log: a lowercase event name and fields, never secrets. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

/** A logger whose every line passes through `redactor` (which the owner can teach new names). */
export interface RedactingLogger extends Logger {
  readonly redactor: Redactor;
}

export interface LoggerOptions {
  /** Minimum level written; default WEFT_LOG_LEVEL, else info. */
  readonly level?: string;
  /** The redaction step; default one with only the built-in sensitive names. */
  readonly redactor?: Redactor;
  /** Where lines go; default stderr. */
  readonly destination?: DestinationStream;
}

/**
 * JSON lines on stderr (pino), one object per event with `event` as the message. Every field of
 * every line, at any depth, is redacted first (see redact.ts), so no call site can log a token,
 * a cookie or a key by passing a path, a header object or an error along.
 */
export function createLogger(component: string, opts: LoggerOptions = {}): RedactingLogger {
  const level = opts.level ?? process.env.WEFT_LOG_LEVEL ?? 'info';
  const redactor = opts.redactor ?? new Redactor();
  const base: PinoLogger = pino({ level, base: { component }, messageKey: 'event' }, opts.destination ?? pino.destination({ fd: 2, sync: true }));
  return {
    redactor,
    log(lvl, event, fields = {}) {
      if (!base.isLevelEnabled(lvl)) return;
      base[lvl](redactor.fields(fields), redactor.string(event));
    },
  };
}

/** A logger that drops everything; the default for library use. */
export const silentLogger: Logger = { log() {} };
