// `weft ca revoke`: through the running control plane's admin API when the data directory has an
// admin.conf (the revocation reaches every sidecar in the next snapshot), else on the data
// directory itself (a stopped control plane loads it when it starts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { JoinTokenStore } from '../../attest/index.js';
import { CertificateAuthority } from '../../ca/index.js';
import { AdminError } from '../../controlplane/admin/index.js';
import { revokeSvids, type RevokeResult } from '../../controlplane/revoke-svids.js';
import { AdminClient, loadAdminConfig } from '../admin/client.js';
import { DEFAULT_DATA_DIR, formatOption, printJson, printTable, UsageError } from '../output.js';

export function registerCaRevokeCommand(ca: Command): void {
  ca.command('revoke')
    .description('revoke SVIDs: every sidecar refuses them and closes their sessions within seconds, and the CA never renews them')
    .option('--serial <serial...>', 'serial number(s) of the certificate(s), hex')
    .option('--spiffe-id <id>', 'revoke every unexpired SVID the CA issued to this identity')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('--config <file>', 'admin config of the running control plane (default: <data-dir>/admin.conf when present)')
    .option('--offline', 'change the data directory directly (the control plane is stopped)')
    .option('-o, --output <format>', 'output format: table or json', formatOption('table', 'json'), 'table')
    .addHelpText('after', '\nThe join tokens the revoked SVIDs were enrolled with are revoked too: the workload comes back\nonly with a new token. Revocations are kept until the certificates would have expired.')
    .action(async (opts: { serial?: string[]; spiffeId?: string; dataDir: string; config?: string; offline?: boolean; output: string }) => {
      if ((opts.serial === undefined) === (opts.spiffeId === undefined)) throw new UsageError('give --serial S (one or more) or --spiffe-id ID');
      const body = opts.spiffeId === undefined ? { serials: opts.serial } : { spiffeId: opts.spiffeId };
      const configFile = opts.config ?? (existsSync(join(opts.dataDir, 'admin.conf')) ? join(opts.dataDir, 'admin.conf') : undefined);
      let result: RevokeResult;
      if (configFile !== undefined && opts.offline !== true) {
        try {
          result = await new AdminClient(loadAdminConfig(configFile)).call<RevokeResult>('POST', '/v1/ca/revoke', body);
        } catch (err) {
          if (err instanceof AdminError && err.code === 'WEFT_ADMIN_UNREACHABLE') {
            throw new AdminError('WEFT_ADMIN_UNREACHABLE', `${err.message}; if the control plane is stopped, run again with --offline`, { cause: err });
          }
          throw err;
        }
      } else {
        const authority = CertificateAuthority.open(opts.dataDir);
        result = revokeSvids(authority, JoinTokenStore.open(opts.dataDir), body, 'operator (weft ca revoke on the data directory)');
      }
      if (opts.output === 'json') return printJson(result);
      if (result.revoked.length > 0) printTable(['REVOKED SERIAL', 'IDENTITY', 'EXPIRES'], result.revoked.map((r) => [r.serial, r.spiffeId ?? '-', r.notAfter]));
      if (result.alreadyRevoked.length > 0) process.stdout.write(`already revoked: ${result.alreadyRevoked.join(', ')}\n`);
      if (result.tokensRevoked.length > 0) process.stdout.write(`join tokens revoked: ${result.tokensRevoked.join(', ')}\n`);
    });
}
