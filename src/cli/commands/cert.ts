import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CertificateAuthority } from '../../ca/index.js';
import {
  bundleFromJwks,
  bundleFromPem,
  checkX509Svid,
  parseCertificatesPem,
  type TrustBundle,
} from '../../identity/index.js';
import { WeftError } from '../../lib/errors.js';
import { DEFAULT_DATA_DIR, formatOption, isoTime, printFields, printJson } from '../output.js';

/** `weft cert inspect`: what a certificate is and whether it is a valid X.509-SVID here. */
export function registerCertCommands(program: Command): void {
  const cert = program.command('cert').description('inspect certificates');

  cert.command('inspect')
    .description('print a certificate\'s SPIFFE ID, issuer, validity and key type, and whether it is a valid X.509-SVID for the trust bundle (with every reason if not); exits 1 when it is not')
    .argument('<file>', 'PEM file: the leaf first, then any intermediates')
    .option('--bundle <file>', 'trust bundle to check against: PEM or SPIFFE bundle JSON (default: the CA of --data-dir)')
    .option('--trust-domain <name>', 'trust domain of a PEM --bundle (default: the CA\'s)')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('-o, --output <format>', 'output format: text or json', formatOption('text', 'json'), 'text')
    .action((file: string, opts: { bundle?: string; trustDomain?: string; dataDir: string; output: string }) => {
      const chain = parseCertificatesPem(readText(file, 'certificate'));
      const bundle = loadBundle(opts);
      const result = checkX509Svid(chain, bundle);
      const info = result.info;
      const problems = result.ok ? [] : result.problems.map((p) => ({ code: p.code, reason: p.message }));
      if (opts.output === 'json') {
        printJson({
          ...info,
          notBefore: info?.notBefore ? isoTime(info.notBefore) : undefined,
          notAfter: info?.notAfter ? isoTime(info.notAfter) : undefined,
          spiffeId: info?.spiffeId?.text,
          trustBundle: bundle.trustDomain,
          valid: result.ok,
          problems,
        });
      } else {
        printFields([
          ['SPIFFE ID', info?.spiffeId?.text ?? '(none)'],
          ['subject', info?.subject || '(empty)'],
          ['issuer', info?.issuer ?? '?'],
          ['serial', info?.serial ?? '?'],
          ['not before', info?.notBefore ? isoTime(info.notBefore) : '?'],
          ['not after', info?.notAfter ? isoTime(info.notAfter) : '?'],
          ['key type', info?.keyType ?? '?'],
          ['fingerprint', info?.fingerprint ?? '?'],
          ['chain', `${chain.length} certificate${chain.length === 1 ? '' : 's'}`],
          ['trust bundle', `${bundle.trustDomain} (${bundle.x509Authorities.length} root${bundle.x509Authorities.length === 1 ? '' : 's'})`],
          ['valid X.509-SVID', result.ok ? 'yes' : 'no'],
        ]);
        for (const p of problems) process.stdout.write(`  - ${p.reason} (${p.code})\n`);
      }
      if (!result.ok) process.exitCode = 1;
    });
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new WeftError('WEFT_FILE_UNREADABLE', `cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

function loadBundle(opts: { bundle?: string; trustDomain?: string; dataDir: string }): TrustBundle {
  if (opts.bundle === undefined) {
    if (!existsSync(opts.dataDir)) {
      throw new WeftError('WEFT_FILE_UNREADABLE', `no trust bundle: give --bundle FILE, or --data-dir of an initialised CA (${opts.dataDir} does not exist)`);
    }
    const authority = CertificateAuthority.open(opts.dataDir);
    return bundleFromPem(authority.trustDomain, authority.bundlePem());
  }
  const text = readText(opts.bundle, 'bundle');
  const trustDomain = opts.trustDomain ?? (existsSync(opts.dataDir) ? CertificateAuthority.open(opts.dataDir).trustDomain : undefined);
  if (trustDomain === undefined) {
    throw new WeftError('WEFT_FILE_UNREADABLE', `a --bundle file needs --trust-domain to say which trust domain it anchors (no CA in ${opts.dataDir})`);
  }
  return text.trimStart().startsWith('{') ? bundleFromJwks(trustDomain, text) : bundleFromPem(trustDomain, text);
}
