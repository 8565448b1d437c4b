// The admin API's operations over the control plane's parts: the configuration store, the
// registry and the snapshot publisher. Every change is validated first as a whole (one bad
// document changes nothing), then written to the store in one step, then audited.
import { key as keyOf, parseResources, unenforcedFields, type ChangeSet, type ConfigStore, type Issue, type Resource } from '../../config/index.js';
import { ConfigValidationError } from '../../config/index.js';
import type { AdminPrincipal } from './auth.js';
import { principalName } from './auth.js';
import { AdminError } from './errors.js';
import type { ResourceSource } from './routes.js';

/** The store operations the admin API needs. */
export type AdminStore = Pick<ConfigStore, 'list' | 'get' | 'apply' | 'delete'>;

/** Validates every source; all resources, or every issue of every source. */
export function parseSources(sources: readonly ResourceSource[]): { resources: Resource[]; expected: Map<string, string> } {
  const resources: Resource[] = [];
  const issues: Issue[] = [];
  const expected = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const source of sources) {
    const parsed = parseResources(source.text, source.file, {
      onServerMetadata: (k, meta) => {
        if (typeof meta.resourceVersion === 'string') expected.set(k, meta.resourceVersion);
      },
    });
    if (!parsed.ok) {
      issues.push(...parsed.issues);
      continue;
    }
    for (const r of parsed.value) {
      const k = keyOf(r);
      const first = seen.get(k);
      if (first !== undefined) {
        issues.push({ file: source.file, line: 1, column: 1, path: 'metadata.name', message: `duplicate resource ${k}: also defined in ${first}`, code: 'WEFT_CONFIG_DUPLICATE_RESOURCE' });
      }
      seen.set(k, source.file);
      resources.push(r);
    }
  }
  if (issues.length > 0) throw new ConfigValidationError(issues);
  if (resources.length === 0) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'no resources in the input');
  return { resources, expected };
}

export function unenforcedReport(resources: readonly Resource[]): { key: string; path: string; reason: string }[] {
  return resources.flatMap((r) => unenforcedFields(r).map((u) => ({ key: keyOf(r), path: u.path, reason: u.reason })));
}

/** Writes an audit line per change: who, what, before and after. */
export function auditChanges(audit: (entry: Record<string, unknown>) => void, who: AdminPrincipal, change: ChangeSet, event: string): void {
  for (const r of change.results) {
    if (r.action === 'unchanged') continue;
    audit({ event, action: r.action, who: principalName(who), resource: r.key, revision: change.revision, before: r.before ?? null, after: r.after ?? null });
  }
}
