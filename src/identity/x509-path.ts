// Certification path building and validation (RFC 5280 §6, as profiled by X509-SVID §4 and §5):
// leaf -> intermediates sent with it -> a root of the leaf's own trust domain bundle, with each
// signing certificate a CA (cA=true, keyCertSign), pathLenConstraint obeyed, no SPIFFE ID path on
// a signing certificate, and every validity window open at the checked instant.
import { KU_KEY_CERT_SIGN, namesChain, signatureVerifies, type CertFacts } from './certificate.js';
import { SvidError, type CertificateRef, type SvidErrorCode } from './errors.js';
import { parseSpiffeId } from './spiffe-id.js';

/** The most certificates a path may hold, leaf and root included. */
export const MAX_PATH_CERTIFICATES = 8;
/** Smallest RSA modulus weft accepts anywhere in a path (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;
/** Bound on complete candidate paths tried when intermediates could chain several ways. */
const MAX_CANDIDATE_PATHS = 32;

/** One certificate in a path, with where it came from. */
export interface PathNode {
  readonly facts: CertFacts;
  readonly role: 'leaf' | 'intermediate' | 'root';
  /** Index in the chain as given (leaf 0), or in the bundle for a root. */
  readonly index: number;
  /** The leaf's SPIFFE ID when it has one, for messages. */
  readonly spiffeId?: string;
}

/** How a certificate is named in messages: its SPIFFE ID or subject, and serial. */
export function labelOf(node: PathNode): string {
  const f = node.facts;
  const name = node.spiffeId ?? (f.subject === '' ? 'with an empty subject' : `"${f.subject}"`);
  return `${node.role} certificate ${name} (serial ${f.serial})`;
}

export function refOf(node: PathNode): CertificateRef {
  const f = node.facts;
  return { role: node.role, index: node.index, subject: f.subject, serial: f.serial, ...(node.spiffeId ? { spiffeId: node.spiffeId } : {}) };
}

export function problem(code: SvidErrorCode, node: PathNode, reason: string, cause?: unknown): SvidError {
  return new SvidError(code, `${labelOf(node)} ${reason}`, { certificate: refOf(node), ...(cause === undefined ? {} : { cause }) });
}

/** Validity window, key strength and unknown critical extensions: the checks every certificate gets. */
export function certificateProblems(node: PathNode, now: number): SvidError[] {
  const f = node.facts;
  const out: SvidError[] = [];
  if (now < f.notBefore.getTime()) out.push(problem('WEFT_SVID_NOT_YET_VALID', node, `is not valid until ${f.notBefore.toISOString()}`));
  if (now > f.notAfter.getTime()) out.push(problem('WEFT_SVID_EXPIRED', node, `expired at ${f.notAfter.toISOString()}`));
  if (f.rsaBits !== undefined && f.rsaBits < MIN_RSA_BITS) {
    out.push(problem('WEFT_SVID_WEAK_KEY', node, `has a ${f.rsaBits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`));
  }
  if (f.unknownCritical.length > 0) {
    // RFC 5280 §4.2: a certificate with a critical extension the validator does not process MUST be rejected.
    out.push(problem('WEFT_SVID_UNKNOWN_CRITICAL_EXTENSION', node, `has critical extensions weft does not process: ${f.unknownCritical.join(', ')}`));
  }
  return out;
}

/** The rules for a certificate that signs another one in the path (position `k`, leaf = 0). */
function signerProblems(node: PathNode, k: number, now: number): SvidError[] {
  const f = node.facts;
  const out: SvidError[] = [];
  const bc = f.basicConstraints;
  if (bc?.ca !== true) {
    out.push(problem('WEFT_SVID_SIGNER_NOT_CA', node, `signs another certificate of the path but is not a CA (basicConstraints cA is ${bc ? 'false' : 'absent'})`));
  }
  if (f.keyUsage === undefined || (f.keyUsage & KU_KEY_CERT_SIGN) === 0) {
    out.push(problem('WEFT_SVID_SIGNER_NO_KEY_CERT_SIGN', node, `signs another certificate of the path but its keyUsage ${f.keyUsage === undefined ? 'is absent' : 'lacks keyCertSign'}`));
  }
  if (bc?.ca === true && bc.pathLength !== undefined && k - 1 > bc.pathLength) {
    out.push(problem('WEFT_SVID_PATH_LEN', node, `allows ${bc.pathLength} intermediate CA${bc.pathLength === 1 ? '' : 's'} below it (pathLenConstraint) but the path has ${k - 1}`));
  }
  for (const uri of f.uris) {
    if (!/^spiffe:/i.test(uri)) continue;
    // X509-SVID §4.1: a signing certificate's SPIFFE ID "MUST NOT have a path component".
    try {
      if (parseSpiffeId(uri).path !== '') out.push(problem('WEFT_SVID_SIGNER_SPIFFE_ID', node, `carries the SPIFFE ID ${uri}, which has a path; a signing certificate's must not`));
    } catch (err) {
      out.push(problem('WEFT_SVID_SIGNER_SPIFFE_ID', node, `carries an invalid SPIFFE ID: ${(err as Error).message}`, err));
    }
  }
  out.push(...certificateProblems(node, now));
  return out;
}

/**
 * Builds the paths from `leaf` to one of `roots` through `intermediates` (depth first, trying every
 * way they chain, bounded) and returns the problems of the first path that has none, i.e. []; or of
 * the first complete path; or why no path exists.
 */
export function validatePath(leaf: PathNode, intermediates: readonly PathNode[], roots: readonly PathNode[], trustDomain: string, now: number): SvidError[] {
  if (roots.length === 0) {
    return [problem('WEFT_SVID_UNTRUSTED', leaf, `cannot be trusted: the bundle of ${trustDomain} has no X.509 authorities`)];
  }
  const search = new PathSearch(intermediates, roots);
  let first: SvidError[] | undefined;
  let tried = 0;
  for (const path of search.paths([leaf])) {
    const problems = path.slice(1).flatMap((node, i) => signerProblems(node, i + 1, now));
    if (problems.length === 0) return [];
    first ??= problems;
    if (++tried >= MAX_CANDIDATE_PATHS) break;
  }
  if (first) return first;
  if (search.tooLong) {
    return [problem('WEFT_SVID_CHAIN_TOO_LONG', leaf, `has no path to a root of ${trustDomain} within ${MAX_PATH_CERTIFICATES} certificates`)];
  }
  return [search.deadEndProblem(trustDomain)];
}

// === PathSearch ===

class PathSearch {
  readonly #intermediates: readonly PathNode[];
  readonly #roots: readonly PathNode[];
  readonly #rootPrints: Set<string>;
  readonly #issued = new Map<string, 'yes' | 'bad-signature' | 'no'>();
  #deadEnd: { node: PathNode; depth: number; badSignatureBy?: PathNode } | undefined;
  tooLong = false;

  constructor(intermediates: readonly PathNode[], roots: readonly PathNode[]) {
    this.#roots = roots;
    this.#rootPrints = new Set(roots.map((r) => r.facts.fingerprint));
    this.#intermediates = intermediates.filter((n) => !this.#rootPrints.has(n.facts.fingerprint));
  }

  *paths(path: readonly PathNode[]): Generator<PathNode[]> {
    const current = path[path.length - 1]!;
    let anyIssuer = false;
    let badSignatureBy: PathNode | undefined;
    for (const root of this.#roots) {
      const r = this.#issues(root, current);
      if (r === 'yes') {
        anyIssuer = true;
        yield [...path, root];
      } else if (r === 'bad-signature') badSignatureBy ??= root;
    }
    for (const next of this.#intermediates) {
      if (path.some((p) => p.facts.fingerprint === next.facts.fingerprint)) continue;
      const r = this.#issues(next, current);
      if (r === 'bad-signature') badSignatureBy ??= next;
      if (r !== 'yes') continue;
      anyIssuer = true;
      // Room is needed for this intermediate and a root after it.
      if (path.length + 2 > MAX_PATH_CERTIFICATES) {
        this.tooLong = true;
        continue;
      }
      yield* this.paths([...path, next]);
    }
    if (!anyIssuer && (this.#deadEnd === undefined || path.length > this.#deadEnd.depth)) {
      this.#deadEnd = { node: current, depth: path.length, ...(badSignatureBy ? { badSignatureBy } : {}) };
    }
  }

  #issues(parent: PathNode, child: PathNode): 'yes' | 'bad-signature' | 'no' {
    const key = `${parent.facts.fingerprint}>${child.facts.fingerprint}`;
    let r = this.#issued.get(key);
    if (r === undefined) {
      r = !namesChain(parent.facts, child.facts) ? 'no' : signatureVerifies(parent.facts, child.facts) ? 'yes' : 'bad-signature';
      this.#issued.set(key, r);
    }
    return r;
  }

  deadEndProblem(trustDomain: string): SvidError {
    const { node, badSignatureBy } = this.#deadEnd!;
    if (badSignatureBy) {
      return problem('WEFT_SVID_UNTRUSTED', node, `has a signature that does not verify with the key of ${labelOf(badSignatureBy)}`);
    }
    return problem(
      'WEFT_SVID_UNTRUSTED',
      node,
      `was issued by "${node.facts.issuer}", which is neither a root of the ${trustDomain} trust bundle nor an intermediate sent with the chain`,
    );
  }
}
