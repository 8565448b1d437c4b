// `weft proxy-status`: every connected sidecar with the snapshot it was sent against the latest,
// and its answer, as istioctl proxy-status shows xDS sync state.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { SubscriberStatus } from '../../controlplane/discovery/publisher.js';
import { formatOption, printJson, printTable } from '../output.js';
import { meshStatus, shortIdentity } from './sidecar-admin.js';

/** istioctl's words: SYNCED (the last snapshot sent was ACKed), STALE (sent, unanswered), NACK, FAILED (not sent). */
export function syncState(s: SubscriberStatus): string {
  switch (s.state) {
    case 'ACK': return 'SYNCED';
    case 'PENDING': return s.ackedVersion === 0 ? 'STALE (Never Acknowledged)' : 'STALE';
    case 'NACK': return 'NACK';
    case 'FAILED': return 'NOT SENT (too large)';
  }
}

export function registerProxyStatusCommand(program: Command): void {
  program
    .command('proxy-status')
    .alias('ps')
    .description('every connected sidecar: the snapshot version it was sent and ACKed against the latest, SYNCED/STALE/NACK, its admin endpoint')
    .option('-o, --output <format>', 'short (table), json or yaml', formatOption('short', 'json', 'yaml'), 'short')
    .option('--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)')
    .action(async (opts: { output: string; config?: string }) => {
      const status = await meshStatus(opts.config);
      const rows = status.sidecars.map((s) => ({
        workloadId: s.workloadId,
        identity: shortIdentity(s.spiffeId),
        version: s.labels.version ?? '-',
        sent: s.sentVersion,
        acked: s.ackedVersion,
        latest: status.snapshotVersion,
        state: syncState(s),
        ...(s.nackReason === undefined ? {} : { nackReason: s.nackReason }),
        ...(s.failure === undefined ? {} : { failure: s.failure }),
        admin: s.adminAddress ?? null,
      }));
      if (opts.output === 'json') return printJson({ latest: status.snapshotVersion, sidecars: rows });
      if (opts.output === 'yaml') return void process.stdout.write(stringify({ latest: status.snapshotVersion, sidecars: rows }));
      if (rows.length === 0) return void process.stdout.write('no sidecar is connected\n');
      printTable(
        ['NAME', 'IDENTITY', 'APP VERSION', 'SENT', 'ACKED', 'LATEST', 'STATUS', 'ADMIN'],
        rows.map((r) => [r.workloadId, r.identity, r.version, String(r.sent), String(r.acked || '-'), String(r.latest), r.state, r.admin ?? '-']),
      );
      for (const r of rows.filter((x) => x.nackReason !== undefined)) process.stdout.write(`\n${r.workloadId} (${r.identity}) refused version ${r.sent}: ${r.nackReason}\n`);
      for (const r of rows.filter((x) => x.failure !== undefined)) process.stdout.write(`\n${r.workloadId} (${r.identity}): ${r.failure}\n`);
    });
}
