// What the sidecar sends an ext_authz provider for one request, as plain data: the gRPC
// CheckRequest (envoy.service.auth.v3, in @grpc/proto-loader's camelCase shape) and the HTTP
// check request (Envoy's HTTP ext_authz: the original method, pathPrefix + path, the allowed
// headers). The decision cache keys on exactly this data (checkKey), so two requests share an
// answer only when the provider would have been sent the same thing.
import { createHash } from 'node:crypto';
import { canonicalJson, matchesAny, type GrpcProvider, type HttpProvider } from './provider.js';

/** The request as the check describes it (the decided one: normalized path, JWT applied). */
export interface CheckInput {
  readonly method: string;
  /** Path and query, as decided. */
  readonly target: string;
  readonly authority: string;
  /** End-to-end request fields by lower-case name. */
  readonly fields: Readonly<Record<string, string | readonly string[]>>;
  /** 'HTTP/2' from a mesh peer, 'HTTP/1.1' from a plaintext client. */
  readonly protocol: 'HTTP/2' | 'HTTP/1.1';
  /** The peer's SPIFFE ID (`spiffe://...`); absent for plaintext. */
  readonly sourcePrincipal?: string;
  readonly sourceAddress?: string;
  readonly sourcePort?: number;
  /** This workload's SPIFFE ID. */
  readonly destinationPrincipal?: string;
  readonly destinationAddress?: string;
  readonly destinationPort?: number;
  readonly sni?: string;
  /** The body as buffered for the check (includeRequestBodyInCheck), and whether it was cut at maxRequestBytes. */
  readonly body?: { readonly bytes: Uint8Array; readonly partial: boolean };
  /** The request's Content-Length, -1 when unknown. */
  readonly size: number;
  /** Wall-clock milliseconds for `request.time`; left out when the provider's answers are cached (see checkKey). */
  readonly timeMs?: number;
}

/** Envoy's header for a check that carries a cut body. */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

function joined(v: string | readonly string[]): string {
  return typeof v === 'string' ? v : v.join(',');
}

/** The gRPC CheckRequest's `attributes` (AttributeContext), ready for the proto encoder. */
export function grpcCheckRequest(provider: GrpcProvider, input: CheckInput): { attributes: Record<string, unknown> } {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(input.fields)) headers[name] = joined(input.fields[name]!);
  headers[':authority'] = input.authority;
  headers[':method'] = input.method;
  headers[':path'] = input.target;
  headers[':scheme'] = 'http';
  const http: Record<string, unknown> = {
    method: input.method,
    headers,
    path: input.target,
    host: input.authority,
    scheme: 'http',
    protocol: input.protocol,
    size: input.size,
  };
  const id = input.fields['x-request-id'];
  if (typeof id === 'string') http.id = id;
  if (provider.body !== undefined) {
    const bytes = input.body?.bytes ?? new Uint8Array(0);
    headers[PARTIAL_BODY_HEADER] = input.body?.partial === true ? 'true' : 'false';
    if (provider.body.packAsBytes) http.rawBody = Buffer.from(bytes);
    else http.body = Buffer.from(bytes).toString('utf8');
  }
  const request: Record<string, unknown> = { http };
  if (input.timeMs !== undefined) request.time = { seconds: Math.floor(input.timeMs / 1000), nanos: (input.timeMs % 1000) * 1_000_000 };
  const attributes: Record<string, unknown> = {
    source: peer(input.sourceAddress, input.sourcePort, input.sourcePrincipal),
    destination: peer(input.destinationAddress, input.destinationPort, input.destinationPrincipal),
    request,
  };
  if (input.sni !== undefined) attributes.tlsSession = { sni: input.sni };
  return { attributes };
}

function peer(address: string | undefined, port: number | undefined, principal: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (address !== undefined) out.address = { socketAddress: { address, ...(port === undefined ? {} : { portValue: port }) } };
  if (principal !== undefined) out.principal = principal;
  return out;
}

/** Envoy's HTTP ext_authz check request. */
export interface HttpCheckRequest {
  readonly method: string;
  /** pathPrefix + the original path and query. */
  readonly path: string;
  /** Lower-case names, one value each (repeats joined with ","), sorted by name. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

/** Always sent to an HTTP provider, whatever includeRequestHeadersInCheck says (Envoy). */
const ALWAYS = new Set(['authorization']);
/** Never copied from the request: the check request's own framing. */
const FRAMING = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'upgrade', 'expect']);

export function httpCheckRequest(provider: HttpProvider, input: CheckInput): HttpCheckRequest {
  const headers = new Map<string, string>();
  for (const name of Object.keys(input.fields)) {
    if (FRAMING.has(name) || name.startsWith(':')) continue;
    if (ALWAYS.has(name) || matchesAny(provider.includeRequestHeaders, name)) headers.set(name, joined(input.fields[name]!));
  }
  for (const [name, value] of provider.additionalHeaders) if (!FRAMING.has(name)) headers.set(name, value);
  const body = provider.body === undefined ? new Uint8Array(0) : input.body?.bytes ?? new Uint8Array(0);
  if (provider.body !== undefined) headers.set(PARTIAL_BODY_HEADER, input.body?.partial === true ? 'true' : 'false');
  headers.set('host', input.authority);
  headers.set('content-length', String(body.byteLength));
  const sorted = [...headers].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { method: input.method, path: `${provider.pathPrefix}${input.target}`, headers: sorted, body };
}

/**
 * The decision cache's key: SHA-256 over the provider's name and the canonical JSON of exactly
 * what is sent (bytes as base64). Equal keys mean equal checks; any attribute that differs
 * changes the text hashed, so only a SHA-256 collision could share an answer between them.
 */
export function checkKey(provider: string, check: unknown): string {
  return createHash('sha256').update(canonicalJson({ provider, check })).digest('base64url');
}
