import type { Command } from 'commander';
import { JoinTokenStore } from '../../attest/index.js';
import { CertificateAuthority } from '../../ca/index.js';
import { parseDuration } from '../../lib/duration.js';
import { meshAdminIdentities } from './mesh-admins.js';
import { DEFAULT_DATA_DIR, durationOption, formatOption, isoTime, printFields, printJson, printTable } from '../output.js';

/** `weft token create|list|revoke`: join tokens a workload presents on first contact. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('join tokens: what a new workload presents to get its first SVID');

  token.command('create')
    .description('create a join token for one identity; prints the token alone on stdout')
    .requiredOption('-n, --namespace <ns>', 'namespace of the identity')
    .requiredOption('--service-account <sa>', 'service account of the identity')
    .option('--ttl <duration>', 'how long the token can be used', durationOption, parseDuration('24h'))
    .option('--once', 'the token can be used by one workload only')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .addHelpText('after', '\nThe token names spiffe://<trust domain>/ns/<ns>/sa/<sa> and pins the CA\'s root fingerprint.\nIt is a secret: store it like a password (a file with mode 0600).\nThe control plane\'s identity and MeshConfig\'s adminIdentities cannot be claimed with a token.')
    .action((opts: { namespace: string; serviceAccount: string; ttl: number; once?: boolean; dataDir: string }) => {
      const authority = CertificateAuthority.open(opts.dataDir);
      const created = JoinTokenStore.open(opts.dataDir).create({
        trustDomain: authority.trustDomain,
        namespace: opts.namespace,
        serviceAccount: opts.serviceAccount,
        ttlMs: opts.ttl,
        once: opts.once === true,
        caFingerprint: authority.rootFingerprint,
        adminIdentities: meshAdminIdentities(opts.dataDir),
      });
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(
        `token ${created.id} for ${created.spiffeId}, expires ${isoTime(created.expiresAt)}${created.once ? ', single use' : ''}\n`,
      );
    });

  token.command('list')
    .description('list join tokens with their state (active, used, expired, revoked)')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('-o, --output <format>', 'output format: table or json', formatOption('table', 'json'), 'table')
    .action((opts: { dataDir: string; output: string }) => {
      CertificateAuthority.open(opts.dataDir);
      const records = JoinTokenStore.open(opts.dataDir).list();
      if (opts.output === 'json') {
        printJson(records);
        return;
      }
      if (records.length === 0) {
        process.stdout.write('no join tokens\n');
        return;
      }
      printTable(
        ['ID', 'IDENTITY', 'STATE', 'ONCE', 'EXPIRES'],
        records.map((r) => [r.id, r.spiffeId, r.state, r.once ? 'yes' : 'no', isoTime(new Date(r.expiresAt))]),
      );
    });

  token.command('revoke')
    .description('revoke a join token so no workload can use it again')
    .argument('<id>', 'token id (from `weft token list`)')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action((id: string, opts: { dataDir: string }) => {
      CertificateAuthority.open(opts.dataDir);
      const record = JoinTokenStore.open(opts.dataDir).revoke(id);
      printFields([
        ['revoked', record.id],
        ['identity', record.spiffeId],
      ]);
    });
}
