import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured event log: a lowercase event name and fields, never secrets. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

/**
 * JSON lines on stderr (pino), one object per event with `event` as the message. The level comes
 * from WEFT_LOG_LEVEL (default info).
 */
export function createLogger(component: string, level: string = process.env.WEFT_LOG_LEVEL ?? 'info'): Logger {
  const base: PinoLogger = pino({ level, base: { component }, messageKey: 'event' }, pino.destination({ fd: 2, sync: true }));
  return {
    log(lvl, event, fields = {}) {
      base[lvl](fields, event);
    },
  };
}

/** A logger that drops everything; the default for library use. */
export const silentLogger: Logger = { log() {} };
