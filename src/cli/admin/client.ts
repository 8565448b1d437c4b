// The CLI side of the admin API: finds admin.conf (--config, else $WEFT_CONFIG, else the one
// `weft up` writes under ./.weft), pins the CA root by the fingerprint it holds, and calls the
// API over TLS that trusts only that root and only the control plane's SPIFFE ID.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { fetchPinnedRoot } from '../../agent/pin-root.js';
import { controlPlaneSpiffeId } from '../../api/control-plane-api.js';
import { ADMIN_CONFIG_KIND, type AdminConfig } from '../../controlplane/admin/admin-config.js';
import { ADMIN_ERROR_CODES, AdminError, type AdminErrorCode } from '../../controlplane/admin/errors.js';
import { certificatesToPem } from '../../identity/index.js';

export const DEFAULT_ADMIN_CONFIG = './.weft/admin.conf';

const STATUS_CODES: Record<number, AdminErrorCode> = {
  401: 'WEFT_ADMIN_UNAUTHENTICATED',
  403: 'WEFT_ADMIN_FORBIDDEN',
  404: 'WEFT_ADMIN_NOT_FOUND',
  409: 'WEFT_ADMIN_CONFLICT',
};

/** Which file to read, and how it was chosen (for error messages). */
export function adminConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { file: string; via: string } {
  if (flag !== undefined) return { file: resolve(flag), via: '--config' };
  if (env.WEFT_CONFIG) return { file: resolve(env.WEFT_CONFIG), via: '$WEFT_CONFIG' };
  return { file: resolve(DEFAULT_ADMIN_CONFIG), via: 'the default (the file `weft up` writes)' };
}

const HOW_TO_FIX =
  'start a mesh with `weft up` (writes ./.weft/admin.conf) or `weft control-plane --data-dir DIR` (writes DIR/admin.conf), then pass --config FILE or set WEFT_CONFIG';

export function loadAdminConfig(flag?: string): AdminConfig & { file: string } {
  const { file, via } = adminConfigPath(flag);
  if (!existsSync(file)) throw new AdminError('WEFT_ADMIN_CONFIG_MISSING', `no admin config at ${file} (chosen by ${via}): ${HOW_TO_FIX}`);
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new AdminError('WEFT_ADMIN_CONFIG_INVALID', `${file}: not readable YAML: ${(err as Error).message}`, { cause: err });
  }
  const bad = (field: string, why: string) => new AdminError('WEFT_ADMIN_CONFIG_INVALID', `${file}: ${field} ${why}; ${HOW_TO_FIX}`);
  if (doc === null || typeof doc !== 'object' || doc.kind !== ADMIN_CONFIG_KIND) throw bad('kind', `must be ${ADMIN_CONFIG_KIND}`);
  if (typeof doc.server !== 'string' || !/^https:\/\/[^/]+:\d+\/?$/.test(doc.server)) throw bad('server', 'must be https://HOST:PORT');
  if (typeof doc.caFingerprint !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(doc.caFingerprint)) throw bad('caFingerprint', 'must be sha256:<64 hex digits>');
  if (typeof doc.trustDomain !== 'string' || doc.trustDomain === '') throw bad('trustDomain', 'must be the mesh trust domain');
  const hasCert = typeof doc.clientCertificate === 'string' && typeof doc.clientKey === 'string';
  if (typeof doc.token !== 'string' && !hasCert) throw bad('token', 'is missing (or give clientCertificate and clientKey of an admin SVID)');
  return {
    file,
    server: doc.server,
    caFingerprint: doc.caFingerprint,
    trustDomain: doc.trustDomain,
    ...(typeof doc.token === 'string' ? { token: doc.token } : {}),
    ...(hasCert ? { clientCertificate: doc.clientCertificate as string, clientKey: doc.clientKey as string } : {}),
  };
}

export class AdminClient {
  readonly #config: AdminConfig;
  readonly #host: string;
  readonly #port: number;
  #rootPem: string | undefined;

  constructor(config: AdminConfig) {
    this.#config = config;
    const url = new URL(config.server);
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(url.port);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.#rootPem ??= certificatesToPem([await fetchPinnedRoot(this.#host, this.#port, this.#config.caFingerprint, 10_000, 'the admin config')]);
    const expected = `URI:${controlPlaneSpiffeId(this.#config.trustDomain)}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const cert = this.#config.clientCertificate ? readFileSync(this.#config.clientCertificate) : undefined;
    const key = this.#config.clientKey ? readFileSync(this.#config.clientKey) : undefined;
    return new Promise<T>((resolvePromise, reject) => {
      const req = request(
        {
          host: this.#host,
          port: this.#port,
          method,
          path,
          ca: this.#rootPem,
          cert,
          key,
          timeout: 30_000,
          headers: {
            accept: 'application/json',
            ...(text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }),
            ...(cert === undefined && this.#config.token ? { authorization: `Bearer ${this.#config.token}` } : {}),
          },
          checkServerIdentity: (_host, peer) => {
            const san = peer.raw ? new X509Certificate(peer.raw).subjectAltName : undefined;
            return san === expected ? undefined : new AdminError('WEFT_ADMIN_UNTRUSTED', `the admin server presented ${san ?? 'no SAN'}, expected ${expected}`);
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return reject(new AdminError('WEFT_ADMIN_UNREACHABLE', `${method} ${path}: the admin server answered ${res.statusCode} without JSON`));
            }
            if ((res.statusCode ?? 500) < 300) return resolvePromise(parsed as T);
            const e = (parsed as { error?: { code?: string; message?: string } }).error ?? {};
            const code = (ADMIN_ERROR_CODES as readonly string[]).includes(e.code ?? '') ? (e.code as AdminErrorCode) : (STATUS_CODES[res.statusCode ?? 0] ?? 'WEFT_ADMIN_BAD_REQUEST');
            const remote = e.code !== undefined && e.code !== code ? ` [${e.code}]` : '';
            reject(new AdminError(code, `${e.message ?? `HTTP ${res.statusCode}`}${remote}`, { details: parsed as Record<string, unknown> }));
          });
        },
      );
      req.on('timeout', () => req.destroy(new AdminError('WEFT_ADMIN_UNREACHABLE', `${method} ${path}: no answer within 30 s`)));
      req.on('error', (err) => reject(err instanceof AdminError ? err : new AdminError('WEFT_ADMIN_UNREACHABLE', `cannot reach the admin API at ${this.#config.server}: ${(err as Error).message}`, { cause: err })));
      req.end(text);
    });
  }
}
