// A route's and a destination's `headers.request|response {set, add, remove}`, as Istio's
// TranslateHeadersOperations writes them for Envoy: `set` overwrites or adds, `add` appends;
// names starting with `:` and `host` are dropped, except that setting `host` or `:authority` on
// the request becomes an authority rewrite.
import type { Headers } from '../config/generated/types.js';

export interface HeaderOps {
  /** Replace every value of the header, or add it. */
  readonly set: readonly (readonly [string, string])[];
  /** Append a value (the header may then repeat). */
  readonly add: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

export interface CompiledHeaders {
  readonly request: HeaderOps;
  readonly response: HeaderOps;
  /** From `request.set` of `host` or `:authority`. */
  readonly authority: string | undefined;
}

export const NO_HEADER_OPS: HeaderOps = Object.freeze({ set: [], add: [], remove: [] });
export const NO_HEADERS: CompiledHeaders = Object.freeze({ request: NO_HEADER_OPS, response: NO_HEADER_OPS, authority: undefined });

const dropped = (name: string) => name.startsWith(':') || name === 'host';

function opsOf(side: Headers['request'], onAuthority?: (v: string) => void): HeaderOps {
  if (side === undefined) return NO_HEADER_OPS;
  const set: [string, string][] = [];
  const add: [string, string][] = [];
  for (const [k, v] of Object.entries(side.set ?? {})) {
    const name = k.toLowerCase();
    if (name === 'host' || name === ':authority') onAuthority?.(v);
    else if (!dropped(name)) set.push([name, v]);
  }
  for (const [k, v] of Object.entries(side.add ?? {})) {
    const name = k.toLowerCase();
    if (!dropped(name)) add.push([name, v]);
  }
  const remove = (side.remove ?? []).map((n) => n.toLowerCase()).filter((n) => !dropped(n));
  return set.length + add.length + remove.length === 0 ? NO_HEADER_OPS : { set, add, remove };
}

/** Compiles a `headers` block; the empty value when there is none. */
export function compileHeaders(h: Headers | undefined): CompiledHeaders {
  if (h === undefined) return NO_HEADERS;
  let authority: string | undefined;
  const request = opsOf(h.request, (v) => (authority = v));
  const response = opsOf(h.response);
  return { request, response, authority };
}
