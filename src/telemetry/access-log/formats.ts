// Istio's default access log formats (pilot's EnvoyTextLogFormat and EnvoyJSONLogFormat), and the
// choice between them and a MeshConfig's own accessLogFormat.
import { parseJsonFormatObject } from '../../lib/access-log-format.js';
import type { Redactor } from '../redact.js';
import { compileJsonFormat, compileTextFormat } from './compile.js';
import type { AccessLogRecord } from './record.js';

/** Istio's default TEXT format (without its trailing newline: the writer ends every line). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%';

/** Istio's default JSON keys and the operator behind each. */
export const ISTIO_JSON_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
};

export type AccessLogEncoding = 'TEXT' | 'JSON';

/** The MeshConfig fields of the access log. */
export interface AccessLogSettings {
  /** Empty: off (Istio's default). `/dev/stdout`, `/dev/stderr` or a file path. */
  readonly accessLogFile?: string;
  readonly accessLogEncoding?: AccessLogEncoding;
  /** TEXT: a format string; JSON: a JSON object of key -> format string. Empty: Istio's default. */
  readonly accessLogFormat?: string;
}

/** Compiles the formatter the settings name (TEXT or JSON, Istio's default or the given format). */
export function compileAccessLogFormat(settings: AccessLogSettings, redactor?: Redactor): (r: AccessLogRecord) => string {
  const format = settings.accessLogFormat ?? '';
  if ((settings.accessLogEncoding ?? 'TEXT') === 'JSON') return compileJsonFormat(format === '' ? ISTIO_JSON_FORMAT : parseJsonFormatObject(format), redactor);
  return compileTextFormat(format === '' ? ISTIO_TEXT_FORMAT : format, redactor);
}

/** Checks the settings as the sidecar would compile them; throws AccessLogFormatError. */
export function validateAccessLogSettings(settings: AccessLogSettings): void {
  compileAccessLogFormat(settings);
}
