import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { JoinTokenStore } from '../../attest/index.js';
import { checkCalls, checkForeignCaRefused, checkPlaintextRefused, type CheckCauses, type CheckRow } from '../up/checks.js';
import { lastDenial, printResourcesInForce, resourcesInForce } from '../up/in-force.js';
import { appProxyEnv } from '../app-env.js';
import { freePort, startChild, stopChildren, waitReady, type Child } from '../up/processes.js';
import { DEMO_NAMESPACE, DEMO_SERVICE_PORT, DEMO_WORKLOADS } from '../up/topology.js';
import { DEFAULT_TRUST_DOMAIN, initOrOpenCa } from './ca.js';
import { waitForSignal } from './control-plane.js';
import { DEFAULT_DATA_DIR, printTable } from '../output.js';

const WEFT_BIN = fileURLToPath(new URL('../../../bin/weft.js', import.meta.url));
const DEMO_APP = fileURLToPath(new URL('../../../examples/demo/app.js', import.meta.url));

interface RunningWorkload {
  service: string;
  version: string;
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
}

/** `weft up`: the embedded default. A control plane and a demo application on loopback, checked live. */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start a control plane and a demo application (productpage, details, reviews v1+v2, ratings), each behind its own sidecar, on 127.0.0.1; check every hop; run until Ctrl-C')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('--trust-domain <name>', 'trust domain of a new mesh', DEFAULT_TRUST_DOMAIN)
    .option('--no-wait', 'stop everything after the checks instead of running until Ctrl-C')
    .action(async (opts: { dataDir: string; trustDomain: string; wait: boolean }, cmd: Command) => {
      const dataDir = resolve(opts.dataDir);
      const logDir = join(dataDir, 'logs');
      mkdirSync(logDir, { recursive: true });
      const ca = initOrOpenCa(dataDir, cmd.getOptionValueSource('trustDomain') === 'cli' ? opts.trustDomain : undefined);
      const tokens = JoinTokenStore.open(dataDir);
      const children: Child[] = [];
      let stopping = false;
      // A terminal gets one progress line rewritten in place; a pipe or a file gets plain lines.
      const tty = process.stdout.isTTY === true;
      const progress = (text: string) => (tty ? process.stdout.write(`\r\x1b[2K${text}`) : text === '' ? true : process.stdout.write(`${text}\n`));
      const interrupted = waitForSignal().then(() => (stopping = true));
      try {
        const cpPort = await freePort();
        const cpAdmin = await freePort();
        const cpMetrics = await freePort();
        progress('starting control plane...');
        const cp = startChild('control-plane', process.execPath, [WEFT_BIN, 'control-plane', '--data-dir', dataDir, '--listen', `127.0.0.1:${cpPort}`, '--admin', `127.0.0.1:${cpAdmin}`, '--metrics', `127.0.0.1:${cpMetrics}`], logDir);
        children.push(cp);
        // Generous: the bound only matters when something is wrong, and a loaded machine is not wrong.
        await waitReady(`http://127.0.0.1:${cpAdmin}/healthz/ready`, cp, 60_000);
        const inForce = await resourcesInForce(dataDir);

        const running: RunningWorkload[] = [];
        for (const [i, w] of DEMO_WORKLOADS.entries()) {
          if (stopping) return;
          progress(`starting ${w.service} ${w.version} (${i + 1}/${DEMO_WORKLOADS.length})...`);
          const ports = { appPort: await freePort(), inboundPort: await freePort(), outboundPort: await freePort(), adminPort: await freePort() };
          const token = tokens.create({ trustDomain: ca.trustDomain, namespace: DEMO_NAMESPACE, serviceAccount: w.service, ttlMs: 3_600_000, once: true, caFingerprint: ca.rootFingerprint });
          const name = `${w.service}-${w.version}`;
          children.push(
            // The environment `weft sidecar --print-env` prints: the app has no mesh code.
            startChild(name, process.execPath, [DEMO_APP, '--name', w.service, '--version', w.version, '--port', String(ports.appPort), '--calls', w.calls.join(',')], logDir, appProxyEnv({ host: '127.0.0.1', port: ports.outboundPort })),
          );
          const sidecar = startChild(
            `${name}-sidecar`,
            process.execPath,
            [
              WEFT_BIN, 'sidecar',
              '--control-plane', `127.0.0.1:${cpPort}`,
              '--token-env', 'WEFT_JOIN_TOKEN',
              '--namespace', DEMO_NAMESPACE,
              '--service', w.service,
              '--service-port', String(DEMO_SERVICE_PORT),
              '--labels', `app=${w.service},version=${w.version}`,
              '--inbound', `127.0.0.1:${ports.inboundPort}`,
              '--app', `127.0.0.1:${ports.appPort}`,
              '--outbound', `127.0.0.1:${ports.outboundPort}`,
              '--admin', `127.0.0.1:${ports.adminPort}`,
              '--state-dir', join(dataDir, 'sidecars', name),
            ],
            logDir,
            { WEFT_JOIN_TOKEN: token.token },
          );
          children.push(sidecar);
          await waitReady(`http://127.0.0.1:${ports.adminPort}/healthz/ready`, sidecar, 60_000);
          running.push({ service: w.service, version: w.version, ...ports });
        }
        progress('');
        process.stdout.write(`${tty ? '\r' : ''}weft mesh up: trust domain ${ca.trustDomain}, data in ${dataDir}, logs in ${logDir}\n\n`);
        printTable(
          ['WORKLOAD', 'SPIFFE ID', 'APP', 'INBOUND (mTLS)', 'OUTBOUND PROXY', 'ADMIN'],
          [
            ['control-plane', `spiffe://${ca.trustDomain}/ns/weft-system/sa/control-plane`, '-', `127.0.0.1:${cpPort} (gRPC)`, '-', `127.0.0.1:${cpAdmin}`],
            ...running.map((r) => [
              `${r.service} ${r.version}`,
              `spiffe://${ca.trustDomain}/ns/${DEMO_NAMESPACE}/sa/${r.service}`,
              `127.0.0.1:${r.appPort}`,
              `127.0.0.1:${r.inboundPort}`,
              `127.0.0.1:${r.outboundPort}`,
              `127.0.0.1:${r.adminPort}`,
            ]),
          ],
        );
        process.stdout.write(`\nmetrics: http://127.0.0.1:${cpMetrics}/metrics (control plane), http://127.0.0.1:ADMIN/stats/prometheus (each sidecar)\n`);
        process.stdout.write('\n');
        printResourcesInForce(inForce);
        process.stdout.write('\nchecking every hop...\n\n');
        const rows = await runChecks(running, ca.trustDomain, { logDir, denial: (service) => lastDenial(logDir, service) });
        printTable(['CHECK', 'RESULT', 'DETAIL'], rows.map((r) => [r.check, r.ok ? '✔ ok' : '✘ FAILED', r.detail]));
        const failed = rows.filter((r) => !r.ok).length;
        const productpage = running.find((r) => r.service === 'productpage')!;
        process.stdout.write(failed === 0 ? `\nall ${rows.length} checks passed.\n` : `\n${failed} of ${rows.length} checks failed (the DETAIL column says why).\n`);
        process.stdout.write(`\ncall the demo:  curl http://127.0.0.1:${productpage.appPort}/\n`);
        process.stdout.write(`inspect it:     weft status; weft get services; weft get ap -A   (admin config ${join(dataDir, 'admin.conf')})\n`);
        process.stdout.write(`logs:           ${logDir}\n`);
        if (!opts.wait) {
          if (failed > 0) process.exitCode = 1;
          return;
        }
        process.stdout.write('\nThe mesh keeps running; press Ctrl-C to stop it.\n');
        await interrupted;
      } finally {
        process.stdout.write('stopping...\n');
        await stopChildren(children);
        process.stdout.write('stopped.\n');
      }
    });
}

async function runChecks(running: readonly RunningWorkload[], trustDomain: string, causes: CheckCauses): Promise<CheckRow[]> {
  const productpage = running.find((r) => r.service === 'productpage')!;
  const details = running.find((r) => r.service === 'details')!;
  const edges = ['productpage v1 -> details v1', 'productpage v1 -> reviews v1', 'productpage v1 -> reviews v2', 'reviews v2 -> ratings v1'];
  return [
    ...(await checkCalls(productpage.appPort, edges, causes)),
    await checkPlaintextRefused('details', details.inboundPort),
    await checkForeignCaRefused('details', details.inboundPort, trustDomain),
  ];
}
