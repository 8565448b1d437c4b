// `weft status`: every connected sidecar, the snapshot it holds, and whether it accepted it.
import type { Command } from 'commander';
import type { SubscriberStatus } from '../../controlplane/discovery/publisher.js';
import { formatOption, isoTime, printJson, printTable } from '../output.js';
import { labels } from './registry-get.js';
import { client } from './resources.js';

interface ServiceStatus {
  name: string;
  namespace: string;
  ports: { name: string; port: number; protocol: string; targetPort?: number }[];
  endpoints: { workloadId: string; address: string; locality: string; healthy: boolean }[];
}

/** What /v1/status says of a sidecar: the publisher's view plus the services its workload registered. */
type Sidecar = SubscriberStatus & { services?: readonly string[] };

/** The services a workload serves; its service account (secure naming) while it is not registered. */
function serviceOf(s: Sidecar): string {
  return s.services && s.services.length > 0 ? s.services.join(',') : (s.spiffeId.split('/sa/')[1] ?? '-');
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('every connected sidecar: service, version and labels of its workload, the snapshot it holds, ACK/NACK (with the reason), certificate expiry, last contact; then every service: its ports, and its endpoints with locality and health')
    .option('-o, --output <format>', 'json or wide (adds the SPIFFE ID and the workload id)', formatOption('json', 'wide'))
    .option('--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)')
    .action(async (opts: { output?: string; config?: string }) => {
      const res = await client(opts.config).call<{ snapshotVersion: number; sidecars: Sidecar[]; services?: ServiceStatus[] }>('GET', '/v1/status');
      if (opts.output === 'json') return printJson(res);
      if (res.sidecars.length === 0) {
        process.stdout.write('no sidecar is connected\n');
        return;
      }
      const time = (t: string | undefined) => (t === undefined ? '-' : isoTime(new Date(t)));
      const wide = opts.output === 'wide';
      const sidecars = [...res.sidecars].sort((a, b) => `${a.namespace}/${serviceOf(a)}/${a.labels.version ?? ''}`.localeCompare(`${b.namespace}/${serviceOf(b)}/${b.labels.version ?? ''}`));
      printTable(
        ['NAMESPACE', 'SERVICE', 'VERSION', 'LABELS', 'SNAPSHOT', 'STATE', 'CERT NOT AFTER', 'LAST CONTACT', ...(wide ? ['SPIFFE ID', 'WORKLOAD ID'] : [])],
        sidecars.map((s) => [
          s.namespace,
          serviceOf(s),
          s.labels.version ?? '-',
          labels(s.labels),
          String(s.sentVersion),
          s.state === 'PENDING' ? `PENDING (last ACK ${s.ackedVersion || '-'})` : s.state === 'FAILED' ? `FAILED (last ACK ${s.ackedVersion || '-'})` : s.state,
          time(s.certNotAfter),
          time(s.lastContact),
          ...(wide ? [s.spiffeId, s.workloadId] : []),
        ]),
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
