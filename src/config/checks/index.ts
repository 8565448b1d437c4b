// The named value checks that schemas reference with the `check` keyword
// (`{ type: 'string', check: 'cidr' }`): one place maps each to its issue code and wording.
import type { IssueCode } from '../errors.js';
import { conditionKeyProblem } from './conditions.js';
import { durationProblem, headerNameProblem, httpUrlProblem, jwksProblem, methodProblem, regexProblem, requestPathProblem } from './http.js';
import {
  namespaceMatchProblem,
  principalProblem,
  requestPrincipalProblem,
  serviceAccountProblem,
  stringMatchProblem,
  trustDomainMatchProblem,
  trustDomainProblem,
  workloadSpiffeIdProblem,
} from './identity.js';
import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem, quote } from './names.js';
import {
  cidrProblem,
  exportToProblem,
  gatewayHostProblem,
  gatewayRefProblem,
  hostProblem,
  portNumberProblem,
  portStringProblem,
  serviceRefProblem,
} from './network.js';

interface CheckSpec {
  readonly code: IssueCode;
  /** What the value is, for the message: `invalid <what> "<value>": <problem>`. */
  readonly what: string;
  /** Why a string value fails, or undefined when it passes. */
  readonly string?: (v: string) => string | undefined;
  /** Why a number value fails, or undefined when it passes. */
  readonly number?: (n: number) => string | undefined;
}

const KNOWN_STATUS = /^[1-5][0-9][0-9]$/;
const PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'HTTP_PROXY', 'MONGO', 'MYSQL', 'REDIS', 'TCP', 'TLS', 'UDP'];
const PORT_NAME = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

const SPECS = {
  name: { code: 'WEFT_CONFIG_INVALID_NAME', what: 'name', string: dns1123SubdomainProblem },
  dnsLabel: { code: 'WEFT_CONFIG_INVALID_NAME', what: 'name', string: dns1123LabelProblem },
  namespace: { code: 'WEFT_CONFIG_INVALID_NAMESPACE', what: 'namespace', string: dns1123LabelProblem },
  exportTo: { code: 'WEFT_CONFIG_INVALID_NAMESPACE', what: 'exportTo namespace', string: exportToProblem },
  labelKey: { code: 'WEFT_CONFIG_INVALID_LABEL', what: 'label key', string: qualifiedNameProblem },
  labelValue: { code: 'WEFT_CONFIG_INVALID_LABEL', what: 'label value', string: labelValueProblem },
  annotationKey: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'annotation key', string: qualifiedNameProblem },
  principal: { code: 'WEFT_CONFIG_INVALID_PRINCIPAL', what: 'principal', string: principalProblem },
  requestPrincipal: { code: 'WEFT_CONFIG_INVALID_PRINCIPAL', what: 'request principal', string: requestPrincipalProblem },
  serviceAccount: { code: 'WEFT_CONFIG_INVALID_PRINCIPAL', what: 'service account', string: serviceAccountProblem },
  trustDomainMatch: { code: 'WEFT_CONFIG_INVALID_PRINCIPAL', what: 'trust domain', string: trustDomainMatchProblem },
  spiffeId: { code: 'WEFT_CONFIG_INVALID_PRINCIPAL', what: 'identity', string: workloadSpiffeIdProblem },
  namespaceMatch: { code: 'WEFT_CONFIG_INVALID_NAMESPACE', what: 'namespace', string: namespaceMatchProblem },
  trustDomain: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'trust domain', string: trustDomainProblem },
  cidr: { code: 'WEFT_CONFIG_INVALID_CIDR', what: 'IP address or CIDR', string: cidrProblem },
  portString: { code: 'WEFT_CONFIG_INVALID_PORT', what: 'port', string: portStringProblem },
  port: { code: 'WEFT_CONFIG_INVALID_PORT', what: 'port', number: portNumberProblem },
  host: { code: 'WEFT_CONFIG_INVALID_HOST', what: 'host', string: (v) => hostProblem(v) },
  hostOrIp: { code: 'WEFT_CONFIG_INVALID_HOST', what: 'host', string: (v) => hostProblem(v, true) },
  serviceEntryHost: {
    code: 'WEFT_CONFIG_INVALID_HOST',
    what: 'host',
    string: (v) => (v === '*' ? 'a ServiceEntry host cannot be "*"' : hostProblem(v)),
  },
  gatewayHost: { code: 'WEFT_CONFIG_INVALID_HOST', what: 'host', string: gatewayHostProblem },
  gatewayRef: { code: 'WEFT_CONFIG_INVALID_HOST', what: 'gateway', string: gatewayRefProblem },
  serviceRef: { code: 'WEFT_CONFIG_INVALID_HOST', what: 'service', string: serviceRefProblem },
  requestPath: { code: 'WEFT_CONFIG_INVALID_PATH', what: 'path', string: requestPathProblem },
  accessLogFile: { code: 'WEFT_CONFIG_INVALID_PATH', what: 'access log file', string: (v) => (v === '' || (v.startsWith('/') && !v.includes('\u0000')) ? undefined : 'must be empty (off), /dev/stdout, /dev/stderr or an absolute path') },
  absolutePath: { code: 'WEFT_CONFIG_INVALID_PATH', what: 'path', string: (v) => (v.startsWith('/') ? undefined : 'must start with "/"') },
  method: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'method', string: methodProblem },
  headerName: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'header name', string: headerNameProblem },
  matchHeaderName: {
    code: 'WEFT_CONFIG_INVALID_VALUE',
    what: 'header name',
    // Istio also matches JWT claims at gateways as pseudo-headers: "@request.auth.claims.<claim>".
    string: (v) => (/^@request\.auth\.claims\.\S+$/.test(v) ? undefined : headerNameProblem(v)),
  },
  stringMatch: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'value', string: stringMatchProblem },
  nonEmpty: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'value', string: (v) => (v.length === 0 ? 'must not be empty' : undefined) },
  regex: { code: 'WEFT_CONFIG_INVALID_REGEX', what: 'regex', string: regexProblem },
  duration: { code: 'WEFT_CONFIG_INVALID_DURATION', what: 'duration', string: durationProblem },
  httpUrl: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'URL', string: httpUrlProblem },
  jwks: { code: 'WEFT_CONFIG_INVALID_VALUE', what: 'JWKS', string: jwksProblem },
  conditionKey: { code: 'WEFT_CONFIG_INVALID_CONDITION', what: 'condition key', string: conditionKeyProblem },
  protocol: {
    code: 'WEFT_CONFIG_BAD_ENUM',
    what: 'protocol',
    string: (v) => (PROTOCOLS.includes(v.toUpperCase()) ? undefined : `must be one of ${PROTOCOLS.join(', ')}`),
  },
  portName: {
    code: 'WEFT_CONFIG_INVALID_NAME',
    what: 'port name',
    string: (v) => (v.length < 63 && PORT_NAME.test(v) ? undefined : 'use letters, digits and "-", starting and ending with a letter or digit'),
  },
  headerPattern: {
    code: 'WEFT_CONFIG_INVALID_VALUE',
    what: 'header pattern',
    string: (v) => (v === '*' ? 'a bare "*" would match every header: name the headers' : stringMatchProblem(v)),
  },
  localNamespace: {
    code: 'WEFT_CONFIG_INVALID_NAMESPACE',
    what: 'namespace',
    string: (v) => (v === '' ? undefined : 'cross-namespace references are not supported: leave it out'),
  },
  httpStatus: {
    code: 'WEFT_CONFIG_INVALID_VALUE',
    what: 'HTTP status',
    string: (v) => (KNOWN_STATUS.test(v) ? undefined : 'must be an HTTP status code, e.g. "403"'),
  },
} as const satisfies Record<string, CheckSpec>;

/** The name of a value check, as schemas write it. */
export type CheckName = keyof typeof SPECS;

/** The names of every check, for the `check` keyword's schema. */
export const CHECK_NAMES = Object.keys(SPECS) as CheckName[];

/** A failed check: the issue code and the full message. */
export interface CheckFailure {
  readonly code: IssueCode;
  readonly message: string;
}

/**
 * Runs check `name` on `value`. Values of a type the check does not apply to pass (the schema's
 * `type` reports them), so one value never gets two issues for one mistake.
 */
export function runCheck(name: CheckName, value: unknown): CheckFailure | undefined {
  const spec: CheckSpec = SPECS[name];
  let problem: string | undefined;
  if (typeof value === 'string' && spec.string !== undefined) problem = spec.string(value);
  else if (typeof value === 'number' && spec.number !== undefined) problem = spec.number(value);
  if (problem === undefined) return undefined;
  const shown = typeof value === 'string' ? quote(value) : String(value);
  return { code: spec.code, message: `invalid ${spec.what} ${shown}: ${problem}` };
}
