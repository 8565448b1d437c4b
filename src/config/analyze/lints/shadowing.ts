// WA004 (an ALLOW rule a DENY rule always beats) and WA013 (a DENY rule another DENY rule makes
// redundant). Istio evaluates DENY before ALLOW, so an ALLOW rule is shadowed when an enforced DENY
// policy applies to every workload the ALLOW policy applies to (whatever workloads exist) and one
// of its rules matches every request the ALLOW rule matches. Only certain cases are reported: the
// scope test is structural (same or root namespace, selector no narrower) and the rule test is
// field by field (rules.ts `subsumes`), so a shadowing that needs reasoning about values is missed,
// never invented. Dry-run and targetRef policies neither shadow nor are shadowed.
import type { AuthorizationPolicy } from '../../generated/types.js';
import { key } from '../../resources.js';
import type { StoredResource } from '../../stored.js';
import { finding, isDryRun, scopeCovers, targetsRefs, type Context } from '../context.js';
import { subsumes } from '../rules.js';
import type { Finding } from '../types.js';

type AP = StoredResource<AuthorizationPolicy>;

interface Placed {
  readonly policy: AP;
  readonly index: number;
}

const enforced = (p: AP, action: string) => (p.spec.action ?? 'ALLOW') === action && !isDryRun(p) && !targetsRefs(p);
const place = (x: Placed) => ({ rule: x.policy.spec.rules![x.index]!, namespace: x.policy.metadata.namespace });
const label = (x: Placed) => `rule ${x.index} of ${key(x.policy)}`;

function rulesOf(ps: readonly AP[]): Placed[] {
  return ps.flatMap((policy) => (policy.spec.rules ?? []).map((_, index) => ({ policy, index })));
}

/** The first DENY rule (in key order) that applies wherever `x` does and matches all `x` matches. */
function coveringDeny(ctx: Context, denies: readonly Placed[], x: Placed, skip: (d: Placed) => boolean): Placed | undefined {
  return denies.find((d) => !skip(d) && scopeCovers(ctx, d.policy, x.policy) && subsumes(place(d), place(x)));
}

export function shadowedRules(ctx: Context): Finding[] {
  const byKey = (a: Placed, b: Placed) => (key(a.policy) < key(b.policy) ? -1 : key(a.policy) > key(b.policy) ? 1 : a.index - b.index);
  const denies = rulesOf(ctx.policies.filter((p) => enforced(p, 'DENY'))).sort(byKey);
  const out: Finding[] = [];
  for (const allow of rulesOf(ctx.policies.filter((p) => enforced(p, 'ALLOW')))) {
    const by = coveringDeny(ctx, denies, allow, () => false);
    if (by === undefined) continue;
    out.push(finding('WA004', allow.policy, `rule ${allow.index} never allows anything: ${label(by)} applies to the same workloads and matches every request this rule matches, and DENY is evaluated before ALLOW`, `spec.rules[${allow.index}]`));
  }
  // Of two DENY rules that cover each other, the first in key order is kept and the other reported.
  for (const [pos, deny] of denies.entries()) {
    const later = (d: Placed) => d === deny || (denies.indexOf(d) > pos && scopeCovers(ctx, deny.policy, d.policy) && subsumes(place(deny), place(d)));
    const by = coveringDeny(ctx, denies, deny, later);
    if (by === undefined) continue;
    out.push(finding('WA013', deny.policy, `rule ${deny.index} is redundant: ${label(by)} applies to the same workloads and already denies every request this rule matches`, `spec.rules[${deny.index}]`));
  }
  return out;
}
