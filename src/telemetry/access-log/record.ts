// What one request or TCP connection leaves for the access log: plain data the proxy fills in
// when the exchange ends. Every field is optional; an operator whose field is unset prints `-`.

/** Header values as Node gives them: a string, several, or absent. Names are lowercase. */
export type LogHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface AccessLogRecord {
  /** When the first byte of the request arrived, milliseconds since the epoch. */
  readonly startTime: number;
  /** `HTTP/1.1`, `HTTP/2`; undefined for a TCP connection. */
  readonly protocol?: string;
  /** Request headers, with `:method`, `:path` and `:authority` as HTTP/2 names them. */
  readonly requestHeaders?: LogHeaders;
  readonly responseHeaders?: LogHeaders;
  readonly responseTrailers?: LogHeaders;
  /** 0 when no response was sent. */
  readonly responseCode?: number;
  /** Envoy's response flags (`UH`, `UF,URX`); `-` when none. */
  readonly responseFlags?: string;
  /** Why the response is what it is: `via_upstream`, or the refusal with policy, rule and condition. */
  readonly responseCodeDetails?: string;
  readonly connectionTerminationDetails?: string;
  readonly upstreamTransportFailureReason?: string;
  readonly bytesReceived?: number;
  readonly bytesSent?: number;
  /** From the first byte received to the last byte sent, milliseconds. */
  readonly durationMs?: number;
  /** Time the upstream took to answer, milliseconds (x-envoy-upstream-service-time). */
  readonly upstreamServiceTimeMs?: number;
  /** `address:port` of the endpoint the request went to. */
  readonly upstreamHost?: string;
  /** Envoy's cluster name: `outbound|9080||reviews.default.svc.cluster.local`, `inbound|9080||`. */
  readonly upstreamCluster?: string;
  readonly upstreamLocalAddress?: string;
  readonly downstreamLocalAddress?: string;
  readonly downstreamRemoteAddress?: string;
  readonly downstreamPeerUriSan?: string;
  readonly downstreamLocalUriSan?: string;
  readonly upstreamPeerUriSan?: string;
  readonly requestedServerName?: string;
  readonly routeName?: string;
}
