// `weft apply`, `weft get`, `weft delete`: kubectl-like commands over the admin API.
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { formatIssue, key as keyOf, parseResources, toYaml, withoutServerMetadata, type Issue, type ResourceKind, type StoredResource } from '../../config/index.js';
import { AdminError } from '../../controlplane/admin/errors.js';
import { systemClock } from '../../lib/clock.js';
import { AdminClient, loadAdminConfig } from '../admin/client.js';
import { displayName, resolveKind } from '../admin/kinds.js';
import { readSources } from '../admin/sources.js';
import { getRegistry, registryKind } from './registry-get.js';
import { EXIT, formatOption, printJson, printTable, UsageError } from '../output.js';

interface ApplyResult {
  readonly key: string;
  readonly action: 'created' | 'configured' | 'unchanged' | 'deleted';
  readonly before?: StoredResource;
  readonly after?: StoredResource;
}
interface ApplyResponse {
  readonly revision: number;
  readonly dryRun: boolean;
  readonly results: readonly ApplyResult[];
  readonly unenforced?: readonly { key: string; path: string; reason: string }[];
}

const configOption = ['--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)'] as const;

export function client(configFlag: string | undefined): AdminClient {
  return new AdminClient(loadAdminConfig(configFlag));
}

/** Prints validation issues the admin API returned (file:line:column: field: reason) and rethrows. */
export function reportIssues(err: unknown): never {
  const issues = ((err as AdminError).details?.error as { issues?: Issue[] } | undefined)?.issues;
  if (err instanceof AdminError && Array.isArray(issues)) {
    for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
    throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `refused: ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was changed`);
  }
  throw err;
}

function nameOf(key: string): { kind: ResourceKind; name: string } {
  const parts = key.split('/');
  return { kind: parts[0] as ResourceKind, name: parts[parts.length - 1]! };
}

function printDiff(r: ApplyResult): void {
  const before = r.before ? toYaml([withoutServerMetadata(r.before)]) : '';
  const after = r.after ? toYaml([withoutServerMetadata(r.after)]) : '';
  if (before === after) return;
  process.stdout.write(createTwoFilesPatch(`${r.key} (live)`, `${r.key} (applied)`, before, after, '', '', { context: 3 }).split('\n').slice(1).join('\n'));
}

export function registerResourceCommands(program: Command): void {
  program
    .command('apply')
    .description('create or update resources from YAML/JSON (all or nothing); prints created / configured / unchanged per resource')
    .requiredOption('-f, --filename <path...>', 'file, directory (its .yaml/.yml/.json files) or - for stdin')
    .option('--dry-run', 'validate and show the diff; change nothing')
    .option(...configOption)
    .action(async (opts: { filename: string[]; dryRun?: boolean; config?: string }) => {
      const sources = readSources(opts.filename);
      const res = await client(opts.config).call<ApplyResponse>('POST', '/v1/apply', { sources, dryRun: opts.dryRun === true }).catch(reportIssues);
      const suffix = res.dryRun ? ' (dry run)' : '';
      for (const r of res.results) {
        const { kind, name } = nameOf(r.key);
        if (res.dryRun && r.action !== 'unchanged') printDiff(r);
        process.stdout.write(`${displayName(kind, name)} ${r.action}${suffix}\n`);
      }
      for (const u of res.unenforced ?? []) process.stdout.write(`${u.key}: ${u.path}: accepted, not enforced: ${u.reason}\n`);
    });

  program
    .command('get')
    .description('list resources, or show one; `get services` and `get endpoints` list the service registry')
    .argument('<kind>', 'kind, plural or short name (ap, pa, ra, dr, vs, gw, se, mc), or the registry: services (svc), endpoints (ep)')
    .argument('[name]', 'one resource by name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-o, --output <format>', 'yaml, json or wide', formatOption('yaml', 'json', 'wide'))
    .option(...configOption)
    .action(async (kindArg: string, name: string | undefined, opts: { namespace: string; allNamespaces?: boolean; output?: string; config?: string }) => {
      const registry = registryKind(kindArg);
      if (registry !== undefined) return getRegistry(registry, name, opts);
      const info = resolveKind(kindArg);
      if (name !== undefined && opts.allNamespaces) throw new UsageError('a name and -A do not go together');
      const api = client(opts.config);
      let items: StoredResource[];
      if (name !== undefined) {
        const k = info.namespaced ? `${info.kind}/${opts.namespace}/${name}` : `${info.kind}/${name}`;
        items = [await api.call<StoredResource>('GET', `/v1/resources/${k.split('/').map(encodeURIComponent).join('/')}`)];
      } else {
        const q = new URLSearchParams({ kind: info.kind });
        if (info.namespaced && !opts.allNamespaces) q.set('namespace', opts.namespace);
        items = (await api.call<{ items: StoredResource[] }>('GET', `/v1/resources?${q}`)).items;
      }
      if (opts.output === 'yaml') return void process.stdout.write(items.length === 0 ? '' : toYaml(items));
      if (opts.output === 'json') return printJson(name !== undefined ? items[0] : { apiVersion: 'v1', kind: 'List', items });
      if (items.length === 0) {
        process.stderr.write(`No resources found${info.namespaced && !opts.allNamespaces ? ` in ${opts.namespace} namespace` : ''}.\n`);
        return;
      }
      printResourceTable(items, { namespaces: opts.allNamespaces === true && info.namespaced, wide: opts.output === 'wide' });
    });

  program
    .command('delete')
    .description('delete resources named in files, or one by kind and name (all or nothing)')
    .argument('[kind]', 'kind, plural or short name')
    .argument('[name]', 'name of the resource')
    .option('-f, --filename <path...>', 'delete every resource these files define')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--dry-run', 'show what would be deleted; change nothing')
    .option('--ignore-not-found', 'skip resources that do not exist instead of refusing the whole delete')
    .option(...configOption)
    .action(async (kindArg: string | undefined, name: string | undefined, opts: { filename?: string[]; namespace: string; dryRun?: boolean; ignoreNotFound?: boolean; config?: string }) => {
      let keys: string[];
      if (opts.filename) {
        if (kindArg !== undefined) throw new UsageError('give either -f FILE or KIND NAME, not both');
        keys = [];
        for (const source of readSources(opts.filename)) {
          const parsed = parseResources(source.text, source.file);
          if (!parsed.ok) {
            for (const issue of parsed.issues) process.stderr.write(`${formatIssue(issue)}\n`);
            process.exitCode = EXIT.refused;
            return;
          }
          keys.push(...parsed.value.map(keyOf));
        }
      } else {
        if (kindArg === undefined || name === undefined) throw new UsageError('give KIND NAME (with -n NAMESPACE) or -f FILE');
        const info = resolveKind(kindArg);
        keys = [info.namespaced ? `${info.kind}/${opts.namespace}/${name}` : `${info.kind}/${name}`];
      }
      const api = client(opts.config);
      if (opts.ignoreNotFound) {
        const existing = new Set((await api.call<{ items: StoredResource[] }>('GET', '/v1/resources')).items.map(keyOf));
        keys = keys.filter((k) => existing.has(k));
        if (keys.length === 0) return;
      }
      const res = await api.call<ApplyResponse>('POST', '/v1/delete', { keys, dryRun: opts.dryRun === true });
      for (const r of res.results) {
        const { kind, name: n } = nameOf(r.key);
        process.stdout.write(`${displayName(kind, n)} deleted${res.dryRun ? ' (dry run)' : ''}\n`);
      }
    });
}

function age(created: string): string {
  const s = Math.max(0, Math.floor((systemClock.now() - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** The columns `kubectl get` shows for Istio's kinds. */
function columnsOf(r: StoredResource): [string[], string[]] {
  const spec = r.spec as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v.join(',') : '');
  switch (r.kind) {
    case 'AuthorizationPolicy':
      return [['ACTION'], [String(spec.action ?? 'ALLOW')]];
    case 'PeerAuthentication':
      return [['MODE'], [String((spec.mtls as { mode?: string } | undefined)?.mode ?? 'UNSET')]];
    case 'DestinationRule':
      return [['HOST'], [String(spec.host)]];
    case 'VirtualService':
      return [['GATEWAYS', 'HOSTS'], [list(spec.gateways), list(spec.hosts)]];
    case 'ServiceEntry':
      return [['HOSTS', 'LOCATION', 'RESOLUTION'], [list(spec.hosts), String(spec.location ?? ''), String(spec.resolution ?? '')]];
    default:
      return [[], []];
  }
}

function printResourceTable(items: readonly StoredResource[], opts: { namespaces: boolean; wide: boolean }): void {
  const [extraHeaders] = columnsOf(items[0]!);
  const headers = [...(opts.namespaces ? ['NAMESPACE'] : []), 'NAME', ...extraHeaders, 'AGE', ...(opts.wide ? ['RESOURCE VERSION', 'GENERATION'] : [])];
  const rows = items.map((r) => [
    ...(opts.namespaces ? [r.metadata.namespace ?? ''] : []),
    r.metadata.name,
    ...columnsOf(r)[1],
    age(r.metadata.creationTimestamp),
    ...(opts.wide ? [r.metadata.resourceVersion, String(r.metadata.generation)] : []),
  ]);
  printTable(headers, rows);
}
