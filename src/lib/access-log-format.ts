// The grammar of Envoy's access log format strings (`%COMMAND(ARG):N%` operators in literal text),
// shared by the MeshConfig validation (config) and the compiler that fills them in (telemetry), so
// a format refused at apply is exactly one the sidecar could not compile. Parsing never throws
// anything but an AccessLogFormatError, and is bounded in input length and operator count.
import { WeftError } from './errors.js';

export const ACCESS_LOG_FORMAT_ERROR_CODES = ['WEFT_ACCESS_LOG_FORMAT_INVALID'] as const;

/** Longest format string accepted, and most operators in one. */
export const MAX_FORMAT_LENGTH = 16_384;
export const MAX_FORMAT_OPERATORS = 128;

/** A format string that cannot be compiled: names the operator (when there is one) and the offset. */
export class AccessLogFormatError extends WeftError<'WEFT_ACCESS_LOG_FORMAT_INVALID'> {
  readonly offset: number;
  readonly operator?: string;

  constructor(message: string, offset: number, operator?: string) {
    super('WEFT_ACCESS_LOG_FORMAT_INVALID', message);
    this.name = 'AccessLogFormatError';
    this.offset = offset;
    if (operator !== undefined) this.operator = operator;
  }
}

/** Operators weft can fill, and whether each takes an argument in parentheses. */
export const ACCESS_LOG_OPERATORS: Readonly<Record<string, 'none' | 'optional' | 'header'>> = {
  START_TIME: 'optional',
  REQ: 'header',
  RESP: 'header',
  TRAILER: 'header',
  PROTOCOL: 'none',
  RESPONSE_CODE: 'none',
  RESPONSE_FLAGS: 'none',
  RESPONSE_CODE_DETAILS: 'none',
  CONNECTION_TERMINATION_DETAILS: 'none',
  UPSTREAM_TRANSPORT_FAILURE_REASON: 'none',
  BYTES_RECEIVED: 'none',
  BYTES_SENT: 'none',
  DURATION: 'none',
  UPSTREAM_SERVICE_TIME: 'none',
  UPSTREAM_HOST: 'none',
  UPSTREAM_CLUSTER: 'none',
  UPSTREAM_CLUSTER_RAW: 'none',
  UPSTREAM_LOCAL_ADDRESS: 'none',
  DOWNSTREAM_LOCAL_ADDRESS: 'none',
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_REMOTE_ADDRESS: 'none',
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_PEER_URI_SAN: 'none',
  DOWNSTREAM_LOCAL_URI_SAN: 'none',
  UPSTREAM_PEER_URI_SAN: 'none',
  REQUESTED_SERVER_NAME: 'none',
  ROUTE_NAME: 'none',
};

/** strftime conversions START_TIME accepts (all in UTC); `%1f`..`%9f` are handled apart. */
export const START_TIME_CONVERSIONS = 'YmdHMSjzZsFT%';

export type FormatPart =
  | { readonly kind: 'text'; readonly text: string }
  | {
      readonly kind: 'operator';
      readonly name: string;
      /** START_TIME's strftime format. */
      readonly timeFormat?: string;
      /** REQ/RESP/TRAILER: the header, and the alternative when it is absent (`X?Y`), lowercase. */
      readonly header?: string;
      readonly altHeader?: string;
      /** `:N`: the value is cut to N characters. */
      readonly maxLength?: number;
    };

const HEADER = /^:?[a-z0-9!#$&'*+.^_`|~-]+$/;

/** Parses a format string into literal text and operators; throws AccessLogFormatError. */
export function parseAccessLogFormat(format: string): FormatPart[] {
  if (typeof format !== 'string') throw new AccessLogFormatError('the access log format must be a string', 0);
  if (format.length > MAX_FORMAT_LENGTH) throw new AccessLogFormatError(`the access log format is ${format.length} characters long, over the ${MAX_FORMAT_LENGTH} accepted`, MAX_FORMAT_LENGTH);
  const parts: FormatPart[] = [];
  let text = '';
  let operators = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      text += format.slice(i);
      break;
    }
    text += format.slice(i, pct);
    const m = /^%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::([0-9]{1,6}))?%/.exec(format.slice(pct, pct + 2 * 1024));
    if (m === null) {
      const name = /^%([A-Z0-9_]+)/.exec(format.slice(pct, pct + 128))?.[1];
      throw new AccessLogFormatError(
        name === undefined
          ? `a "%" at offset ${pct} does not start an operator (operators are %NAME%, %NAME(ARG)% or %NAME(ARG):N%)`
          : `operator %${name}% at offset ${pct} is not closed as %${name}%, %${name}(ARG)% or %${name}(ARG):N%`,
        pct,
        name,
      );
    }
    if (++operators > MAX_FORMAT_OPERATORS) throw new AccessLogFormatError(`more than ${MAX_FORMAT_OPERATORS} operators in the access log format`, pct);
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push(operator(m[1]!, m[2], m[3], pct));
    i = pct + m[0].length;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return parts;
}

function operator(name: string, arg: string | undefined, max: string | undefined, offset: number): FormatPart {
  const shape = Object.hasOwn(ACCESS_LOG_OPERATORS, name) ? ACCESS_LOG_OPERATORS[name] : undefined;
  if (shape === undefined) throw new AccessLogFormatError(`unknown operator %${name}% at offset ${offset}: weft fills ${Object.keys(ACCESS_LOG_OPERATORS).join(', ')}`, offset, name);
  const maxLength = max === undefined ? undefined : Number(max);
  if (maxLength === 0) throw new AccessLogFormatError(`operator %${name}% at offset ${offset}: a maximum length must be at least 1`, offset, name);
  const base = { kind: 'operator' as const, name, ...(maxLength === undefined ? {} : { maxLength }) };
  if (shape === 'none') {
    if (arg !== undefined) throw new AccessLogFormatError(`operator %${name}% at offset ${offset} takes no argument`, offset, name);
    return base;
  }
  if (shape === 'optional') {
    if (arg === undefined || arg === '') return base;
    checkTimeFormat(arg, name, offset);
    return { ...base, timeFormat: arg };
  }
  if (arg === undefined || arg === '') throw new AccessLogFormatError(`operator %${name}% at offset ${offset} needs a header name: %${name}(X-HEADER)% or %${name}(X?Y)%`, offset, name);
  const [header, alt, ...rest] = arg.toLowerCase().split('?');
  if (rest.length > 0 || !HEADER.test(header!) || (alt !== undefined && !HEADER.test(alt))) {
    throw new AccessLogFormatError(`operator %${name}% at offset ${offset}: ${JSON.stringify(arg.slice(0, 64))} is not a header name or HEADER?ALTERNATIVE`, offset, name);
  }
  return { ...base, header: header!, ...(alt === undefined ? {} : { altHeader: alt }) };
}

function checkTimeFormat(fmt: string, name: string, offset: number): void {
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== '%') continue;
    const c = fmt[i + 1];
    if (c !== undefined && /[1-9]/.test(c) && fmt[i + 2] === 'f') {
      i += 2;
    } else if (c !== undefined && START_TIME_CONVERSIONS.includes(c)) {
      i += 1;
    } else {
      throw new AccessLogFormatError(`operator %${name}% at offset ${offset}: time conversion "%${c ?? ''}" is not supported (use %Y %m %d %H %M %S %j %z %Z %s %F %T %%, or %1f..%9f for fractions of a second)`, offset, name);
    }
  }
}

/**
 * The JSON object of a JSON-encoded accessLogFormat, each value a string; throws
 * AccessLogFormatError otherwise (Istio reads the field the same way).
 */
export function parseJsonFormatObject(format: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(format);
  } catch (err) {
    throw new AccessLogFormatError(`with accessLogEncoding JSON, accessLogFormat must be a JSON object of key to format string: ${(err as Error).message}`, 0);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AccessLogFormatError('with accessLogEncoding JSON, accessLogFormat must be a JSON object of key to format string', 0);
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > 128) throw new AccessLogFormatError(`the JSON access log format has ${entries.length} keys, over the 128 accepted`, 0);
  for (const [k, v] of entries) if (typeof v !== 'string') throw new AccessLogFormatError(`key ${JSON.stringify(k.slice(0, 64))} of the JSON access log format is not a format string`, 0);
  return parsed as Record<string, string>;
}
