export * from './record.js';
export * from './compile.js';
export * from './formats.js';
export * from './writer.js';
export { formatStartTime } from './start-time.js';
export { AccessLogFormatError, parseAccessLogFormat, parseJsonFormatObject, ACCESS_LOG_OPERATORS } from '../../lib/access-log-format.js';
export * from './access-logger.js';
