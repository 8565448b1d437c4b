// The gRPC ext_authz client: envoy.service.auth.v3.Authorization/Check from proto/envoy (written
// here from Envoy's field list), so OPA's Envoy plugin answers it unchanged. Status code 0 allows
// with ok_response's header changes; any other code denies with denied_response (HTTP 403 unless
// it names a status). A call that fails (unreachable, past the deadline, undecodable) is a
// failure of the provider, for failOpen / statusOnError to decide.
import { credentials, loadPackageDefinition, Metadata, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { GrpcProvider } from '../../policy/ext-authz/index.js';
import { BadAnswer, boundHeaders, headerProblem, LIMITS, parseTtl, TTL_HEADER, type HeaderEdit, type ProviderAnswer } from './answer.js';

const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** The Check API's package definition; `defaults: false` so absent fields stay absent. */
export const EXT_AUTHZ_DEFINITION = loadSync('envoy/service/auth/v3/external_auth.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: false,
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
});

const auth = ((loadPackageDefinition(EXT_AUTHZ_DEFINITION).envoy as GrpcObject).service as GrpcObject).auth as GrpcObject;
export const AuthorizationService = (auth.v3 as GrpcObject).Authorization as ServiceClientConstructor;

interface HeaderValueOption {
  header?: { key?: string; value?: string; rawValue?: Buffer };
  append?: { value?: boolean };
  appendAction?: number;
}

/** A CheckResponse as proto-loader decodes it. */
export interface CheckResponseMessage {
  status?: { code?: number; message?: string };
  deniedResponse?: { status?: { code?: number }; headers?: HeaderValueOption[]; body?: string };
  okResponse?: { headers?: HeaderValueOption[]; headersToRemove?: string[]; responseHeadersToAdd?: HeaderValueOption[] };
  dynamicMetadata?: { fields?: Record<string, { stringValue?: string; numberValue?: number }> };
}

export class GrpcAuthzClient {
  readonly #provider: GrpcProvider;
  readonly #client: Client & { Check?: unknown };

  constructor(provider: GrpcProvider) {
    this.#provider = provider;
    const host = provider.host.includes(':') ? `[${provider.host}]` : provider.host;
    this.#client = new AuthorizationService(`${host}:${provider.port}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': LIMITS.body + LIMITS.headerBytes * 2,
      'grpc.max_metadata_size': LIMITS.headerBytes,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
      'grpc.enable_retries': 0,
    });
  }

  check(request: { attributes: Record<string, unknown> }, jwtOutputs: readonly string[]): Promise<ProviderAnswer> {
    return new Promise((resolve, reject) => {
      // A wall-clock deadline whatever clock the sidecar runs on (a frozen test clock included).
      const deadline = performance.timeOrigin + performance.now() + this.#provider.timeoutMs;
      (this.#client as unknown as { Check: (req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: CheckResponseMessage) => void) => void }).Check(
        request,
        new Metadata(),
        { deadline },
        (err, res) => {
          if (err !== null) return reject(new BadAnswer(`gRPC ${err.code}: ${err.details || err.message}`));
          try {
            resolve(readCheckResponse(res ?? {}, jwtOutputs));
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}

function edits(list: HeaderValueOption[] | undefined, jwtOutputs: readonly string[], what: string): HeaderEdit[] {
  const out: HeaderEdit[] = [];
  const all = list ?? [];
  boundHeaders(all.length, all.reduce((n, h) => n + (h.header?.key?.length ?? 0) + (h.header?.value?.length ?? h.header?.rawValue?.length ?? 0), 0));
  for (const h of all) {
    const name = (h.header?.key ?? '').toLowerCase();
    const value = h.header?.value ?? h.header?.rawValue?.toString('utf8') ?? '';
    const problem = headerProblem(name, value, jwtOutputs);
    if (problem !== undefined) throw new BadAnswer(`${what}: ${problem}`);
    // append (deprecated BoolValue) defaults to false in ext_authz answers: the value replaces.
    const action = h.appendAction ?? 0;
    const append = action === 0 ? h.append?.value === true : false;
    out.push({ name, value, append, ...(action === 1 ? { ifAbsent: true } : {}) });
  }
  return out;
}

/** Reads a CheckResponse the way Envoy's gRPC ext_authz client does. Throws BadAnswer for one weft will not use. */
export function readCheckResponse(res: CheckResponseMessage, jwtOutputs: readonly string[]): ProviderAnswer {
  const ttlField = res.dynamicMetadata?.fields?.[TTL_HEADER];
  const ttlMs = parseTtl(ttlField?.stringValue ?? ttlField?.numberValue);
  const ttl = ttlMs === undefined ? {} : { ttlMs };
  const code = res.status?.code ?? 0;
  if (code === 0) {
    const ok = res.okResponse ?? {};
    const remove = (ok.headersToRemove ?? []).map((h) => h.toLowerCase());
    if (remove.length > LIMITS.headers) throw new BadAnswer(`ok_response removes ${remove.length} headers (at most ${LIMITS.headers})`);
    for (const h of remove) {
      const problem = headerProblem(h, '', jwtOutputs);
      if (problem !== undefined) throw new BadAnswer(`ok_response.headers_to_remove: ${problem}`);
    }
    const downstream = edits(ok.responseHeadersToAdd, jwtOutputs, 'ok_response.response_headers_to_add').map((e) => [e.name, e.value] as const);
    return { kind: 'allow', upstream: edits(ok.headers, jwtOutputs, 'ok_response.headers'), remove, downstream, ...ttl };
  }
  const denied = res.deniedResponse ?? {};
  const status = denied.status?.code ?? 0;
  const body = denied.body ?? '';
  if (Buffer.byteLength(body) > LIMITS.body) throw new BadAnswer(`denied_response.body is over ${LIMITS.body} bytes`);
  return {
    kind: 'deny',
    // Envoy: 403 unless denied_response names a status; a status that is not an HTTP error is refused.
    status: status === 0 ? 403 : status >= 200 && status <= 599 ? status : 403,
    headers: edits(denied.headers, jwtOutputs, 'denied_response.headers').map((e) => [e.name, e.value] as const),
    body,
    ...ttl,
  };
}
