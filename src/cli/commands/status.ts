// `weft status`: every connected sidecar, the snapshot it holds, and whether it accepted it.
import type { Command } from 'commander';
import type { SubscriberStatus } from '../../controlplane/discovery/publisher.js';

interface ServiceStatus {
  name: string;
  namespace: string;
  ports: { name: string; port: number; protocol: string; targetPort?: number }[];
  endpoints: { workloadId: string; address: string; locality: string; healthy: boolean }[];
}
import { formatOption, isoTime, printJson, printTable } from '../output.js';
import { client } from './resources.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('every connected sidecar: identity, snapshot version, ACK/NACK (with the reason), certificate expiry, last contact; then every service: its ports, and its endpoints with locality and health')
    .option('-o, --output <format>', 'json', formatOption('json'))
    .option('--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)')
    .action(async (opts: { output?: string; config?: string }) => {
      const res = await client(opts.config).call<{ snapshotVersion: number; sidecars: SubscriberStatus[]; services?: ServiceStatus[] }>('GET', '/v1/status');
      if (opts.output === 'json') return printJson(res);
      if (res.sidecars.length === 0) {
        process.stdout.write('no sidecar is connected\n');
        return;
      }
      const time = (t: string | undefined) => (t === undefined ? '-' : isoTime(new Date(t)));
      printTable(
        ['SPIFFE ID', 'WORKLOAD', 'VERSION', 'STATE', 'CERT NOT AFTER', 'LAST CONTACT'],
        res.sidecars.map((s) => [s.spiffeId, s.workloadId, String(s.sentVersion), s.state === 'PENDING' ? `PENDING (last ACK ${s.ackedVersion || '-'})` : s.state === 'FAILED' ? `FAILED (last ACK ${s.ackedVersion || '-'})` : s.state, time(s.certNotAfter), time(s.lastContact)]),
      );
      for (const s of res.sidecars.filter((x) => x.nackReason !== undefined)) {
        process.stdout.write(`\n${s.spiffeId} (${s.workloadId}) refused version ${s.nackedVersion}: ${s.nackReason}\n`);
      }
      for (const s of res.sidecars.filter((x) => x.failure !== undefined)) {
        process.stdout.write(`\n${s.spiffeId} (${s.workloadId}) was not sent version ${s.failedVersion}: ${s.failure}\n`);
      }
      const services = res.services ?? [];
      if (services.length === 0) return;
      process.stdout.write('\n');
      printTable(
        ['SERVICE', 'PORTS', 'ENDPOINT', 'WORKLOAD', 'LOCALITY', 'HEALTH'],
        services.flatMap((svc) =>
          svc.endpoints.map((e, i) => [
            i === 0 ? `${svc.name}.${svc.namespace}` : '',
            i === 0 ? svc.ports.map((p) => `${p.name || '-'}:${p.port}/${p.protocol || 'sniffed'}${p.targetPort ? `->${p.targetPort}` : ''}`).join(',') : '',
            e.address,
            e.workloadId,
            e.locality || '-',
            e.healthy ? 'HEALTHY' : 'UNHEALTHY',
          ]),
        ),
      );
    });
}
