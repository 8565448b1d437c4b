// The attributes of one request as the compiled checks read them: each derived value (the peer's
// namespace and service account, parsed addresses, the canonical method, the lower-case host...)
// is computed on first use and kept for the rest of the decision.
import type { RequestAttributes } from './attributes.js';
import { parseAddress, type Address } from './ip-match.js';
import { ownHeader } from './owned-headers.js';

/** The parts of a workload SPIFFE ID (`<td>/ns/<ns>/sa/<sa>`) a policy can name. */
export interface Peer {
  readonly trustDomain: string;
  readonly namespace: string | undefined;
  /** `<namespace>/<service-account>` when the principal has the workload form. */
  readonly serviceAccount: string | undefined;
  /** `<namespace>/sa/<service-account>` (the principal without its trust domain): the rule index key. */
  readonly workloadKey: string | undefined;
}

/** The JWT issuer and subject, compared separately as Istio does for requestPrincipals. */
export interface IssuerSubject {
  readonly iss: string;
  readonly sub: string;
}

const UNSET = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

/** Lazily derived request attributes; one per decision. */
export class RequestView {
  readonly attributes: RequestAttributes;
  readonly path: string | undefined;
  readonly #spaceDelimited: ReadonlySet<string>;
  #peer: Lazy<Peer | undefined> = UNSET;
  #sourceIp: Lazy<Address | undefined> = UNSET;
  #remoteIp: Lazy<Address | undefined> = UNSET;
  #destinationIp: Lazy<Address | undefined> = UNSET;
  #method: Lazy<string | undefined> = UNSET;
  #host: Lazy<string | undefined> = UNSET;
  #issuerSubject: Lazy<IssuerSubject | undefined> = UNSET;

  /** `path` overrides attributes.path (the evaluation without path parameters uses it). */
  constructor(attributes: RequestAttributes, spaceDelimited: ReadonlySet<string>, path?: string) {
    this.attributes = attributes;
    this.#spaceDelimited = spaceDelimited;
    this.path = nonEmpty(stripQuery(path ?? attributes.path));
  }

  principal(): string | undefined {
    return nonEmpty(this.attributes.sourcePrincipal);
  }

  peer(): Peer | undefined {
    if (this.#peer === UNSET) this.#peer = parsePeer(this.principal(), nonEmpty(this.attributes.sourceNamespace));
    return this.#peer;
  }

  /** The namespace of a workload principal wins over attributes.sourceNamespace, so the two can never disagree. */
  namespace(): string | undefined {
    const peer = this.peer();
    return peer === undefined ? nonEmpty(this.attributes.sourceNamespace) : peer.namespace;
  }

  sourceIp(): Address | undefined {
    if (this.#sourceIp === UNSET) this.#sourceIp = address(this.attributes.sourceIp);
    return this.#sourceIp;
  }

  /** The original client address; the peer address when the proxy has none. */
  remoteIp(): Address | undefined {
    if (this.#remoteIp === UNSET) this.#remoteIp = nonEmpty(this.attributes.remoteIp) === undefined ? this.sourceIp() : address(this.attributes.remoteIp);
    return this.#remoteIp;
  }

  destinationIp(): Address | undefined {
    if (this.#destinationIp === UNSET) this.#destinationIp = address(this.attributes.destinationIp);
    return this.#destinationIp;
  }

  /** Methods are matched case-sensitively against upper-case rules, so a request's method is canonicalized first (GHSA-w44g-8m76-8gc5). */
  method(): string | undefined {
    if (this.#method === UNSET) this.#method = nonEmpty(this.attributes.method)?.toUpperCase();
    return this.#method;
  }

  /** Hosts compare case-insensitively (CVE-2021-39155); the port stays part of the host. */
  host(): string | undefined {
    if (this.#host === UNSET) this.#host = nonEmpty(this.attributes.host)?.toLowerCase();
    return this.#host;
  }

  header(name: string): string | readonly string[] | undefined {
    return ownHeader(this.attributes.headers, name);
  }

  issuerSubject(): IssuerSubject | undefined {
    if (this.#issuerSubject === UNSET) this.#issuerSubject = issuerSubject(this.attributes);
    return this.#issuerSubject;
  }

  /** A claim by its path (`[a][b]` -> ['a', 'b']): a string, the strings of a list, or undefined. */
  claim(path: readonly string[]): string | readonly string[] | undefined {
    let v: unknown = this.attributes.jwt?.claims;
    for (const key of path) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
      v = (v as Record<string, unknown>)[key];
    }
    if (typeof v === 'string') {
      return path.length === 1 && this.#spaceDelimited.has(path[0]!) ? v.split(' ').filter((s) => s !== '') : v;
    }
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
    return undefined;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function stripQuery(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  const end = q === -1 ? h : h === -1 ? q : Math.min(q, h);
  return end === -1 ? path : path.slice(0, end);
}

function address(text: string | undefined): Address | undefined {
  return text === undefined || text === '' ? undefined : parseAddress(text);
}

/** Splits `<td>/ns/<ns>/sa/<sa>` without allocating more than the parts (this runs per request). */
function parsePeer(principal: string | undefined, namespace: string | undefined): Peer | undefined {
  if (principal === undefined) return undefined;
  const s1 = principal.indexOf('/');
  const trustDomain = s1 === -1 ? principal : principal.slice(0, s1);
  if (s1 > 0 && principal.startsWith('ns/', s1 + 1)) {
    const s2 = principal.indexOf('/', s1 + 4);
    if (s2 > s1 + 4 && principal.startsWith('sa/', s2 + 1) && principal.length > s2 + 4 && principal.indexOf('/', s2 + 4) === -1) {
      const ns = principal.slice(s1 + 4, s2);
      return { trustDomain, namespace: ns, serviceAccount: `${ns}/${principal.slice(s2 + 4)}`, workloadKey: principal.slice(s1 + 4) };
    }
  }
  return { trustDomain, namespace, serviceAccount: undefined, workloadKey: undefined };
}

function issuerSubject(a: RequestAttributes): IssuerSubject | undefined {
  const jwt = a.jwt;
  if (jwt === undefined) return undefined;
  const { iss, sub } = jwt.claims;
  if (typeof iss === 'string' && typeof sub === 'string') return { iss, sub };
  const slash = jwt.principal.lastIndexOf('/');
  if (slash === -1) return undefined;
  return { iss: jwt.principal.slice(0, slash), sub: jwt.principal.slice(slash + 1) };
}
