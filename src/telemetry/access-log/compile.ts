// Compiles an Envoy format string once into a function of an access log record. Each operator
// becomes a closure that reads one field; a line is the closures' results joined. Values are cut
// to a bound, control characters escaped (a value can never start a new line) and every string a
// request supplied passes the redaction step.
import { parseAccessLogFormat, type FormatPart } from '../../lib/access-log-format.js';
import type { Redactor } from '../redact.js';
import type { AccessLogRecord, LogHeaders } from './record.js';
import { formatStartTime } from './start-time.js';

/** An operator's value: a string, a number, or unset (`-` in TEXT, null in JSON). */
export type LogValue = string | number | undefined;
export type ValueOf = (r: AccessLogRecord) => LogValue;

/** Longest value one operator writes unless its `:N` says less. */
export const MAX_VALUE_LENGTH = 4096;

function header(h: LogHeaders | undefined, name: string): string | undefined {
  const v = h?.[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.length === 0 ? undefined : v.join(',');
}

function withoutPort(a: string | undefined): string | undefined {
  if (a === undefined) return undefined;
  const m = /^\[([^\]]+)\]:\d+$/.exec(a) ?? /^([^:]+):\d+$/.exec(a);
  return m === null ? a : m[1];
}

const FIELDS: Readonly<Record<string, ValueOf>> = {
  PROTOCOL: (r) => r.protocol,
  RESPONSE_CODE: (r) => r.responseCode ?? 0,
  RESPONSE_FLAGS: (r) => (r.responseFlags === undefined || r.responseFlags === '' ? '-' : r.responseFlags),
  RESPONSE_CODE_DETAILS: (r) => r.responseCodeDetails,
  CONNECTION_TERMINATION_DETAILS: (r) => r.connectionTerminationDetails,
  UPSTREAM_TRANSPORT_FAILURE_REASON: (r) => r.upstreamTransportFailureReason,
  BYTES_RECEIVED: (r) => r.bytesReceived ?? 0,
  BYTES_SENT: (r) => r.bytesSent ?? 0,
  DURATION: (r) => (r.durationMs === undefined ? undefined : Math.floor(r.durationMs)),
  UPSTREAM_SERVICE_TIME: (r) => (r.upstreamServiceTimeMs === undefined ? undefined : Math.floor(r.upstreamServiceTimeMs)),
  UPSTREAM_HOST: (r) => r.upstreamHost,
  UPSTREAM_CLUSTER: (r) => r.upstreamCluster,
  UPSTREAM_CLUSTER_RAW: (r) => r.upstreamCluster,
  UPSTREAM_LOCAL_ADDRESS: (r) => r.upstreamLocalAddress,
  DOWNSTREAM_LOCAL_ADDRESS: (r) => r.downstreamLocalAddress,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamLocalAddress),
  DOWNSTREAM_REMOTE_ADDRESS: (r) => r.downstreamRemoteAddress,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamRemoteAddress),
  DOWNSTREAM_PEER_URI_SAN: (r) => r.downstreamPeerUriSan,
  DOWNSTREAM_LOCAL_URI_SAN: (r) => r.downstreamLocalUriSan,
  UPSTREAM_PEER_URI_SAN: (r) => r.upstreamPeerUriSan,
  REQUESTED_SERVER_NAME: (r) => r.requestedServerName,
  ROUTE_NAME: (r) => r.routeName,
};

/** Values taken from the request or the peer: these pass the redaction step. */
const FROM_OUTSIDE = new Set(['REQ', 'RESP', 'TRAILER', 'RESPONSE_CODE_DETAILS', 'CONNECTION_TERMINATION_DETAILS', 'UPSTREAM_TRANSPORT_FAILURE_REASON', 'REQUESTED_SERVER_NAME']);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

function clean(v: string, max: number): string {
  const cut = v.length > max ? v.slice(0, max) : v;
  return CONTROL.test(cut) ? cut.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : cut;
}

/** The closure of one operator; strings are cut, escaped and (when from outside) redacted. */
export function operatorValue(part: Extract<FormatPart, { kind: 'operator' }>, redactor: Redactor | undefined): ValueOf {
  let read: ValueOf;
  if (part.name === 'START_TIME') {
    const fmt = part.timeFormat;
    read = (r) => formatStartTime(r.startTime, fmt);
  } else if (part.header !== undefined) {
    const source = part.name === 'REQ' ? 'requestHeaders' : part.name === 'RESP' ? 'responseHeaders' : 'responseTrailers';
    const { header: name, altHeader: alt } = part;
    read = (r) => header(r[source], name) ?? (alt === undefined ? undefined : header(r[source], alt));
  } else {
    read = FIELDS[part.name]!;
  }
  const max = Math.min(part.maxLength ?? MAX_VALUE_LENGTH, MAX_VALUE_LENGTH);
  const redact = FROM_OUTSIDE.has(part.name) ? redactor : undefined;
  return (r) => {
    const v = read(r);
    if (typeof v !== 'string') return v;
    const s = clean(v, max);
    return redact === undefined ? s : redact.string(s);
  };
}

/** A TEXT format compiled: one line (without the newline) per record; unset values print `-`. */
export function compileTextFormat(format: string, redactor?: Redactor): (r: AccessLogRecord) => string {
  const parts = parseAccessLogFormat(format);
  const fns = parts.map((p): ValueOf => {
    if (p.kind === 'text') {
      const t = p.text;
      return () => t;
    }
    return operatorValue(p, redactor);
  });
  return (r) => {
    let line = '';
    for (const f of fns) {
      const v = f(r);
      line += v === undefined || v === '' ? '-' : String(v);
    }
    return line.endsWith('\n') ? line.slice(0, -1) : line;
  };
}

/**
 * A JSON format compiled: key -> format string, each value one operator (typed: numbers stay
 * numbers, unset is null) or a template of text and operators (a string).
 */
export function compileJsonFormat(fields: Readonly<Record<string, string>>, redactor?: Redactor): (r: AccessLogRecord) => string {
  const entries = Object.entries(fields).map(([key, format]) => {
    const parts = parseAccessLogFormat(format);
    if (parts.length === 1 && parts[0]!.kind === 'operator') {
      const f = operatorValue(parts[0]!, redactor);
      return [key, (r: AccessLogRecord) => f(r) ?? null] as const;
    }
    const text = compileTextFormat(format, redactor);
    return [key, (r: AccessLogRecord) => text(r)] as const;
  });
  return (r) => {
    const o: Record<string, string | number | null> = {};
    for (const [k, f] of entries) o[k] = f(r);
    return JSON.stringify(o);
  };
}
