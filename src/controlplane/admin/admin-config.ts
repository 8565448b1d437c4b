// admin.conf: what a CLI needs to reach this control plane's admin API, like a kubeconfig. The
// CA fingerprint lets the CLI pin the root on first contact; the token authenticates it. 0600.
import { stringify } from 'yaml';
import { writeSecretFile } from '../../lib/files.js';

export const ADMIN_CONFIG_KIND = 'AdminConfig';
export const ADMIN_CONFIG_API_VERSION = 'weft.dev/v1alpha1';

export interface AdminConfig {
  /** https://HOST:PORT of the admin API. */
  readonly server: string;
  /** `sha256:<hex>` of the CA root certificate (DER). */
  readonly caFingerprint: string;
  readonly trustDomain: string;
  /** Absent when the operator authenticates with an admin SVID instead. */
  readonly token?: string;
  /** An admin SVID (paths to PEM files), used instead of the token when set. */
  readonly clientCertificate?: string;
  readonly clientKey?: string;
}

export function writeAdminConfig(file: string, config: AdminConfig): void {
  const doc = { apiVersion: ADMIN_CONFIG_API_VERSION, kind: ADMIN_CONFIG_KIND, ...config };
  writeSecretFile(file, `# weft admin config: keep it secret (it holds the admin token)\n${stringify(doc)}`);
}
