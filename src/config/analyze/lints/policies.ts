// Lints over single AuthorizationPolicies and RequestAuthentications, and the unenforced fields:
// WA007 (a CUSTOM policy whose provider weft cannot use fails closed), WA008 (allow-nothing), WA009 (a RequestAuthentication no policy
// backs with a token requirement), WA010 (accepted, not enforced).
import type { AuthorizationPolicy, RequestAuthentication, Rule } from '../../generated/types.js';
import type { StoredResource } from '../../stored.js';
import { unenforcedFields } from '../../unenforced.js';
import { ipBits } from '../../checks/network.js';
import { finding, isDryRun, matchLabelsOf, nameWorkloads, ofKind, selectedWorkloads, targetsRefs, type Context } from '../context.js';
import type { Finding } from '../types.js';

type AP = StoredResource<AuthorizationPolicy>;

const enforcedForSidecars = (p: AP) => !isDryRun(p) && !targetsRefs(p);

/** Why a provider's `service` is one weft cannot dial yet (it reaches providers at an IP address or localhost). */
function unreachable(service: string): boolean {
  const host = service.includes('/') ? service.slice(service.indexOf('/') + 1) : service;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return host !== 'localhost' && ipBits(bare) === undefined;
}

export function customFailsClosed(ctx: Context): Finding[] {
  return ctx.policies
    .filter((p) => p.spec.action === 'CUSTOM' && enforcedForSidecars(p))
    .flatMap((p) => {
      const name = p.spec.provider?.name ?? '';
      const provider = (ctx.input.mesh.extensionProviders ?? []).find((x) => x.name === name);
      if (provider === undefined) {
        return [finding('WA007', p, `action CUSTOM names provider ${JSON.stringify(name)}, which MeshConfig's extensionProviders does not define: every request its rules match is denied`, 'spec.provider.name')];
      }
      const service = (provider.envoyExtAuthzHttp ?? provider.envoyExtAuthzGrpc)?.service ?? '';
      if (!unreachable(service)) return [];
      return [finding('WA007', p, `action CUSTOM names provider ${JSON.stringify(name)}, whose service ${JSON.stringify(service)} is a host name; weft reaches providers only at an IP address or localhost for now, so every request its rules match is denied`, 'spec.provider.name')];
    });
}

export function allowNothing(ctx: Context): Finding[] {
  return ctx.policies
    .filter((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW' && (p.spec.rules ?? []).length === 0 && enforcedForSidecars(p))
    .map((p) => {
      const ns = p.metadata.namespace;
      const scope = matchLabelsOf(p) !== undefined ? 'the workloads it selects' : ns === ctx.rootNamespace ? 'every workload of the mesh' : `every workload of namespace ${ns}`;
      return finding('WA008', p, `an ALLOW policy without rules allows nothing: every request to ${scope} is denied unless another ALLOW policy matches it (allow-nothing, often the intended default-deny)`);
    });
}

/** True when the rule refuses requests without a token: ALLOW naming request principals or claims, DENY excluding them. */
function requiresToken(action: string, rule: Rule): boolean {
  const from = rule.from ?? [];
  const when = rule.when ?? [];
  if (action === 'ALLOW') return from.some((f) => f.source.requestPrincipals !== undefined) || when.some((c) => c.key.startsWith('request.auth.') && c.values !== undefined);
  if (action === 'DENY') return from.some((f) => f.source.notRequestPrincipals !== undefined) || when.some((c) => c.key.startsWith('request.auth.') && c.notValues !== undefined);
  return false;
}

/** Whether two selectors can pick one workload: no label key with two different values. */
function labelsCompatible(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(a ?? {}).every(([k, v]) => b?.[k] === undefined || b[k] === v);
}

export function tokenNotRequired(ctx: Context): Finding[] {
  const requiring = ctx.policies.filter((p) => enforcedForSidecars(p) && (p.spec.rules ?? []).some((r) => requiresToken(p.spec.action ?? 'ALLOW', r)));
  const out: Finding[] = [];
  for (const ra of ofKind<RequestAuthentication>(ctx.input, 'RequestAuthentication')) {
    if (targetsRefs(ra) || (ra.spec.jwtRules ?? []).length === 0) continue;
    let uncovered: string | undefined;
    if (ctx.input.workloads !== undefined) {
      const bare = selectedWorkloads(ctx, ra).filter((w) => !requiring.some((p) => selectedWorkloads(ctx, p).includes(w)));
      if (bare.length > 0) uncovered = `for ${nameWorkloads(bare)}`;
    } else {
      // Offline only the certain case: no requiring policy can apply to any workload this one applies to.
      const mayOverlap = (p: AP) => {
        const root = ctx.rootNamespace;
        const sameScope = p.metadata.namespace === root || ra.metadata.namespace === root || p.metadata.namespace === ra.metadata.namespace;
        return sameScope && labelsCompatible(matchLabelsOf(p), matchLabelsOf(ra));
      };
      if (!requiring.some(mayOverlap)) uncovered = 'for any workload it applies to';
    }
    if (uncovered === undefined) continue;
    out.push(finding('WA009', ra, `no AuthorizationPolicy requires a request principal ${uncovered}: a RequestAuthentication only refuses invalid tokens, so a request with no token at all passes (add an ALLOW rule with requestPrincipals: ["*"] or a DENY rule with notRequestPrincipals: ["*"])`));
  }
  return out;
}

export function notEnforced(ctx: Context): Finding[] {
  return ctx.input.resources.flatMap((r) => unenforcedFields(r).map((u) => finding('WA010', r, `accepted, not enforced: ${u.reason}`, u.path)));
}
