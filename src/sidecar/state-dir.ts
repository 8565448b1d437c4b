// What a sidecar keeps on disk between runs (with --state-dir): its current SVID (key 0600) and
// the last snapshot it accepted. A sidecar restarted while the control plane is down serves with
// them until the certificate expires, and renews over mTLS instead of spending its join token again.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeshSnapshot } from '../api/control-plane-api.js';
import type { WorkloadSvid } from '../agent/index.js';
import { writeFileAtomic, writeSecretFile } from '../lib/files.js';

interface SavedSvid {
  keyPem: string;
  spiffeId: string;
  trustDomain: string;
  certChainPem: string;
  bundlePem: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

interface SavedSnapshot {
  version: number;
  trustDomain: string;
  trustBundle: string[];
  services: MeshSnapshot['services'];
  resources: string[];
  revokedSerials?: string[];
  tokenParams?: string[];
  tokenCookies?: string[];
  tokenHeaders?: string[];
}

export class SidecarStateDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  saveSvid(svid: WorkloadSvid): void {
    // Key and certificate in one file, one atomic write: never a certificate paired with another key.
    const saved: SavedSvid = {
      keyPem: svid.keyPem,
      spiffeId: svid.spiffeId,
      trustDomain: svid.trustDomain,
      certChainPem: svid.certChainPem,
      bundlePem: svid.bundlePem,
      serial: svid.serial,
      notBefore: svid.notBefore.toISOString(),
      notAfter: svid.notAfter.toISOString(),
    };
    writeSecretFile(join(this.dir, 'svid.json'), `${JSON.stringify(saved)}\n`);
  }

  /** The saved SVID, or undefined when there is none or it is unreadable. */
  loadSvid(): WorkloadSvid | undefined {
    const meta = this.#read<SavedSvid>('svid.json');
    if (!meta || typeof meta.keyPem !== 'string') return undefined;
    return {
      spiffeId: meta.spiffeId,
      trustDomain: meta.trustDomain,
      keyPem: meta.keyPem,
      certChainPem: meta.certChainPem,
      bundlePem: meta.bundlePem,
      serial: meta.serial,
      notBefore: new Date(meta.notBefore),
      notAfter: new Date(meta.notAfter),
    };
  }

  saveSnapshot(snapshot: MeshSnapshot): void {
    const saved: SavedSnapshot = {
      version: snapshot.version,
      trustDomain: snapshot.trustDomain,
      trustBundle: snapshot.trustBundle.map((b) => b.toString('base64')),
      services: snapshot.services,
      resources: snapshot.resources,
      revokedSerials: snapshot.revokedSerials ?? [],
      tokenParams: snapshot.tokenParams ?? [],
      tokenCookies: snapshot.tokenCookies ?? [],
      tokenHeaders: snapshot.tokenHeaders ?? [],
    };
    writeFileAtomic(join(this.dir, 'snapshot.json'), `${JSON.stringify(saved)}\n`, 0o600);
  }

  loadSnapshot(): MeshSnapshot | undefined {
    const saved = this.#read<SavedSnapshot>('snapshot.json');
    if (!saved) return undefined;
    return { ...saved, nonce: '', servicesOmitted: false, trustBundle: saved.trustBundle.map((b) => Buffer.from(b, 'base64')) };
  }

  #read<T>(name: string): T | undefined {
    const file = join(this.dir, name);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }
}
