// `weft proxy-config (listeners|routes|clusters|endpoints|secret|all) WORKLOAD`: what one sidecar
// has in force, read from its admin endpoint (found through the control plane's status, or given
// with --admin), as tables (-o short) or its JSON/YAML.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { systemClock } from '../../lib/clock.js';
import type { ConfigDump } from '../../sidecar/config-dump.js';
import { formatOption, hostPortOption, isoTime, printJson, printTable, type HostPort } from '../output.js';
import { findSidecar, meshStatus, ProxyConfigError, readAdmin } from './sidecar-admin.js';

const SECTIONS = ['listeners', 'routes', 'clusters', 'endpoints', 'secret', 'all'] as const;
type Section = (typeof SECTIONS)[number];

interface Certs {
  spiffeId: string | null;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  chain?: { subject: string; issuer: string; serial: string; notAfter: string; subjectAltName?: string; pem: string }[];
  trustBundle?: string;
}

interface SidecarConfig extends ConfigDump {
  version: number;
  source: string;
  resources: string[];
  lastNack: { version: number; reason: string } | null;
}

/** What `secret` shows: certificates only; anything shaped like a private key is refused outright. */
function secretView(certs: Certs): Record<string, unknown> {
  const view = { spiffeId: certs.spiffeId, serial: certs.serial, notBefore: certs.notBefore, notAfter: certs.notAfter, chain: certs.chain ?? [], trustBundle: certs.trustBundle };
  if (JSON.stringify(view).includes('PRIVATE KEY')) throw new ProxyConfigError('WEFT_PROXY_CONFIG_UNREACHABLE', 'the sidecar answered /certs with private key material; refusing to print it');
  return view;
}

function printSection(section: Exclude<Section, 'all'>, config: SidecarConfig, certs: Certs): void {
  const t = (d: string | undefined) => (d === undefined ? '-' : isoTime(new Date(d)));
  switch (section) {
    case 'listeners':
      return printTable(['NAME', 'ADDRESS', 'PORT', 'DIRECTION', 'PROTOCOL'], config.listeners.map((l) => [l.name, l.address, String(l.port), l.direction, l.protocol + (l.acceptsPlaintext ? ' (+plaintext)' : '')]));
    case 'routes':
      return printTable(['NAME', 'DOMAINS', 'CLUSTER'], config.routes.map((r) => [r.name, r.domains.join(','), r.cluster]));
    case 'clusters':
      return printTable(['SERVICE FQDN', 'PORT', 'DIRECTION', 'PROTOCOL', 'ENDPOINTS', 'CLUSTER'], config.clusters.map((c) => [c.service, String(c.port), c.direction, c.protocol, String(c.endpoints), c.name]));
    case 'endpoints':
      return printTable(['ENDPOINT', 'STATUS', 'SPIFFE ID', 'CLUSTER'], config.endpoints.map((e) => [e.address, 'HEALTHY', e.spiffeId || '-', e.cluster]));
    case 'secret': {
      const leaf = certs.chain?.[0];
      const rows = certs.spiffeId === null ? [] : [['default', 'Cert Chain', 'ACTIVE', String(certs.notAfter !== undefined && Date.parse(certs.notAfter) > systemClock.now()), certs.serial ?? '-', t(certs.notAfter), t(certs.notBefore)]];
      const root = certs.chain?.at(-1);
      if (certs.trustBundle !== undefined) rows.push(['ROOTCA', 'CA', 'ACTIVE', 'true', root && root !== leaf ? root.serial : '-', root && root !== leaf ? t(root.notAfter) : '-', '-']);
      return printTable(['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows);
    }
  }
}

function sectionData(section: Exclude<Section, 'all'>, config: SidecarConfig, certs: Certs): unknown {
  return section === 'secret' ? secretView(certs) : config[section];
}

export function registerProxyConfigCommand(program: Command): void {
  program
    .command('proxy-config')
    .alias('pc')
    .description("what one sidecar has in force (listeners, routes, clusters, endpoints, its certificates), read from its admin endpoint")
    .argument('<section>', SECTIONS.join('|'), (v: string) => {
      if (!(SECTIONS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of: ${SECTIONS.join(', ')}`);
      return v as Section;
    })
    .argument('[workload]', 'workload id, SPIFFE ID, NAME.NAMESPACE or NAME of a connected sidecar (not needed with --admin)')
    .option('-o, --output <format>', 'short (tables), json or yaml', formatOption('short', 'json', 'yaml'), 'short')
    .option('--admin <host:port>', "read this sidecar admin endpoint directly instead of finding it through the control plane", hostPortOption)
    .option('--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)')
    .addHelpText('after', '\nSecrets are shown without private keys: a sidecar never serves them.')
    .action(async (section: Section, workload: string | undefined, opts: { output: string; admin?: HostPort; config?: string }) => {
      let address: string;
      if (opts.admin !== undefined) address = `${opts.admin.host.includes(':') ? `[${opts.admin.host}]` : opts.admin.host}:${opts.admin.port}`;
      else {
        if (workload === undefined) throw new InvalidArgumentError('name a WORKLOAD (or give --admin HOST:PORT)');
        const found = findSidecar((await meshStatus(opts.config)).sidecars, workload);
        if (found.adminAddress === undefined) throw new ProxyConfigError('WEFT_PROXY_CONFIG_UNREACHABLE', `sidecar ${found.workloadId} (${found.spiffeId}) reported no admin endpoint: start it with --admin 127.0.0.1:PORT`);
        address = found.adminAddress;
      }
      const [config, certs] = await Promise.all([readAdmin<SidecarConfig>(address, '/config'), readAdmin<Certs>(address, '/certs')]);
      const sections = section === 'all' ? (['listeners', 'routes', 'clusters', 'endpoints', 'secret'] as const) : [section];
      if (opts.output !== 'short') {
        const data = section === 'all' ? Object.fromEntries(sections.map((s) => [s, sectionData(s, config, certs)])) : sectionData(section, config, certs);
        return opts.output === 'json' ? printJson(data) : void process.stdout.write(stringify(data));
      }
      sections.forEach((s, i) => {
        if (section === 'all') process.stdout.write(`${i === 0 ? '' : '\n'}${s.toUpperCase()}\n`);
        printSection(s, config, certs);
      });
    });
}
