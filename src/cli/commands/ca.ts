import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CaError, CertificateAuthority } from '../../ca/index.js';
import { writeFileAtomic, writeSecretFile } from '../../lib/files.js';
import { formatDuration, parseDuration } from '../../lib/duration.js';
import { registerCaRevokeCommand } from './ca-revoke.js';
import { meshAdminIdentities } from './mesh-admins.js';
import { DEFAULT_DATA_DIR, durationOption, formatOption, isoTime, printFields, printJson, UsageError } from '../output.js';

const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048'] as const;
/** Kubernetes' and Istio's default, so Istio resources naming cluster.local principals apply as written. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
type KeyType = (typeof KEY_TYPES)[number];

/** `weft ca init|show|mint|revoke`: the certificate authority on a data directory. */
export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the certificate authority that signs workload identities (X.509-SVIDs)');

  ca.command('init')
    .description('create the CA in the data directory (a self-signed root, or an operator\'s intermediate with --plugin)')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('--trust-domain <name>', 'trust domain of the mesh', DEFAULT_TRUST_DOMAIN)
    .option('--root-ttl <duration>', 'lifetime of a new self-signed root', durationOption, parseDuration('3650d'))
    .option('--plugin <dir>', 'plug in an intermediate CA from Istio\'s files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)')
    .addHelpText('after', '\nRunning it again on an initialised data directory keeps the existing CA (without --trust-domain, or with its own) or refuses (another one).')
    .action((opts: { dataDir: string; trustDomain: string; rootTtl: number; plugin?: string }, cmd: Command) => {
      const trustDomainGiven = cmd.getOptionValueSource('trustDomain') === 'cli';
      const existed = existsSync(join(opts.dataDir, 'ca', 'ca.json'));
      const authority = opts.plugin
        ? CertificateAuthority.initFromPlugin(opts.dataDir, opts.plugin, trustDomainGiven ? { trustDomain: opts.trustDomain } : {})
        : initOrOpenCa(opts.dataDir, trustDomainGiven ? opts.trustDomain : undefined, opts.rootTtl);
      const ignored = cmd.getOptionValueSource('rootTtl') === 'cli' && opts.plugin === undefined ? ' (--root-ttl applies to a new root only)' : '';
      process.stdout.write(existed ? `kept the existing CA in ${resolve(opts.dataDir)}: nothing was changed${ignored}\n` : `created the CA in ${resolve(opts.dataDir)}\n`);
      printCa(authority);
    });

  ca.command('show')
    .description('print the trust domain, the root fingerprint and expiry dates')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('-o, --output <format>', 'output format: text or json', formatOption('text', 'json'), 'text')
    .option('--bundle', 'print the trust bundle (PEM) instead')
    .action((opts: { dataDir: string; output: string; bundle?: boolean }) => {
      const authority = CertificateAuthority.open(opts.dataDir);
      if (opts.bundle) {
        process.stdout.write(authority.bundlePem());
        return;
      }
      if (opts.output === 'json') {
        printJson({
          trustDomain: authority.trustDomain,
          mode: authority.mode,
          rootFingerprint: authority.rootFingerprint,
          rootNotAfter: isoTime(authority.rootNotAfter),
          signerNotAfter: isoTime(authority.signerNotAfter),
        });
        return;
      }
      printCa(authority);
    });

  ca.command('mint')
    .description('issue an X.509-SVID for a workload outside the mesh: writes svid.pem, key.pem (0600) and bundle.pem')
    .requiredOption('--spiffe-id <id>', 'SPIFFE ID to put in the certificate, e.g. spiffe://cluster.local/ns/ops/sa/backup')
    .requiredOption('--out <dir>', 'directory to write the files into')
    .option('--ttl <duration>', 'lifetime (capped by the CA\'s maximum and its own expiry)', durationOption, parseDuration('1h'))
    .option('--key-type <type>', `key type: ${KEY_TYPES.join(', ')}`, formatOption(...KEY_TYPES), 'ec-p256')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('--renewable', 'let the SVID renew itself through the control plane (each renewal at most --ttl); without it, it expires')
    .option('--allow-privileged-identity', 'issue the control plane\'s identity or a MeshConfig admin identity: whoever holds the files can serve as the control plane or administer the mesh')
    .addHelpText('after', '\nA minted SVID does not renew unless --renewable. The control plane\'s own identity and MeshConfig\'s\nadminIdentities are refused without --allow-privileged-identity.')
    .action((opts: { spiffeId: string; out: string; ttl: number; keyType: KeyType; dataDir: string; renewable?: boolean; allowPrivilegedIdentity?: boolean }) => {
      if (opts.out.length === 0) throw new UsageError('--out must name a directory');
      const authority = CertificateAuthority.open(opts.dataDir);
      const svid = authority.mint(opts.spiffeId, {
        ttlMs: opts.ttl,
        keyType: opts.keyType,
        credential: { kind: 'operator', name: 'weft ca mint' },
        renewable: opts.renewable === true,
        privileged: opts.allowPrivilegedIdentity === true,
        adminIdentities: meshAdminIdentities(opts.dataDir),
      });
      mkdirSync(opts.out, { recursive: true });
      writeSecretFile(join(opts.out, 'key.pem'), svid.keyPem);
      writeFileAtomic(join(opts.out, 'svid.pem'), [svid.leafPem, ...svid.chainPem].join(''));
      writeFileAtomic(join(opts.out, 'bundle.pem'), svid.bundlePem);
      printFields([
        ['SPIFFE ID', svid.spiffeId],
        ['serial', svid.serial],
        ['not after', isoTime(svid.notAfter)],
        ['key type', svid.keyType],
        ['renews', opts.renewable === true ? `yes, at most ${formatDuration(opts.ttl)} at a time` : 'no (expires; mint again, or pass --renewable)'],
        ['written', ['svid.pem', 'key.pem', 'bundle.pem'].map((f) => join(opts.out, f)).join(', ')],
      ]);
    });

  registerCaRevokeCommand(ca);
}

/**
 * The data directory's CA, created with `trustDomain` (default cluster.local) when there is none.
 * Without an explicit trust domain an existing CA is kept whatever its own, so re-running a command
 * on a mesh made for another trust domain does not trip over a default nobody asked for.
 */
export function initOrOpenCa(dataDir: string, trustDomain: string | undefined, rootTtlMs?: number): CertificateAuthority {
  if (trustDomain === undefined) {
    try {
      return CertificateAuthority.open(dataDir);
    } catch (err) {
      if (!(err instanceof CaError && err.code === 'WEFT_CA_NOT_INITIALISED')) throw err;
    }
  }
  return CertificateAuthority.init(dataDir, { trustDomain: trustDomain ?? DEFAULT_TRUST_DOMAIN, ...(rootTtlMs === undefined ? {} : { rootTtlMs }) });
}

function printCa(authority: CertificateAuthority): void {
  printFields([
    ['trust domain', authority.trustDomain],
    ['mode', authority.mode],
    ['root fingerprint', authority.rootFingerprint],
    ['root not after', isoTime(authority.rootNotAfter)],
    ['signer not after', isoTime(authority.signerNotAfter)],
    ['issues until', isoTime(authority.issuesUntil)],
  ]);
}
