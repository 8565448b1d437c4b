// An external authorization server for weft's CUSTOM policies (and for Envoy): one rule file,
// two protocols. HTTP ext_authz on one port (200 allows, anything else denies), gRPC
// envoy.service.auth.v3.Authorization/Check on another. Each rule's decision has the shape OPA's
// Envoy plugin uses: `allowed`, `headers`, `body`, `http_status` (plus `ttl`, weft's cache hint).
// A template: copy it, keep the wire handling, replace `decide` with your own logic.
//
//   node --import tsx examples/ext-authz/server.ts --rules examples/ext-authz/rules.yaml --http-port 9001 --grpc-port 9191
import { loadPackageDefinition, Server, ServerCredentials, status as grpcStatus, type GrpcObject, type ServiceClientConstructor, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The decision object, as an OPA policy for the Envoy plugin returns it. */
export interface Decision {
  allowed: boolean;
  /** Allow: added to the upstream request. Deny: added to the client's response. */
  headers?: Record<string, string>;
  /** Deny only. */
  body?: string;
  /** Deny only; 403 when absent. */
  http_status?: number;
  /** Allow only: added to the client's response. */
  response_headers_to_add?: Record<string, string>;
  /** Allow only: removed from the upstream request. */
  request_headers_to_remove?: string[];
  /** How long weft may cache this answer (`30s`); sent as x-weft-authz-ttl / dynamic_metadata. */
  ttl?: string;
}

/** A rule: every condition given must hold. */
export interface Rule {
  match?: {
    method?: string;
    /** The path as the check carries it (an HTTP provider's pathPrefix included), query stripped. */
    path?: string;
    pathPrefix?: string;
    /** Header name -> exact value ("*" = present). */
    headers?: Record<string, string>;
    /** The caller's SPIFFE ID (gRPC checks carry it; HTTP checks do not). */
    principal?: string;
    /** The check's body contains this text (includeRequestBodyInCheck). */
    bodyContains?: string;
  };
  decision: Decision;
}

export interface RuleFile {
  rules: Rule[];
  /** When no rule matches; deny by default. */
  default?: Decision;
}

/** What one check says about the request, whichever protocol it came on. */
export interface CheckView {
  method: string;
  path: string;
  headers: Record<string, string>;
  principal?: string;
  body: string;
}

export function loadRules(file: string): RuleFile {
  const doc = parse(readFileSync(file, 'utf8')) as RuleFile;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.rules)) throw new Error(`${file}: expected a mapping with a "rules" list`);
  for (const [i, r] of doc.rules.entries()) {
    if (typeof r?.decision?.allowed !== 'boolean') throw new Error(`${file}: rules[${i}].decision.allowed must be true or false`);
  }
  return doc;
}

export function decide(rules: RuleFile, v: CheckView): Decision {
  const path = v.path.split('?')[0]!;
  for (const r of rules.rules) {
    const m = r.match ?? {};
    if (m.method !== undefined && m.method !== v.method) continue;
    if (m.path !== undefined && m.path !== path) continue;
    if (m.pathPrefix !== undefined && !path.startsWith(m.pathPrefix)) continue;
    if (m.principal !== undefined && m.principal !== v.principal) continue;
    if (m.bodyContains !== undefined && !v.body.includes(m.bodyContains)) continue;
    if (m.headers !== undefined && !Object.entries(m.headers).every(([k, want]) => (want === '*' ? v.headers[k.toLowerCase()] !== undefined : v.headers[k.toLowerCase()] === want))) continue;
    return r.decision;
  }
  return rules.default ?? { allowed: false };
}

// --- HTTP ext_authz ---

const MAX_BODY = 1 << 20;

function httpCheck(rules: () => RuleFile, seen: CheckView[], req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const view: CheckView = { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') };
    seen.push(view);
    const d = decide(rules(), view);
    const out: Record<string, string> = {};
    if (d.ttl !== undefined) out['x-weft-authz-ttl'] = d.ttl;
    if (d.allowed) {
      // Allow: the headers are for the upstream request (the provider lists them in headersToUpstreamOnAllow).
      Object.assign(out, d.headers ?? {}, d.response_headers_to_add ?? {});
      if (d.request_headers_to_remove !== undefined) out['x-envoy-auth-headers-to-remove'] = d.request_headers_to_remove.join(', ');
      res.writeHead(200, out).end();
      return;
    }
    Object.assign(out, d.headers ?? {});
    out['content-type'] = 'text/plain';
    res.writeHead(d.http_status ?? 403, out).end(d.body ?? '');
  });
}

// --- gRPC envoy.service.auth.v3.Authorization/Check ---

const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));
const definition = loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: false, longs: Number, enums: Number, bytes: Buffer, defaults: false, oneofs: true });
const Authorization = ((((loadPackageDefinition(definition).envoy as GrpcObject).service as GrpcObject).auth as GrpcObject).v3 as GrpcObject).Authorization as ServiceClientConstructor;

interface CheckRequest {
  attributes?: {
    source?: { principal?: string };
    request?: { http?: { method?: string; path?: string; headers?: Record<string, string>; body?: string; rawBody?: Buffer } };
  };
}

const headerOptions = (h: Record<string, string> | undefined): { header: { key: string; value: string } }[] => Object.entries(h ?? {}).map(([key, value]) => ({ header: { key, value } }));

function grpcCheck(rules: () => RuleFile, seen: CheckView[], call: ServerUnaryCall<CheckRequest, unknown>, callback: sendUnaryData<unknown>): void {
  const http = call.request.attributes?.request?.http ?? {};
  const view: CheckView = {
    method: http.method ?? '',
    path: http.path ?? '',
    headers: http.headers ?? {},
    ...(call.request.attributes?.source?.principal ? { principal: call.request.attributes.source.principal } : {}),
    body: http.body ?? http.rawBody?.toString('utf8') ?? '',
  };
  seen.push(view);
  const d = decide(rules(), view);
  const dynamicMetadata = d.ttl === undefined ? undefined : { fields: { 'x-weft-authz-ttl': { stringValue: d.ttl } } };
  if (d.allowed) {
    callback(null, {
      status: { code: 0 },
      okResponse: { headers: headerOptions(d.headers), responseHeadersToAdd: headerOptions(d.response_headers_to_add), headersToRemove: d.request_headers_to_remove ?? [] },
      ...(dynamicMetadata === undefined ? {} : { dynamicMetadata }),
    });
    return;
  }
  // OPA's plugin: PERMISSION_DENIED with a denied_response carrying status, headers and body.
  callback(null, {
    status: { code: grpcStatus.PERMISSION_DENIED },
    deniedResponse: { status: { code: d.http_status ?? 403 }, headers: headerOptions(d.headers), body: d.body ?? '' },
    ...(dynamicMetadata === undefined ? {} : { dynamicMetadata }),
  });
}

export interface AuthzServer {
  httpPort: number;
  grpcPort: number;
  /** Every check received, in order: `http` and `grpc`. Tests count the provider's own work here. */
  seen: { http: CheckView[]; grpc: CheckView[] };
  /** Replaces the rules (the next check uses them). */
  setRules(rules: RuleFile): void;
  close(): Promise<void>;
}

export async function startAuthzServer(opts: { rules: RuleFile; host?: string; httpPort?: number; grpcPort?: number }): Promise<AuthzServer> {
  const host = opts.host ?? '127.0.0.1';
  let rules = opts.rules;
  const seen = { http: [] as CheckView[], grpc: [] as CheckView[] };
  const http: HttpServer = createServer((req, res) => httpCheck(() => rules, seen.http, req, res));
  http.listen(opts.httpPort ?? 0, host);
  await once(http, 'listening');
  const grpc = new Server();
  grpc.addService(Authorization.service, { check: (call: ServerUnaryCall<CheckRequest, unknown>, cb: sendUnaryData<unknown>) => grpcCheck(() => rules, seen.grpc, call, cb) });
  const grpcPort = await new Promise<number>((resolve, reject) => grpc.bindAsync(`${host}:${opts.grpcPort ?? 0}`, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  return {
    httpPort: (http.address() as { port: number }).port,
    grpcPort,
    seen,
    setRules: (r) => void (rules = r),
    close: async () => {
      grpc.forceShutdown();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = arg('rules') ?? fileURLToPath(new URL('./rules.yaml', import.meta.url));
  const server = await startAuthzServer({ rules: loadRules(file), httpPort: Number(arg('http-port') ?? 9001), grpcPort: Number(arg('grpc-port') ?? 9191) });
  process.stdout.write(`${JSON.stringify({ http: server.httpPort, grpc: server.grpcPort })}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
}
