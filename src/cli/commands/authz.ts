// `weft authz check`: explains what the sidecars of a service decide for one request.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatOption, printJson, UsageError } from '../output.js';
import { client } from './resources.js';

interface CheckFlags {
  to: string;
  port?: number;
  fromPrincipal?: string;
  fromPlaintext?: boolean;
  sourceIp?: string;
  jwt?: string;
  method: string;
  path: string;
  header: Record<string, string | string[]>;
  output?: string;
  config?: string;
}

interface WorkloadAnswer {
  labels: Record<string, string>;
  mtls: string;
  refusedAtConnection?: string;
  ignoredHeaders?: string[];
  decision: 'allow' | 'deny';
  explanation: string[];
}

/** A name given twice is a header sent twice: the list of its values, matched as the sidecar does. */
function headerOption(value: string, previous: Record<string, string | string[]>): Record<string, string | string[]> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`"${value}" is not name=value`);
  const name = value.slice(0, eq).toLowerCase();
  const before = previous[name];
  const v = value.slice(eq + 1);
  return { ...previous, [name]: before === undefined ? v : [...(typeof before === 'string' ? [before] : before), v] };
}

export function registerAuthzCommands(program: Command): void {
  const authz = program.command('authz').description('authorization: explain decisions');
  authz
    .command('check')
    .description('evaluate one request against the live configuration with the sidecars\' own policy engine: the decision, the policy and rule that decided, and for a denial the condition that failed')
    .requiredOption('--to <service.namespace>', 'the service called')
    .option('--port <port>', 'the service port called', (v) => Number(v))
    .option('--from-principal <id>', 'the caller\'s identity (cluster.local/ns/NS/sa/SA or spiffe://...)')
    .option('--from-plaintext', 'the caller speaks plaintext (no principal)')
    .option('--source-ip <ip>', 'the caller\'s address')
    .option('--jwt <token>', 'a JWT the request carries (its claims are read, not verified: the check shows what a valid token gets)')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--path <path>', 'request path (normalized as MeshConfig says before matching)', '/')
    .option('--header <name=value>', 'a request header (repeatable; a name given twice is a header sent twice)', headerOption, {})
    .option('-o, --output <format>', 'json', formatOption('json'))
    .option('--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)')
    .addHelpText('after', '\nExit code 0 when every workload of the service allows the request, 1 when any denies it.')
    .action(async (flags: CheckFlags) => {
      if ((flags.fromPrincipal === undefined) === (flags.fromPlaintext !== true)) throw new UsageError('give exactly one of --from-principal ID or --from-plaintext');
      const res = await client(flags.config).call<{ to: string; path?: string; rejected?: { status: number; reason: string }; workloads?: WorkloadAnswer[] }>('POST', '/v1/authz/check', {
        to: flags.to,
        ...(flags.port === undefined ? {} : { port: flags.port }),
        ...(flags.fromPrincipal === undefined ? { fromPlaintext: true } : { fromPrincipal: flags.fromPrincipal }),
        ...(flags.sourceIp === undefined ? {} : { sourceIp: flags.sourceIp }),
        ...(flags.jwt === undefined ? {} : { jwt: flags.jwt }),
        method: flags.method,
        path: flags.path,
        headers: flags.header,
      });
      const denied = res.rejected !== undefined || (res.workloads ?? []).some((w) => w.decision === 'deny');
      if (flags.output === 'json') printJson(res);
      else if (res.rejected) process.stdout.write(`DENY: the path is refused before authorization (${res.rejected.status}): ${res.rejected.reason}\n`);
      else {
        for (const w of res.workloads ?? []) {
          const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',');
          process.stdout.write(`${res.to} (${labels || 'no labels'}): ${w.decision.toUpperCase()}\n  ${w.mtls}\n`);
          if (w.refusedAtConnection) process.stdout.write(`  ${w.refusedAtConnection}\n`);
          if (w.ignoredHeaders) process.stdout.write(`  ignored (set by the sidecar, never the client's): ${w.ignoredHeaders.join(', ')}\n`);
          for (const line of w.explanation) process.stdout.write(`  ${line}\n`);
        }
      }
      if (denied) process.exitCode = 1;
    });
}
