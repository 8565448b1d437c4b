// The admin API's HTTP surface: JSON in, JSON out, one error shape
// ({ error: { code, message, ...details } }) with the status the error code implies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, isWeftError } from '../../lib/errors.js';
import { authenticate, type AdminAuthSources, type AdminPrincipal } from './auth.js';
import { AdminError } from './errors.js';

/** Resource text as the operator wrote it, with the file name issues are reported against. */
export interface ResourceSource {
  readonly file: string;
  readonly text: string;
}

/** What the admin API does; the control plane implements it. */
export interface AdminBackend extends AdminAuthSources {
  ready(): boolean;
  list(filter: { kind?: string; namespace?: string }): Promise<unknown>;
  get(key: string): Promise<unknown>;
  apply(who: AdminPrincipal, body: { sources: ResourceSource[]; dryRun: boolean }): Promise<unknown>;
  delete(who: AdminPrincipal, body: { keys: string[]; dryRun: boolean; resourceVersions: Record<string, string> }): Promise<unknown>;
  status(): Promise<unknown>;
  services(filter: { namespace?: string }): Promise<unknown>;
  analyze(body: { sources: ResourceSource[] }): Promise<unknown>;
  authzCheck(body: Record<string, unknown>): Promise<unknown>;
  revoke(who: AdminPrincipal, body: { serials?: string[]; spiffeId?: string }): Promise<unknown>;
}

const STORE_STATUS: Record<string, number> = { WEFT_STORE_CONFLICT: 409, WEFT_STORE_NOT_FOUND: 404, WEFT_STORE_LOCKED: 503, WEFT_STORE_CORRUPT: 500 };

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function adminHandler(backend: AdminBackend, log?: (event: string, fields: Record<string, unknown>) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void handle(backend, req, res).catch((err: unknown) => {
      const issues = (err as { issues?: unknown }).issues;
      const status = err instanceof AdminError ? err.httpStatus : issues !== undefined ? 422 : isWeftError(err) ? (STORE_STATUS[err.code] ?? 400) : 500;
      if (status >= 500) log?.('admin.error', { method: req.method, path: req.url, reason: describeError(err) });
      if (status === 401 || status === 403) log?.('admin.refused', { method: req.method, path: req.url, status, reason: (err as Error).message });
      const code = isWeftError(err) ? err.code : 'WEFT_ADMIN_INTERNAL';
      const details = err instanceof AdminError ? err.details : issues !== undefined ? { issues } : {};
      send(res, status, { error: { code, message: status >= 500 ? 'internal error (see the control-plane log)' : (err as Error).message, ...details } });
    });
  };
}

async function handle(backend: AdminBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname;
  if (req.method === 'GET' && (path === '/healthz' || path === '/healthz/live')) return sendText(res, 200, 'ok\n');
  if (req.method === 'GET' && (path === '/healthz/ready' || path === '/readyz')) {
    return backend.ready() ? sendText(res, 200, 'ready\n') : sendText(res, 503, 'not ready\n');
  }
  const who = authenticate(req, backend);
  const route = `${req.method} ${path}`;
  if (route === 'GET /v1/resources') {
    return send(res, 200, await backend.list({ kind: url.searchParams.get('kind') ?? undefined, namespace: url.searchParams.get('namespace') ?? undefined }));
  }
  if (req.method === 'GET' && path.startsWith('/v1/resources/')) return send(res, 200, await backend.get(resourceKeyOf(path)));
  if (req.method === 'DELETE' && path.startsWith('/v1/resources/')) {
    const key = resourceKeyOf(path);
    const rv = url.searchParams.get('resourceVersion');
    return send(res, 200, await backend.delete(who, { keys: [key], dryRun: url.searchParams.get('dryRun') === 'true', resourceVersions: rv ? { [key]: rv } : {} }));
  }
  if (route === 'POST /v1/apply') {
    const body = await readJson(req);
    return send(res, 200, await backend.apply(who, { sources: sourcesOf(body), dryRun: body.dryRun === true }));
  }
  if (route === 'POST /v1/delete') {
    const body = await readJson(req);
    if (!Array.isArray(body.keys) || !body.keys.every((k) => typeof k === 'string')) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'body.keys must be a list of resource keys (Kind/namespace/name)');
    const rvs = body.resourceVersions && typeof body.resourceVersions === 'object' ? (body.resourceVersions as Record<string, string>) : {};
    return send(res, 200, await backend.delete(who, { keys: body.keys as string[], dryRun: body.dryRun === true, resourceVersions: rvs }));
  }
  if (route === 'GET /v1/status') return send(res, 200, await backend.status());
  if (route === 'GET /v1/registry/services') return send(res, 200, await backend.services({ namespace: url.searchParams.get('namespace') ?? undefined }));
  if (route === 'POST /v1/analyze') {
    const body = await readJson(req);
    return send(res, 200, await backend.analyze({ sources: body.sources === undefined ? [] : sourcesOf(body) }));
  }
  if (route === 'POST /v1/authz/check') return send(res, 200, await backend.authzCheck(await readJson(req)));
  if (route === 'POST /v1/ca/revoke') return send(res, 200, await backend.revoke(who, revokeBodyOf(await readJson(req))));
  throw new AdminError('WEFT_ADMIN_NOT_FOUND', `no admin endpoint ${route}`);
}

function sourcesOf(body: Record<string, unknown>): ResourceSource[] {
  const sources = body.sources;
  if (!Array.isArray(sources) || !sources.every((s) => s !== null && typeof s === 'object' && typeof s.file === 'string' && typeof s.text === 'string')) {
    throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'body.sources must be a list of { file, text } (resource text in YAML or JSON)');
  }
  return sources as ResourceSource[];
}

/** `/v1/resources/Kind/ns/name` or `/v1/resources/Kind/name` -> `Kind/ns/name` / `Kind/name`. */
function resourceKeyOf(path: string): string {
  const parts = path.slice('/v1/resources/'.length).split('/').map(decodeURIComponent);
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `not a resource path: ${path} (expected /v1/resources/KIND/NAMESPACE/NAME)`);
  return parts.join('/');
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `request body is not a JSON object: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' }).end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
}

function revokeBodyOf(body: Record<string, unknown>): { serials?: string[]; spiffeId?: string } {
  const { serials, spiffeId } = body;
  if (serials !== undefined && !(Array.isArray(serials) && serials.every((s) => typeof s === 'string'))) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'body.serials must be a list of certificate serials (hex)');
  if (spiffeId !== undefined && typeof spiffeId !== 'string') throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'body.spiffeId must be a SPIFFE ID');
  return { ...(serials === undefined ? {} : { serials: serials as string[] }), ...(spiffeId === undefined ? {} : { spiffeId: spiffeId as string }) };
}
