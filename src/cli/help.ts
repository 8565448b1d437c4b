// The finishing pass over the command tree that makes every `--help` read like kubectl's and
// istioctl's: defaults in the form they are typed (a duration as 87600h, an address as
// 127.0.0.1:15012), required flags marked, and one example per command.
import type { Command, Option } from 'commander';

/** One example per command, keyed by its path under `weft`. */
export const EXAMPLES: Readonly<Record<string, string>> = {
  '': 'weft up',
  up: 'weft up --data-dir ./.weft',
  ca: 'weft ca init --trust-domain cluster.local',
  'ca init': 'weft ca init --trust-domain cluster.local',
  'ca show': 'weft ca show --bundle > bundle.pem',
  'ca mint': 'weft ca mint --spiffe-id spiffe://cluster.local/ns/ops/sa/backup --ttl 1h --out ./backup-svid',
  'ca revoke': 'weft ca revoke --spiffe-id spiffe://cluster.local/ns/ops/sa/backup',
  token: 'weft token create -n default --service-account details --ttl 24h --out details.token',
  'token create': 'weft token create -n default --service-account details --ttl 24h --out details.token',
  'token list': 'weft token list -o json',
  'token revoke': 'weft token revoke TOKEN_ID',
  cert: 'weft cert inspect ./backup-svid/svid.pem',
  'cert inspect': 'weft cert inspect ./backup-svid/svid.pem --bundle ./backup-svid/bundle.pem',
  'control-plane': 'weft control-plane --data-dir ./.weft --listen 127.0.0.1:15012 --admin 127.0.0.1:15000',
  sidecar:
    'weft sidecar --control-plane 127.0.0.1:15012 --token-file details.token --namespace default --service details --inbound 127.0.0.1:15006 --app 127.0.0.1:9080 --outbound 127.0.0.1:15001 --state-dir ./.weft/sidecars/details',
  apply: 'weft apply -f examples/policies/ --dry-run',
  get: 'weft get authorizationpolicies -A -o wide',
  delete: 'weft delete ap allow-nothing -n default',
  analyze: 'weft analyze -f examples/policies/',
  authz: 'weft authz check --to details.default --from-principal cluster.local/ns/default/sa/productpage --path /',
  'authz check': 'weft authz check --to details.default --from-principal cluster.local/ns/default/sa/productpage --method GET --path /',
  status: 'weft status -o json',
  'proxy-status': 'weft proxy-status -o yaml',
  'proxy-config': 'weft proxy-config clusters details -o json',
};

/** Applies the conventions to `program` and every command under it. */
export function finishHelp(program: Command): void {
  const visit = (cmd: Command, path: string) => {
    for (const option of cmd.options) describeDefault(option);
    const example = EXAMPLES[path];
    if (example !== undefined) cmd.addHelpText('after', `\nExample:\n  ${example}`);
    for (const sub of cmd.commands) visit(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  visit(program, '');
}

/** Every command path under `program`, the root as ''. */
export function commandPaths(program: Command): string[] {
  const out: string[] = [];
  const visit = (cmd: Command, path: string) => {
    out.push(path);
    for (const sub of cmd.commands) visit(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  visit(program, '');
  return out;
}

function describeDefault(option: Option): void {
  if (option.mandatory && !/\(required\)/.test(option.description)) option.description = `${option.description} (required)`;
  if (option.defaultValueDescription !== undefined || option.defaultValue === undefined) return;
  const value: unknown = option.defaultValue;
  if (typeof value === 'number' && option.flags.includes('<duration>')) option.defaultValueDescription = goDuration(value);
  else if (typeof value === 'number') option.defaultValueDescription = String(value);
  else if (isHostPort(value)) option.defaultValueDescription = value.host.includes(':') ? `[${value.host}]:${value.port}` : `${value.host}:${value.port}`;
  else if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) option.defaultValueDescription = 'none';
}

function isHostPort(v: unknown): v is { host: string; port: number } {
  return typeof v === 'object' && v !== null && typeof (v as { host?: unknown }).host === 'string' && typeof (v as { port?: unknown }).port === 'number';
}

/** A duration as Go's time.Duration prints it, hours the largest unit (87600h, 1h30m, 15s), as kubectl and istioctl show defaults. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]];
  let rest = ms;
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
