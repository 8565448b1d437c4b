// The request headers the sidecar owns: the ones it sets itself or that carry mesh identity. A
// client's copy of any of them is removed before anything reads the request, so a `when`
// condition on one of them, and the app, only ever see the sidecar's value (docs/policy.md,
// "Headers the sidecar owns").

/** Exact names: Envoy's x-forwarded-client-cert, which the inbound sidecar sets on mTLS requests. */
export const SIDECAR_OWNED_HEADERS: readonly string[] = Object.freeze(['x-forwarded-client-cert']);

/** Name prefixes: weft's own headers and Envoy's, which a mesh gives meaning to. */
export const SIDECAR_OWNED_PREFIXES: readonly string[] = Object.freeze(['x-weft-', 'x-envoy-']);

/**
 * True when `name` (lower-case) is a header the sidecar owns; `jwtOutputs` are the
 * outputPayloadToHeader and outputClaimToHeaders names of the RequestAuthentications in force.
 */
export function isSidecarOwnedHeader(name: string, jwtOutputs: readonly string[]): boolean {
  if (name.charCodeAt(0) !== 0x78 /* 'x' */) return jwtOutputs.length > 0 && jwtOutputs.includes(name);
  if (SIDECAR_OWNED_HEADERS.includes(name)) return true;
  for (const p of SIDECAR_OWNED_PREFIXES) if (name.startsWith(p)) return true;
  return jwtOutputs.length > 0 && jwtOutputs.includes(name);
}

/**
 * The header view policy reads for one request: its fields plus `:method`, `:path` (the decided
 * target), `:authority` and `host` (both the one authority), so `request.headers[...]` on any of
 * them reads what the app receives.
 */
export function decidedHeaderView(
  fields: Readonly<Record<string, string | readonly string[]>>,
  method: string,
  target: string,
  authority: string,
): Readonly<Record<string, string | readonly string[]>> {
  return { ...fields, ':method': method, ':path': target, ':authority': authority, host: authority };
}

/** A header by name as an own property only: `constructor` or `toString` are never a request's header. */
export function ownHeader(headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined, name: string): string | readonly string[] | undefined {
  return headers !== undefined && Object.hasOwn(headers, name) ? headers[name] : undefined;
}
