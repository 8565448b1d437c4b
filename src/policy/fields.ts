// Every attribute an AuthorizationPolicy can name (source and operation fields, `when` keys), how
// it is read from a request, how one policy value compiles to a predicate, and whether it exists
// only for HTTP (Istio's model.Generate: such fields vanish on TCP, see compile-rule.ts).
import { matchForm } from '../config/checks/identity.js';
import { cidrMatcher, type Address } from './ip-match.js';
import { isPathTemplate, pathTemplateMatcher } from './path-template.js';
import type { IssuerSubject, RequestView } from './request-view.js';
import { fromForm, stringMatcher, type StringMatcher } from './string-match.js';
import { expandPrincipal } from './trust-domains.js';

/** A predicate over one attribute value (a string, a parsed address, a port, an issuer/subject pair). */
export type Predicate = (value: never) => boolean;

/** What compiling a value needs to know besides the value. */
export interface FieldContext {
  /** The policy's namespace (bare `serviceAccounts` values are in it). */
  readonly namespace: string;
  /** The local trust domain first, then its aliases. */
  readonly trustDomains: readonly string[];
}

/**
 * A value a request must have for a check to hold, used to index rules: the peer's
 * `<namespace>/sa/<service-account>`, its namespace, or the first segment of the path.
 */
export interface IndexKey {
  readonly kind: 'sa' | 'ns' | 'path';
  readonly key: string;
}

/** One attribute kind. */
export interface FieldKind {
  readonly httpOnly: boolean;
  /** The attribute of the request; undefined when absent. A list means "any element". */
  readonly read: (r: RequestView) => unknown;
  /** The attribute as the request carried it, for explanations (defaults to `read`). */
  readonly show?: (r: RequestView) => unknown;
  /** Predicates for one policy value (one value can stand for several, e.g. trust domain aliases), or why it is invalid. */
  readonly compile: (value: string, ctx: FieldContext) => readonly Predicate[] | string;
  /** The index keys one positive value implies (any one of them must hold), or undefined when it implies none. */
  readonly indexKeys?: (value: string, ctx: FieldContext) => readonly IndexKey[] | undefined;
  /**
   * A list read for this kind is one field sent several times (a repeated header), not a set of
   * values (a list claim): it is matched fail-closed by the rule's action (compile-rule.ts).
   */
  readonly repeated?: boolean;
}

function strings(options: { ignoreCase?: boolean; presenceMatchesEmpty?: boolean } = {}) {
  return (value: string): readonly Predicate[] | string => {
    const m = stringMatcher(value, options);
    return typeof m === 'string' ? m : [m as Predicate];
  };
}

function cidr(value: string): readonly Predicate[] | string {
  const m = cidrMatcher(value);
  return typeof m === 'string' ? m : [m as Predicate];
}

function port(value: string): readonly Predicate[] | string {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) return `${JSON.stringify(value)} is not a port number`;
  const n = Number(value);
  return [((p: number) => p === n) as Predicate];
}

function principal(value: string, ctx: FieldContext): readonly Predicate[] | string {
  const out: Predicate[] = [];
  for (const v of expandPrincipal(value, ctx.trustDomains)) {
    const m = stringMatcher(v);
    if (typeof m === 'string') return m;
    out.push(m as Predicate);
  }
  return out;
}

function trustDomain(value: string, ctx: FieldContext): readonly Predicate[] | string {
  if (value.includes('/')) return 'a trust domain has no "/"';
  if (ctx.trustDomains.includes(value)) {
    const set = new Set(ctx.trustDomains);
    return [((td: string) => set.has(td)) as Predicate];
  }
  return strings()(value);
}

function serviceAccount(value: string, ctx: FieldContext): readonly Predicate[] | string {
  if (value.includes('*')) return 'service accounts take no wildcards';
  const parts = value.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) return `${JSON.stringify(value)} is not "<namespace>/<service-account>" or "<service-account>"`;
  const want = parts.length === 2 ? value : `${ctx.namespace}/${value}`;
  return [((sa: string) => sa === want) as Predicate];
}

const EXACT_WORKLOAD = /^[^/*]+\/ns\/([^/*]+)\/sa\/([^/*]+)$/;
const PREFIX_NAMESPACE = /^[^/*]+\/ns\/([^/*]+)\//;
const SUFFIX_WORKLOAD = /^[^/*]*\/ns\/([^/*]+)\/sa\/([^/*]+)$/;

// Sound only for principals of the workload form (5 segments): evaluation scans every rule for
// any other principal (see index-rules.ts).
function principalKeys(value: string, ctx: FieldContext): readonly IndexKey[] | undefined {
  const keys: IndexKey[] = [];
  for (const v of expandPrincipal(value, ctx.trustDomains)) {
    const m = matchForm(v);
    if (typeof m === 'string') return undefined;
    let k: RegExpExecArray | null;
    if (m.form === 'exact' && (k = EXACT_WORKLOAD.exec(v)) !== null) keys.push({ kind: 'sa', key: `${k[1]}/sa/${k[2]}` });
    else if (m.form === 'suffix' && (k = SUFFIX_WORKLOAD.exec(m.fixed)) !== null) keys.push({ kind: 'sa', key: `${k[1]}/sa/${k[2]}` });
    else if (m.form === 'prefix' && (k = PREFIX_NAMESPACE.exec(m.fixed)) !== null) keys.push({ kind: 'ns', key: k[1]! });
    else return undefined;
  }
  return keys;
}

function namespaceKeys(value: string): readonly IndexKey[] | undefined {
  return value.includes('*') ? undefined : [{ kind: 'ns', key: value }];
}

function serviceAccountKeys(value: string, ctx: FieldContext): readonly IndexKey[] | undefined {
  if (value.includes('*')) return undefined;
  const [ns, sa] = value.includes('/') ? value.split('/') : [ctx.namespace, value];
  return [{ kind: 'sa', key: `${ns}/sa/${sa}` }];
}

/** The first path segment a value pins down: `/admin`, `/admin/*`, `/api/{*}` -> admin, admin, api. */
function pathKeys(value: string): readonly IndexKey[] | undefined {
  if (!value.startsWith('/')) return undefined;
  const slash = value.indexOf('/', 1);
  const template = isPathTemplate(value);
  const first = slash === -1 ? value.slice(1) : value.slice(1, slash);
  if (first.includes('{') || first.includes('*')) return undefined;
  if (slash === -1 && (template || value.endsWith('*'))) return undefined;
  return [{ kind: 'path', key: first }];
}

/** The first segment of a request path (`/api/v1` -> api); what pathKeys indexes. */
export function firstSegment(path: string): string {
  const slash = path.indexOf('/', 1);
  return slash === -1 ? path.slice(1) : path.slice(1, slash);
}

const anyValue: StringMatcher = () => true;

function part(text: string): StringMatcher | string {
  if (text === '*') return anyValue;
  const m = matchForm(text);
  return typeof m === 'string' ? m : fromForm(m, false);
}

/**
 * Istio splits a request principal value at its last "/" and compares issuer and subject on their
 * own, so `iss=a`, `sub=b/c` does not match `a/b/c`. Without a "/": `*x` is any issuer with a
 * subject ending in x, `x*` an issuer starting with x and any subject, and a plain value never matches.
 */
function requestPrincipal(value: string): readonly Predicate[] | string {
  if (value === '*') return [((p: IssuerSubject) => p.iss !== '' && p.sub !== '') as Predicate];
  const slash = value.lastIndexOf('/');
  if (slash === -1) {
    const m = matchForm(value);
    if (typeof m === 'string') return m;
    if (m.form === 'suffix') return [((p: IssuerSubject) => p.sub.endsWith(m.fixed)) as Predicate];
    if (m.form === 'prefix') return [((p: IssuerSubject) => p.iss.startsWith(m.fixed)) as Predicate];
    return [(() => false) as Predicate];
  }
  const iss = part(value.slice(0, slash));
  const sub = part(value.slice(slash + 1));
  if (typeof iss === 'string') return `issuer part: ${iss}`;
  if (typeof sub === 'string') return `subject part: ${sub}`;
  return [((p: IssuerSubject) => iss(p.iss) && sub(p.sub)) as Predicate];
}

function path(value: string): readonly Predicate[] | string {
  const m = isPathTemplate(value) ? pathTemplateMatcher(value) : stringMatcher(value);
  return typeof m === 'string' ? m : [m as Predicate];
}

const addressOf = (read: (r: RequestView) => Address | undefined) => read;

export const FIELD_KINDS = {
  principal: { httpOnly: false, read: (r: RequestView) => r.principal(), compile: principal, indexKeys: principalKeys },
  namespace: { httpOnly: false, read: (r: RequestView) => r.namespace(), compile: strings(), indexKeys: namespaceKeys },
  serviceAccount: { httpOnly: false, read: (r: RequestView) => r.peer()?.serviceAccount, compile: serviceAccount, indexKeys: serviceAccountKeys },
  trustDomain: { httpOnly: false, read: (r: RequestView) => r.peer()?.trustDomain, compile: trustDomain },
  requestPrincipal: { httpOnly: true, read: (r: RequestView) => r.issuerSubject(), show: (r: RequestView) => r.attributes.jwt?.principal, compile: requestPrincipal },
  sourceIp: { httpOnly: false, read: addressOf((r) => r.sourceIp()), show: (r: RequestView) => r.attributes.sourceIp, compile: cidr },
  remoteIp: {
    httpOnly: false,
    read: addressOf((r) => r.remoteIp()),
    show: (r: RequestView) => emptyAsAbsent(r.attributes.remoteIp) ?? r.attributes.sourceIp,
    compile: cidr,
  },
  destinationIp: { httpOnly: false, read: addressOf((r) => r.destinationIp()), show: (r: RequestView) => r.attributes.destinationIp, compile: cidr },
  port: { httpOnly: false, read: (r: RequestView) => r.attributes.destinationPort, compile: port },
  host: { httpOnly: true, read: (r: RequestView) => r.host(), compile: strings({ ignoreCase: true }) },
  method: { httpOnly: true, read: (r: RequestView) => r.method(), compile: strings() },
  path: { httpOnly: true, read: (r: RequestView) => r.path, compile: path, indexKeys: pathKeys },
  audiences: { httpOnly: true, read: (r: RequestView) => r.attributes.jwt?.audiences, compile: strings() },
  presenter: { httpOnly: true, read: (r: RequestView) => emptyAsAbsent(r.attributes.jwt?.presenter), compile: strings() },
  sni: { httpOnly: false, read: (r: RequestView) => emptyAsAbsent(r.attributes.sni), compile: strings() },
} satisfies Record<string, FieldKind>;

function emptyAsAbsent(v: string | undefined): string | undefined {
  return v === '' ? undefined : v;
}

/**
 * `request.headers[name]`: `*` means "the header is present" (even empty); a header sent more
 * than once is matched fail-closed (compile-rule.ts, repeatedTest).
 */
export function headerKind(name: string): FieldKind {
  const lower = name.toLowerCase();
  return { httpOnly: true, read: (r) => r.header(lower), compile: strings({ presenceMatchesEmpty: true }), repeated: true };
}

/** `request.auth.claims[a][b]`: a string claim, or any element of a list claim. */
export function claimKind(path: readonly string[]): FieldKind {
  return { httpOnly: true, read: (r) => r.claim(path), compile: strings() };
}

/** Source fields (`from[].source`) by name, with their `not...` twins. */
export const SOURCE_FIELDS: Readonly<Record<string, readonly [FieldKind, boolean]>> = {
  principals: [FIELD_KINDS.principal, false],
  notPrincipals: [FIELD_KINDS.principal, true],
  requestPrincipals: [FIELD_KINDS.requestPrincipal, false],
  notRequestPrincipals: [FIELD_KINDS.requestPrincipal, true],
  namespaces: [FIELD_KINDS.namespace, false],
  notNamespaces: [FIELD_KINDS.namespace, true],
  serviceAccounts: [FIELD_KINDS.serviceAccount, false],
  notServiceAccounts: [FIELD_KINDS.serviceAccount, true],
  trustDomains: [FIELD_KINDS.trustDomain, false],
  notTrustDomains: [FIELD_KINDS.trustDomain, true],
  ipBlocks: [FIELD_KINDS.sourceIp, false],
  notIpBlocks: [FIELD_KINDS.sourceIp, true],
  remoteIpBlocks: [FIELD_KINDS.remoteIp, false],
  notRemoteIpBlocks: [FIELD_KINDS.remoteIp, true],
};

/** Operation fields (`to[].operation`) by name. */
export const OPERATION_FIELDS: Readonly<Record<string, readonly [FieldKind, boolean]>> = {
  hosts: [FIELD_KINDS.host, false],
  notHosts: [FIELD_KINDS.host, true],
  ports: [FIELD_KINDS.port, false],
  notPorts: [FIELD_KINDS.port, true],
  methods: [FIELD_KINDS.method, false],
  notMethods: [FIELD_KINDS.method, true],
  paths: [FIELD_KINDS.path, false],
  notPaths: [FIELD_KINDS.path, true],
};

const CONDITION_KEYS: Readonly<Record<string, FieldKind>> = {
  'source.ip': FIELD_KINDS.sourceIp,
  'remote.ip': FIELD_KINDS.remoteIp,
  'destination.ip': FIELD_KINDS.destinationIp,
  'destination.port': FIELD_KINDS.port,
  'source.namespace': FIELD_KINDS.namespace,
  'source.principal': FIELD_KINDS.principal,
  'source.serviceAccount': FIELD_KINDS.serviceAccount,
  'source.trustDomain': FIELD_KINDS.trustDomain,
  'request.auth.principal': FIELD_KINDS.requestPrincipal,
  'request.auth.audiences': FIELD_KINDS.audiences,
  'request.auth.presenter': FIELD_KINDS.presenter,
  'connection.sni': FIELD_KINDS.sni,
};

const HEADER_KEY = /^request\.headers\[([^[\]]+)\]$/;
const CLAIMS_KEY = /^request\.auth\.claims((?:\[[^[\]]+\])+)$/;

/** The attribute a `when` key names, or why weft cannot evaluate it. */
export function conditionKind(key: string): FieldKind | string {
  const plain = CONDITION_KEYS[key];
  if (plain !== undefined) return plain;
  const header = HEADER_KEY.exec(key);
  if (header !== null) return headerKind(header[1]!);
  const claims = CLAIMS_KEY.exec(key);
  if (claims !== null) return claimKind([...claims[1]!.matchAll(/\[([^[\]]+)\]/g)].map((m) => m[1]!));
  if (key.startsWith('experimental.envoy.filters.')) return `condition key ${JSON.stringify(key)} reads Envoy filter metadata, which weft does not have`;
  return `condition key ${JSON.stringify(key)} is not one weft can evaluate`;
}
