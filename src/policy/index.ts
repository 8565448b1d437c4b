// The policy engine: pure Istio security semantics over plain data. Compile a snapshot once per
// workload, then evaluate each request; explain renders a decision.
export type { JwtAttributes, RequestAttributes } from './attributes.js';
export { compilePolicies, type AuthzAction, type CompiledPolicies, type CompiledPolicy, type CompileInput, type ConsideredPolicy } from './compile.js';
export type { CompileProblem } from './compile-rule.js';
export { applyCustomResult, evaluate, withoutPathParameters, type CustomCheck, type CustomResult, type ConditionReport, type Decision, type DecisionReason, type DryRunResult, type RuleMatch } from './evaluate.js';
export { decisionToJson, describeCondition, explainDecision, explainMtls, type DecisionJson } from './explain.js';
export { normalizePath, type NormalizedPath, type NormalizeOptions, type PathNormalization, type PathRejection } from './normalize-path.js';
export { resolveMtlsMode } from './resolve-mtls.js';
export type { MtlsMode, MtlsResolution, PeerAuthenticationLevel, PeerAuthenticationLevels, PolicyRef } from './peer-authentication.js';
export { selectionOf, type Workload } from './select-workload.js';
export { expandPrincipal, trustDomainSet } from './trust-domains.js';
export { cidrMatcher, parseAddress } from './ip-match.js';
export { decidedHeaderView, isSidecarOwnedHeader, SIDECAR_OWNED_HEADERS, SIDECAR_OWNED_PREFIXES } from './owned-headers.js';
export { FIELD_JOINER } from './compile-rule.js';
export * from './ext-authz/index.js';
