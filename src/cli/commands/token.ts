import { existsSync, lstatSync } from 'node:fs';
import type { Command } from 'commander';
import { JoinTokenStore } from '../../attest/index.js';
import { CertificateAuthority } from '../../ca/index.js';
import { parseDuration } from '../../lib/duration.js';
import { writeSecretFile, writeSecretFileExclusive } from '../../lib/files.js';
import { meshAdminIdentities } from './mesh-admins.js';
import { DEFAULT_DATA_DIR, durationOption, formatOption, isoTime, printFields, printJson, printTable, UsageError } from '../output.js';

/** `weft token create|list|revoke`: join tokens a workload presents on first contact. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('join tokens: what a new workload presents to get its first SVID');

  token.command('create')
    .description('create a join token for one identity; prints the token alone on stdout, or writes it to --out FILE (0600)')
    .requiredOption('-n, --namespace <ns>', 'namespace of the identity')
    .requiredOption('--service-account <sa>', 'service account of the identity')
    .option('--ttl <duration>', 'how long the token can be used', durationOption, parseDuration('24h'))
    .option('--once', 'the token can be used by one workload only')
    .option('--out <file>', 'write the token to FILE with mode 0600 (atomically) instead of stdout; refuses an existing FILE')
    .option('--force', 'with --out: replace an existing FILE')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .addHelpText('after', '\nThe token names spiffe://<trust domain>/ns/<ns>/sa/<sa> and pins the CA\'s root fingerprint.\nIt is a secret: store it like a password, e.g. with --out FILE (mode 0600), for `weft sidecar --token-file FILE`.\nThe control plane\'s identity and MeshConfig\'s adminIdentities cannot be claimed with a token.')
    .action((opts: { namespace: string; serviceAccount: string; ttl: number; once?: boolean; out?: string; force?: boolean; dataDir: string }) => {
      if (opts.force && opts.out === undefined) throw new UsageError('--force only applies with --out FILE');
      // Checked before the token exists, so a refused --out leaves no unused token behind.
      if (opts.out !== undefined && !opts.force && exists(opts.out)) throw new UsageError(`${opts.out} already exists: give --force to replace it`);
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
      if (opts.out === undefined) process.stdout.write(`${created.token}\n`);
      else writeTokenFile(opts.out, `${created.token}\n`, opts.force === true, created.id);
      process.stderr.write(
        `token ${created.id} for ${created.spiffeId}, expires ${isoTime(created.expiresAt)}${created.once ? ', single use' : ''}${opts.out === undefined ? '' : `, written to ${opts.out} (0600)`}\n`,
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
    .argument('<id>', 'token id (from `weft token list`; an older id that starts with "-" goes after --: weft token revoke -- -ID)')
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

function exists(path: string): boolean {
  // lstat: a dangling symlink counts as existing too; the exclusive write would refuse it anyway.
  return existsSync(path) || lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

function writeTokenFile(path: string, text: string, force: boolean, id: string): void {
  try {
    if (force) writeSecretFile(path, text);
    else writeSecretFileExclusive(path, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    // The token exists in the store now: say which one, so it can be revoked.
    throw new UsageError(`cannot write the token to ${path} (${code}): token ${id} was created; revoke it with \`weft token revoke ${id}\``);
  }
}
