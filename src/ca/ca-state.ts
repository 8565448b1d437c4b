// <data-dir>/ca/ca.json, the CA's state file, and the rule that keeps key material safe: ca.json is
// written last, so a directory without it is not initialised, but whatever CA files it does hold
// are never overwritten (they may be the only copy of a key that workloads already trust).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrustDomain } from '../identity/index.js';
import { writeFileAtomic } from '../lib/files.js';
import { CaError } from './errors.js';
import { PLUGIN_FILES, type CaMode } from './signer.js';

export interface CaConfig {
  trustDomain: string;
  mode: CaMode;
  createdAt: string;
}

/** Every file either mode keeps in <data-dir>/ca besides ca.json. */
export const CA_FILES = ['root-key.pem', 'root-cert.pem', ...PLUGIN_FILES.filter((f) => f !== 'root-cert.pem')] as const;

export function caDir(dataDir: string): string {
  return join(dataDir, 'ca');
}

/**
 * The CA's configuration, or undefined when the data directory has none. A ca.json that cannot be
 * read or is not the CA's configuration stops the CA with the file named: it must not be taken for
 * "no CA here", which would let init create a second root beside the first.
 */
export function readConfig(dataDir: string): CaConfig | undefined {
  const file = join(caDir(dataDir), 'ca.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CaError('WEFT_CA_FILE_UNREADABLE', `cannot read ${file}: ${code ?? String(err)}`, { cause: err, file });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CaError('WEFT_CA_FILE_INVALID', `${file} is not valid JSON`, { cause: err, file });
  }
  const config = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<Record<keyof CaConfig, unknown>>;
  if (typeof config.trustDomain !== 'string' || (config.mode !== 'self-signed' && config.mode !== 'intermediate')) {
    throw new CaError('WEFT_CA_FILE_INVALID', `${file} must hold "trustDomain" and "mode" ("self-signed" or "intermediate")`, { file });
  }
  try {
    parseTrustDomain(config.trustDomain);
  } catch (err) {
    throw new CaError('WEFT_CA_FILE_INVALID', `${file} holds an invalid "trustDomain": ${(err as Error).message}`, { cause: err, file });
  }
  return { trustDomain: config.trustDomain, mode: config.mode, createdAt: String(config.createdAt ?? '') };
}

export function writeConfig(dataDir: string, config: CaConfig): void {
  writeFileAtomic(join(caDir(dataDir), 'ca.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Refuses to create a CA where CA files exist without ca.json: an init killed half-way, or a lost
 * ca.json. Either way the key there may be one workloads trust, so the operator decides.
 */
export function refuseLeftovers(dataDir: string): void {
  const dir = caDir(dataDir);
  const found = CA_FILES.filter((f) => existsSync(join(dir, f)));
  if (found.length === 0) return;
  throw new CaError(
    'WEFT_CA_ALREADY_EXISTS',
    `${dir} holds ${found.join(', ')} but no ca.json (an interrupted \`weft ca init\`, or ca.json was lost): weft never overwrites CA key material. Restore ca.json, or, if nothing trusts this CA yet, remove ${dir} and run init again`,
    { file: join(dir, found[0]!) },
  );
}
