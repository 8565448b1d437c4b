// Envoy's HTTP ext_authz client: the check goes to the provider as the original request's method
// and path (after pathPrefix) with the allowed headers; 200 allows, any other status denies with
// the provider's status, headers and body, and a 5xx is a failure of the provider (failOpen
// applies). The whole exchange, body included, must finish within the provider's timeout; the
// answer is bounded in headers and body, so a provider cannot exhaust the sidecar's memory.
import { Pool } from 'undici';
import type { HttpCheckRequest, HttpProvider } from '../../policy/ext-authz/index.js';
import { matchesAny } from '../../policy/ext-authz/index.js';
import { BadAnswer, boundHeaders, headerProblem, LIMITS, parseTtl, TTL_HEADER, type HeaderEdit, type ProviderAnswer } from './answer.js';

/** Headers that go back to the client on a denial even when headersToDownstreamOnDeny is set (Envoy). */
const DENY_ALWAYS = new Set(['path', 'status', 'content-length', 'www-authenticate', 'location']);
const REMOVE_HEADER = 'x-envoy-auth-headers-to-remove';

export class HttpAuthzClient {
  readonly #provider: HttpProvider;
  readonly #pool: Pool;

  constructor(provider: HttpProvider) {
    this.#provider = provider;
    const host = provider.host.includes(':') ? `[${provider.host}]` : provider.host;
    this.#pool = new Pool(`http://${host}:${provider.port}`, {
      connections: 64,
      pipelining: 1,
      maxHeaderSize: LIMITS.headerBytes,
      headersTimeout: provider.timeoutMs,
      bodyTimeout: provider.timeoutMs,
      connectTimeout: Math.min(provider.timeoutMs, 10_000),
      keepAliveTimeout: 30_000,
    });
  }

  /** Resolves with the provider's answer; rejects (BadAnswer or a connection error) when there is none usable. */
  async check(req: HttpCheckRequest, jwtOutputs: readonly string[]): Promise<ProviderAnswer> {
    const signal = AbortSignal.timeout(this.#provider.timeoutMs);
    const headers: string[] = [];
    for (const [n, v] of req.headers) headers.push(n, v);
    const res = await this.#pool.request({ method: req.method as 'GET', path: req.path, headers, body: req.body.byteLength === 0 ? null : Buffer.from(req.body), signal });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > LIMITS.body) {
        res.body.destroy();
        throw new BadAnswer(`the provider answered a body over ${LIMITS.body} bytes`);
      }
      chunks.push(chunk);
    }
    const status = res.statusCode;
    if (status >= 500) throw new BadAnswer(`the provider answered ${status}`);
    const pairs = flatten(res.headers);
    boundHeaders(pairs.length, pairs.reduce((n, [k, v]) => n + k.length + v.length, 0));
    const ttlMs = parseTtl(res.headers[TTL_HEADER]);
    const ttl = ttlMs === undefined ? {} : { ttlMs };
    if (status === 200) return { kind: 'allow', ...this.#allowed(pairs, jwtOutputs), ...ttl };
    return { kind: 'deny', status: status < 200 ? 403 : status, headers: this.#denied(pairs, jwtOutputs), body: Buffer.concat(chunks).toString('utf8'), ...ttl };
  }

  #allowed(pairs: readonly (readonly [string, string])[], jwtOutputs: readonly string[]): Omit<Extract<ProviderAnswer, { kind: 'allow' }>, 'kind'> {
    const p = this.#provider;
    const upstream: HeaderEdit[] = [];
    const downstream: [string, string][] = [];
    const remove: string[] = [];
    for (const [name, value] of pairs) {
      if (name === REMOVE_HEADER) {
        for (const n of value.split(',')) {
          const h = n.trim().toLowerCase();
          if (h !== '' && headerProblem(h, '', jwtOutputs) === undefined) remove.push(h);
        }
        continue;
      }
      if (name === TTL_HEADER || headerProblem(name, value, jwtOutputs) !== undefined) continue;
      if (matchesAny(p.headersToUpstreamOnAllow, name)) upstream.push({ name, value, append: false });
      if (matchesAny(p.headersToDownstreamOnAllow, name)) downstream.push([name, value]);
    }
    return { upstream, remove, downstream };
  }

  #denied(pairs: readonly (readonly [string, string])[], jwtOutputs: readonly string[]): [string, string][] {
    const allowed = this.#provider.headersToDownstreamOnDeny;
    const out: [string, string][] = [];
    for (const [name, value] of pairs) {
      if (name === TTL_HEADER || name === 'content-type' || headerProblem(name, value, jwtOutputs) !== undefined) {
        if (name === 'content-type') out.push([name, value]);
        continue;
      }
      if (allowed === undefined || DENY_ALWAYS.has(name) || matchesAny(allowed, name)) out.push([name, value]);
    }
    return out;
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (typeof v === 'string') out.push([name.toLowerCase(), v]);
    else for (const x of v) out.push([name.toLowerCase(), x]);
  }
  return out;
}
