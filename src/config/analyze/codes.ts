// The catalogue of `weft analyze` codes. A code never changes meaning; a retired lint keeps its
// number unused. docs/analyze.md has one section per code (a test keeps the two in step).
import type { Severity } from './types.js';

export interface LintCode {
  readonly code: string;
  readonly severity: Severity;
  /** What the finding says, in a few words. */
  readonly title: string;
  /** True when the lint reads the registered workloads (skipped offline). */
  readonly needsRegistry: boolean;
}

export const LINT_CODES = [
  { code: 'WA000', severity: 'info', title: 'offline: registry lints skipped', needsRegistry: false },
  { code: 'WA001', severity: 'warning', title: 'selector matches no registered workload', needsRegistry: true },
  { code: 'WA002', severity: 'warning', title: 'PERMISSIVE or DISABLE in force', needsRegistry: false },
  { code: 'WA003', severity: 'warning', title: 'HTTP-only rule on TCP-only ports', needsRegistry: true },
  { code: 'WA004', severity: 'warning', title: 'ALLOW rule shadowed by a DENY rule', needsRegistry: false },
  { code: 'WA005', severity: 'warning', title: 'principal outside the trust domain', needsRegistry: false },
  { code: 'WA006', severity: 'warning', title: 'subset no endpoint of the host has', needsRegistry: true },
  { code: 'WA007', severity: 'warning', title: 'CUSTOM provider unusable, fails closed', needsRegistry: false },
  { code: 'WA008', severity: 'info', title: 'allow-nothing policy', needsRegistry: false },
  { code: 'WA009', severity: 'warning', title: 'RequestAuthentication without a policy requiring a token', needsRegistry: false },
  { code: 'WA010', severity: 'info', title: 'accepted, not enforced', needsRegistry: false },
  { code: 'WA011', severity: 'warning', title: 'host neither a registered service nor a ServiceEntry host', needsRegistry: true },
  { code: 'WA012', severity: 'warning', title: 'PeerAuthentication ignored', needsRegistry: false },
  { code: 'WA013', severity: 'info', title: 'DENY rule redundant', needsRegistry: false },
  { code: 'WA014', severity: 'warning', title: 'source that can never match', needsRegistry: false },
  { code: 'WA015', severity: 'warning', title: 'principal no workload identity can have', needsRegistry: false },
  { code: 'WA016', severity: 'warning', title: 'path rule under NONE or BASE normalization', needsRegistry: false },
  { code: 'WA017', severity: 'warning', title: 'several VirtualServices for one host', needsRegistry: false },
  { code: 'WA018', severity: 'warning', title: 'subset no DestinationRule defines', needsRegistry: false },
  { code: 'WA019', severity: 'warning', title: 'delegate that cannot be applied', needsRegistry: false },
] as const satisfies readonly LintCode[];

export type LintCodeName = (typeof LINT_CODES)[number]['code'];

const BY_CODE = new Map<string, LintCode>(LINT_CODES.map((c) => [c.code, c]));

/** The severity a code always has. */
export function severityOf(code: LintCodeName): Severity {
  return BY_CODE.get(code)!.severity;
}
