// The request as routing reads it. The proxy hands over plain values and a header getter; the
// path is split and the query parsed at most once, and only when a route asks.

/** Header values by lowercase name: one value, repeated values, or undefined when absent. */
export type HeaderGetter = (name: string) => string | readonly string[] | undefined;

/** What `RouteTable.route` needs of an HTTP request. */
export interface RouteRequest {
  /** The host key `resolve` answered. */
  readonly host: string;
  /** The destination port (the service port the app called). */
  readonly port: number;
  readonly method: string;
  /** `:path` as received, query included. */
  readonly path: string;
  /** `http` or `https`: what `:scheme` carries. */
  readonly scheme: string;
  /** `:authority` (or `host`) as the app sent it. */
  readonly authority: string;
  readonly header: HeaderGetter;
}

/** Query parameters seen: the first value of each key ('' for `?key` and `?key=`). */
export type QueryParams = ReadonlyMap<string, string>;

/** The request with its path split; `query` parses lazily and once. */
export class RequestView {
  readonly req: RouteRequest;
  /** The path without the query (and without a fragment, which a client should not send). */
  readonly pathOnly: string;
  /** `?...` (with the `?`) or ''. */
  readonly queryString: string;
  #query: QueryParams | undefined;

  constructor(req: RouteRequest) {
    this.req = req;
    const q = req.path.indexOf('?');
    const end = q < 0 ? req.path.length : q;
    const hash = req.path.indexOf('#');
    this.pathOnly = req.path.slice(0, hash >= 0 && hash < end ? hash : end);
    this.queryString = q < 0 ? '' : req.path.slice(q);
  }

  get query(): QueryParams {
    this.#query ??= parseQuery(this.queryString);
    return this.#query;
  }

  /** One header's value; repeated values joined with `,` (how Envoy's header matcher reads them). */
  headerValue(name: string): string | undefined {
    const v = this.req.header(name);
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : v.join(',');
  }
}

/** At most this many parameters are read from one query; the rest are ignored. */
export const MAX_QUERY_PARAMS = 256;

/**
 * The first value of each parameter of `?a=1&b&c=`, percent-decoded where the encoding is valid
 * (the raw text otherwise), `+` left alone.
 */
export function parseQuery(queryString: string): QueryParams {
  const out = new Map<string, string>();
  const text = queryString.startsWith('?') ? queryString.slice(1) : queryString;
  if (text === '') return out;
  const hash = text.indexOf('#');
  const parts = (hash < 0 ? text : text.slice(0, hash)).split('&', MAX_QUERY_PARAMS);
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(k)) out.set(k, eq < 0 ? '' : decode(part.slice(eq + 1)));
  }
  return out;
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
