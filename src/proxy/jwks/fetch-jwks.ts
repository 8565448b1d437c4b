// Fetches a JWKS (or an OpenID discovery document) over HTTP(S) with undici: one GET, a deadline
// for the whole exchange, no redirects, a cap on the body. Every failure is a JwksError naming the
// URL, so the resolver can log it and keep its last good set.
import { request, type Dispatcher } from 'undici';
import { JwksError } from '../../policy/jwt/index.js';

export interface FetchOptions {
  /** Deadline for connect, headers and body together. */
  readonly timeoutMs: number;
  /** Bodies larger than this are refused. */
  readonly maxBytes: number;
  /** The undici dispatcher (e.g. an Agent trusting a private CA); the global one when absent. */
  readonly dispatcher?: Dispatcher;
}

/**
 * GETs `url` and returns its body as text.
 *
 * @throws JwksError `WEFT_JWKS_FETCH_FAILED` on a bad URL, timeout, connection error, non-200
 * status or oversized body.
 */
export async function fetchDocument(url: string, options: FetchOptions): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, 'jwks url is not a url', { cause: err });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, `jwks url scheme ${parsed.protocol} is not http or https`);
  }
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const res = await request(parsed, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal,
      // Fetches are minutes apart: a pooled keep-alive socket would only risk being stale.
      reset: true,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, `jwks fetch answered status ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > options.maxBytes) {
        res.body.destroy();
        throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, `jwks body is larger than ${options.maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof JwksError) throw err;
    const why = signal.aborted ? `timed out after ${options.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, `jwks fetch failed: ${why}`, { cause: err });
  }
}

/**
 * The `jwks_uri` of an issuer from its OpenID discovery document
 * (`<issuer>/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 §4).
 */
export async function discoverJwksUri(issuer: string, options: FetchOptions): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const text = await fetchDocument(url, options);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, 'openid configuration is not valid json', { cause: err });
  }
  const uri = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).jwks_uri : undefined;
  if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) {
    throw new JwksError('WEFT_JWKS_FETCH_FAILED', url, 'openid configuration has no http(s) jwks_uri');
  }
  return uri;
}
