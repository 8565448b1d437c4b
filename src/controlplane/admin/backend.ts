// The control plane's implementation of the admin API.
import type { Resource, StoredResource } from '../../config/index.js';
import { AdminError } from './errors.js';
import { principalName, type AdminPrincipal } from './auth.js';
import type { AdminBackend, ResourceSource } from './routes.js';
import { auditChanges, parseSources, unenforcedReport, type AdminStore } from './service.js';
import type { AdminToken } from './token.js';

export interface AdminContext {
  readonly store: AdminStore;
  /** Refuses (throws) a valid input the mesh cannot take, before anything changes. */
  checkResources?(resources: readonly Resource[]): void;
  readonly token: AdminToken;
  ready(): boolean;
  verifySvid(chain: readonly Buffer[]): string;
  adminIdentities(): readonly string[];
  status(): unknown;
  /** The service registry: every service with its registered endpoints (read-only). */
  services?(): readonly { namespace: string }[];
  analyze(overlay: readonly StoredResource[] | undefined, sources: readonly ResourceSource[]): Promise<unknown>;
  authzCheck(body: Record<string, unknown>): Promise<unknown>;
  /** `weft ca revoke`: revokes serials or an identity's SVIDs; `by` names the admin principal. */
  revoke(body: { serials?: string[]; spiffeId?: string }, by: string): unknown;
  audit(entry: Record<string, unknown>): void;
}

export function adminBackend(ctx: AdminContext): AdminBackend {
  return {
    token: ctx.token,
    ready: () => ctx.ready(),
    verifySvid: (chain) => ctx.verifySvid(chain),
    adminIdentities: () => ctx.adminIdentities(),

    async list(filter) {
      const items = await ctx.store.list(filter);
      return { items };
    },

    async get(key) {
      const found = await ctx.store.get(key);
      if (!found) throw new AdminError('WEFT_ADMIN_NOT_FOUND', `${key} not found`);
      return found;
    },

    async apply(who: AdminPrincipal, body) {
      const { resources, expected } = parseSources(body.sources);
      ctx.checkResources?.(resources);
      const change = await ctx.store.apply(resources, { dryRun: body.dryRun, expectedResourceVersions: expected });
      if (!body.dryRun) auditChanges((e) => ctx.audit(e), who, change, 'config.applied');
      return { revision: change.revision, dryRun: body.dryRun, results: change.results, unenforced: unenforcedReport(resources) };
    },

    async delete(who: AdminPrincipal, body) {
      const change = await ctx.store.delete(body.keys, { dryRun: body.dryRun, expectedResourceVersions: new Map(Object.entries(body.resourceVersions)) });
      if (!body.dryRun) auditChanges((e) => ctx.audit(e), who, change, 'config.deleted');
      return { revision: change.revision, dryRun: body.dryRun, results: change.results };
    },

    async status() {
      return ctx.status();
    },

    async services(filter) {
      const all = ctx.services?.() ?? [];
      return { services: filter.namespace === undefined ? all : all.filter((s) => s.namespace === filter.namespace) };
    },

    async analyze(body) {
      return ctx.analyze(undefined, body.sources);
    },

    async authzCheck(body) {
      return ctx.authzCheck(body);
    },

    async revoke(who: AdminPrincipal, body) {
      return ctx.revoke(body, principalName(who));
    },
  };
}
