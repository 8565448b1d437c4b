// WA016: a path rule in force under a normalization too weak for it. Under BASE a DENY on
// `/api/admin` does not stop `/api//admin`, which most application routers serve as `/api/admin`;
// under NONE not even `/api/./admin` or `/x/../api/admin` is caught. An ALLOW on paths (or with
// notPaths) has the mirror problem: a spelling the rule never saw decides the request.
import { formatPath } from '../../path.js';
import { finding, isDryRun, targetsRefs, type Context } from '../context.js';
import type { Finding } from '../types.js';

const WEAK: Record<string, string> = {
  NONE: 'paths are matched as sent, so `/api/./admin`, `/x/../api/admin`, `/api/%61dmin` and `/api//admin` are not `/api/admin`',
  BASE: '`/api//admin` is not `/api/admin` to the policy, yet most application routers serve it as `/api/admin`',
};

export function weakPathNormalization(ctx: Context): Finding[] {
  const mode = ctx.input.mesh.pathNormalization.normalization;
  const why = WEAK[mode];
  if (why === undefined) return [];
  const out: Finding[] = [];
  for (const p of ctx.policies) {
    const action = p.spec.action ?? 'ALLOW';
    if ((action !== 'ALLOW' && action !== 'DENY') || isDryRun(p) || targetsRefs(p)) continue;
    const field = firstPathField(p.spec.rules ?? []);
    if (field === undefined) continue;
    const effect = action === 'DENY' ? 'a request the rule means to deny can reach the application under another spelling' : 'a spelling of a path the rule does not name can decide whether the request is allowed';
    out.push(finding('WA016', p, `${action} rule on paths under MeshConfig pathNormalization ${mode}: ${why}; ${effect}. Set it to MERGE_SLASHES (weft's default) or DECODE_AND_MERGE_SLASHES`, field));
  }
  return out;
}

function firstPathField(rules: readonly { to?: readonly { operation: { paths?: readonly string[]; notPaths?: readonly string[] } }[] }[]): string | undefined {
  for (const [i, rule] of rules.entries()) {
    for (const [j, to] of (rule.to ?? []).entries()) {
      for (const f of ['paths', 'notPaths'] as const) {
        if ((to.operation[f] ?? []).length > 0) return formatPath(['spec', 'rules', i, 'to', j, 'operation', f]);
      }
    }
  }
  return undefined;
}
