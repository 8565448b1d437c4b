// The access log of one sidecar as MeshConfig configures it: the compiled format and the writer
// together, so the proxy calls `log(record)` once per request or connection. Rebuilt when a
// snapshot changes the settings; unchanged settings keep the same writer.
import type { Redactor } from '../redact.js';
import { compileAccessLogFormat, type AccessLogSettings } from './formats.js';
import type { AccessLogRecord } from './record.js';
import { AccessLogWriter, type AccessLogWriterOptions, type AccessLogWriterStats } from './writer.js';

export interface AccessLogger {
  readonly settings: AccessLogSettings;
  /** Formats and queues one line; never waits for the file. */
  log(record: AccessLogRecord): void;
  readonly stats: AccessLogWriterStats;
  close(): Promise<void>;
}

/**
 * The logger the settings ask for, or undefined when the access log is off (no accessLogFile).
 * Throws AccessLogFormatError for a format that does not compile and the file system's error for
 * a file that cannot be opened; the caller keeps its previous logger then.
 */
export function createAccessLogger(settings: AccessLogSettings, opts: { redactor?: Redactor; writer?: AccessLogWriterOptions } = {}): AccessLogger | undefined {
  const file = settings.accessLogFile ?? '';
  if (file === '') return undefined;
  const format = compileAccessLogFormat(settings, opts.redactor);
  const writer = new AccessLogWriter(file, opts.writer);
  return {
    settings: { accessLogFile: file, accessLogEncoding: settings.accessLogEncoding ?? 'TEXT', accessLogFormat: settings.accessLogFormat ?? '' },
    log: (record) => void writer.write(format(record)),
    get stats() {
      return writer.stats;
    },
    close: () => writer.close(),
  };
}

/** Whether two settings describe the same access log (the writer and format can stay). */
export function sameAccessLogSettings(a: AccessLogSettings | undefined, b: AccessLogSettings | undefined): boolean {
  return (a?.accessLogFile ?? '') === (b?.accessLogFile ?? '') && (a?.accessLogEncoding ?? 'TEXT') === (b?.accessLogEncoding ?? 'TEXT') && (a?.accessLogFormat ?? '') === (b?.accessLogFormat ?? '');
}
