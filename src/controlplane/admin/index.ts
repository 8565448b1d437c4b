// Starts the admin API on the control plane's admin address and writes admin.conf for the CLI.
import { join } from 'node:path';
import { writeAdminConfig } from './admin-config.js';
import { adminBackend, type AdminContext } from './backend.js';
import { listenAdmin, type AdminListener } from './listener.js';
import type { ConnectionLimits } from '../../lib/connection-guard.js';
import { adminHandler } from './routes.js';
import { AdminToken } from './token.js';

export { ADMIN_ERROR_CODES, AdminError } from './errors.js';
export { writeAdminConfig, type AdminConfig } from './admin-config.js';
export type { AdminStore } from './service.js';
export { AdminToken } from './token.js';

export interface AdminApiOptions extends Omit<AdminContext, 'token'> {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly credentials: { cert: Buffer; key: Buffer };
  readonly caFingerprint: string;
  readonly trustDomain: string;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  readonly limits?: ConnectionLimits;
}

export async function startAdminApi(opts: AdminApiOptions): Promise<AdminListener & { configFile: string }> {
  const token = AdminToken.openOrCreate(opts.dataDir);
  const backend = adminBackend({ ...opts, token });
  const listener = await listenAdmin(opts.host, opts.port, opts.credentials, adminHandler(backend, opts.log), { limits: opts.limits, log: opts.log });
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const configFile = join(opts.dataDir, 'admin.conf');
  writeAdminConfig(configFile, {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${listener.port}`,
    caFingerprint: opts.caFingerprint,
    trustDomain: opts.trustDomain,
    token: token.token,
  });
  return { ...listener, port: listener.port, stats: listener.stats, setCredentials: listener.setCredentials, close: listener.close, configFile };
}
