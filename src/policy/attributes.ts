// What the policy engine knows about one request or connection: plain data the proxy (or the CLI's
// `weft authz check`, or a test) fills in. Nothing here is parsed from the wire by the engine.

/** The verified result of RequestAuthentication for one request (the JWT checks happen before). */
export interface JwtAttributes {
  /** `<iss>/<sub>` (Istio's request.auth.principal). */
  readonly principal: string;
  /** The `aud` claim as a list (a string `aud` is a list of one). */
  readonly audiences?: readonly string[];
  /** The `azp` claim. */
  readonly presenter?: string;
  /** Every claim of the token's payload, as JSON. `iss` and `sub` are read from here when present. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * One request (HTTP) or connection (TCP) as authorization sees it. An absent or empty field is an
 * absent attribute: a positive match on it is false and a negative (`not...`) match is true, as in
 * Istio.
 */
export interface RequestAttributes {
  /** 'tcp' for a connection the proxy does not parse as HTTP: HTTP-only fields then apply as Istio says. */
  readonly protocol: 'http' | 'tcp';
  /** The peer's SPIFFE ID without `spiffe://` (`cluster.local/ns/default/sa/web`); absent for plaintext. */
  readonly sourcePrincipal?: string;
  /** The peer's namespace (from its SPIFFE ID); absent for plaintext. Derived from sourcePrincipal when left out. */
  readonly sourceNamespace?: string;
  /** The TCP peer address of the connection. */
  readonly sourceIp?: string;
  /** The original client address (X-Forwarded-For or PROXY protocol); the peer address when absent. */
  readonly remoteIp?: string;
  /** The local address the connection was accepted on. */
  readonly destinationIp?: string;
  /** The workload (container) port the connection arrived on. */
  readonly destinationPort?: number;
  /** The TLS server name the client asked for. */
  readonly sni?: string;
  readonly method?: string;
  /** `:authority` / Host, as sent (with its port when the client sent one). */
  readonly host?: string;
  /** The path after normalizePath(); a query string or fragment left on it is ignored for matching. */
  readonly path?: string;
  /** Request headers by lower-case name; a repeated header is a list and each value is matched on its own. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Present only when a valid JWT was presented. */
  readonly jwt?: JwtAttributes;
}
