// `weft analyze`: lints over the configuration and, when a control plane is at hand, the
// registered workloads. Pure (no sockets, files or clock): the CLI and the admin API both call
// `analyze`. docs/analyze.md explains every code.
import { contextOf, finding, type Lint } from './context.js';
import { httpFieldsOnTcp } from './lints/tcp.js';
import { unknownHosts } from './lints/hosts.js';
import { peerAuthenticationLints } from './lints/mtls.js';
import { weakPathNormalization } from './lints/normalization.js';
import { allowNothing, customFailsClosed, notEnforced, tokenNotRequired } from './lints/policies.js';
import { principalLints } from './lints/principals.js';
import { brokenDelegates, conflictingVirtualServices, unknownSubsets } from './lints/routes.js';
import { selectorsMatchingNothing } from './lints/selectors.js';
import { shadowedRules } from './lints/shadowing.js';
import type { AnalyzeInput, Finding } from './types.js';

export type { AnalyzedPort, AnalyzedService, AnalyzedWorkload, AnalyzeInput, Finding, PortProtocol, Severity } from './types.js';
export { LINT_CODES, type LintCode, type LintCodeName } from './codes.js';

const CONFIG_LINTS: readonly Lint[] = [peerAuthenticationLints, shadowedRules, principalLints, customFailsClosed, allowNothing, tokenNotRequired, notEnforced, weakPathNormalization, conflictingVirtualServices, unknownSubsets, brokenDelegates];
const REGISTRY_LINTS: readonly Lint[] = [selectorsMatchingNothing, httpFieldsOnTcp, unknownHosts];

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Errors first, then warnings, then infos; within a severity by resource, field path, code, message. */
function byImportance(a: Finding, b: Finding): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || cmp(a.resource, b.resource) || cmp(a.path ?? '', b.path ?? '') || cmp(a.code, b.code) || cmp(a.message, b.message);
}

/**
 * Lints the configuration: what takes no effect, what is weaker than it looks, what weft accepts
 * without enforcing it. Every finding is certain from the input (a lint that cannot be sure stays
 * silent). With `workloads` undefined the lints that need the registry are skipped and one WA000
 * finding says so. The result is sorted and the same for the same input.
 * @example analyze({ resources, mesh: defaultMeshConfigSpec(), trustDomain: 'cluster.local', workloads: undefined })
 */
export function analyze(input: AnalyzeInput): Finding[] {
  const ctx = contextOf(input);
  const findings = CONFIG_LINTS.flatMap((lint) => lint(ctx));
  if (input.workloads === undefined) {
    findings.push(finding('WA000', 'mesh', 'no registry at hand (offline analysis): the lints that need the registered workloads (WA001, WA003, WA006, WA011) were skipped'));
  } else {
    findings.push(...REGISTRY_LINTS.flatMap((lint) => lint(ctx)));
  }
  return findings.sort(byImportance);
}
