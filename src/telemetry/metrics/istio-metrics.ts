// Istio's standard metrics, recorded by the proxy with plain data and exposed through a
// prom-client Registry. The request path pays for a Map lookup and a few additions: the labels of
// a caller-destination pair are resolved once into a handle (PeerMetrics), whose series are kept
// in small maps keyed by numbers and the response flags; label objects are built only at scrape.
import { Counter, Gauge, Registry } from 'prom-client';
import { HTTP_LABEL_NAMES, peerKey, peerLabelObject, TCP_LABEL_NAMES, type PeerLabels } from './labels.js';

/** Envoy's default histogram bounds (Istio does not override them): 19 finite, then +Inf. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Distinct series per metric unless the owner says otherwise (`--max-metric-series`). */
export const DEFAULT_MAX_SERIES = 10_000;

export type RequestProtocol = 'http' | 'grpc';

/** The outcome of one HTTP or gRPC request, as the proxy knows it when the response ends. */
export interface RequestOutcome {
  readonly protocol: RequestProtocol;
  /** HTTP status; 0 when no response was sent. */
  readonly responseCode: number;
  /** gRPC status for gRPC requests; undefined otherwise (the label is empty). */
  readonly grpcStatus?: number;
  /** Envoy's response flags (`UH`, `UF,URX`); `-` or undefined when none. */
  readonly responseFlags?: string;
}

class Histogram {
  readonly counts = new Float64Array(ENVOY_DEFAULT_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(v: number): void {
    const x = Number.isFinite(v) && v > 0 ? v : 0;
    let i = 0;
    while (i < ENVOY_DEFAULT_BUCKETS.length && x > ENVOY_DEFAULT_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += x;
    this.count++;
  }
}

interface HttpSeries {
  /** `name="value",...` in Istio's order, escaped once when the series is created. */
  readonly labels: string;
  requests: number;
  readonly duration: Histogram;
  readonly requestBytes: Histogram;
  readonly responseBytes: Histogram;
}

interface TcpSeries {
  readonly labels: string;
  sent: number;
  received: number;
  opened: number;
  closed: number;
}

const HTTP_METRICS = ['istio_requests_total', 'istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes'] as const;
const TCP_METRICS = ['istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total', 'istio_tcp_connections_opened_total', 'istio_tcp_connections_closed_total'] as const;

/** Numbers that fit one key: protocol (1 bit), gRPC status (+1, 0..17 → 5 bits), HTTP code (0..999). */
function outcomeKey(protocol: RequestProtocol, code: number, grpc: number | undefined): number {
  const c = Number.isInteger(code) && code >= 0 && code <= 999 ? code : 0;
  const g = grpc === undefined || !Number.isInteger(grpc) || grpc < 0 || grpc > 16 ? 0 : grpc + 1;
  return ((protocol === 'grpc' ? 1 : 0) * 32 + g) * 1000 + c;
}

/** Response flags are a short, closed vocabulary; anything else is folded so it cannot add series. */
function flagsOf(flags: string | undefined): string {
  if (flags === undefined || flags === '') return '-';
  return /^(?:-|[A-Z]{1,6}(?:,[A-Z]{1,6}){0,7})$/.test(flags) ? flags : 'unknown';
}

/**
 * The series of one caller-destination pair. The proxy keeps it for as long as it serves that pair
 * (a session, a route): every call after the first is a Map lookup and some arithmetic.
 */
export class PeerMetrics {
  readonly labels: PeerLabels;
  readonly #owner: IstioMetrics;
  /** flags -> outcome key -> series. */
  readonly #http = new Map<string, Map<number, HttpSeries>>();
  /** flags -> series. */
  readonly #tcp = new Map<string, TcpSeries>();

  constructor(owner: IstioMetrics, labels: PeerLabels) {
    this.#owner = owner;
    this.labels = labels;
  }

  /** One finished HTTP or gRPC request: counted, its duration and wire bytes observed. */
  recordRequest(outcome: RequestOutcome, durationMs: number, requestBytes: number, responseBytes: number): void {
    const series = this.#httpSeries(outcome);
    if (series === undefined) return;
    series.requests++;
    series.duration.observe(durationMs);
    series.requestBytes.observe(requestBytes);
    series.responseBytes.observe(responseBytes);
  }

  /** A TCP connection (a CONNECT tunnel) opened. */
  recordTcpOpen(flags?: string): void {
    const s = this.#tcpSeries(flags);
    if (s !== undefined) s.opened++;
  }

  /** Bytes moved on a TCP connection since the last report: `sent` toward the destination's caller view as Istio counts them. */
  recordTcpBytes(sent: number, received: number, flags?: string): void {
    const s = this.#tcpSeries(flags);
    if (s === undefined) return;
    if (Number.isFinite(sent) && sent > 0) s.sent += sent;
    if (Number.isFinite(received) && received > 0) s.received += received;
  }

  /** A TCP connection closed, with its last bytes and the flags it ended with. */
  recordTcpClose(sent = 0, received = 0, flags?: string): void {
    const s = this.#tcpSeries(flags);
    if (s === undefined) return;
    if (Number.isFinite(sent) && sent > 0) s.sent += sent;
    if (Number.isFinite(received) && received > 0) s.received += received;
    s.closed++;
  }

  #httpSeries(outcome: RequestOutcome): HttpSeries | undefined {
    const raw = outcome.responseFlags;
    // Flags seen before are keys already: the check of their shape runs once per new value.
    const flags = raw === undefined || raw === '-' || raw === '' ? '-' : this.#http.has(raw) ? raw : flagsOf(raw);
    let byOutcome = this.#http.get(flags);
    const key = outcomeKey(outcome.protocol, outcome.responseCode, outcome.protocol === 'grpc' ? outcome.grpcStatus : undefined);
    let series = byOutcome?.get(key);
    if (series !== undefined) return series;
    if (!this.#owner.admitSeries('http')) return undefined;
    if (byOutcome === undefined) this.#http.set(flags, (byOutcome = new Map()));
    const code = key % 1000;
    const g = Math.floor(key / 1000) % 32;
    series = {
      labels: labelText(peerLabelObject(this.labels, { protocol: outcome.protocol, code: String(code), grpcStatus: g === 0 ? '' : String(g - 1), flags }, false)),
      requests: 0,
      duration: new Histogram(),
      requestBytes: new Histogram(),
      responseBytes: new Histogram(),
    };
    byOutcome.set(key, series);
    this.#owner.httpSeries.push(series);
    return series;
  }

  #tcpSeries(rawFlags: string | undefined): TcpSeries | undefined {
    const flags = rawFlags === undefined || rawFlags === '-' ? '-' : this.#tcp.has(rawFlags) ? rawFlags : flagsOf(rawFlags);
    let s = this.#tcp.get(flags);
    if (s !== undefined) return s;
    if (!this.#owner.admitSeries('tcp')) return undefined;
    s = { labels: labelText(peerLabelObject(this.labels, { protocol: 'tcp', flags }, true)), sent: 0, received: 0, opened: 0, closed: 0 };
    this.#tcp.set(flags, s);
    this.#owner.tcpSeries.push(s);
    return s;
  }
}

export interface IstioMetricsOptions {
  /** Distinct series per metric; past it new series are dropped and counted. */
  readonly maxSeries?: number;
  /** `component` of istio_build: `proxy` for a sidecar, `pilot` for the control plane. */
  readonly component?: string;
  /** `tag` of istio_build: the weft version. */
  readonly version?: string;
  /** Where the metrics are registered; a new Registry by default. */
  readonly registry?: Registry;
}

/**
 * Istio's request and TCP metrics with their full label sets (`exposition()`), plus istio_build
 * and weft_metric_series_dropped_total in `registry`; `metrics()` gives both. Memory is bounded by `maxSeries` per metric and by as many
 * peer handles.
 */
export class IstioMetrics {
  readonly registry: Registry;
  readonly maxSeries: number;
  /** @internal series in creation order, read at scrape. */
  readonly httpSeries: HttpSeries[] = [];
  /** @internal */
  readonly tcpSeries: TcpSeries[] = [];
  readonly #peers = new Map<string, PeerMetrics>();
  readonly #dropped: Counter<'metric'>;

  constructor(opts: IstioMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    const max = opts.maxSeries ?? DEFAULT_MAX_SERIES;
    if (!Number.isInteger(max) || max < 1) throw new TypeError(`"maxSeries" must be a whole number of at least 1, not ${max}`);
    this.maxSeries = max;
    this.#dropped = new Counter({ name: 'weft_metric_series_dropped_total', help: 'observations dropped because their metric already had the maximum number of series', labelNames: ['metric'], registers: [this.registry] });
    new Gauge({ name: 'istio_build', help: 'Istio component build info', labelNames: ['component', 'tag'], registers: [this.registry] }).set({ component: opts.component ?? 'proxy', tag: opts.version ?? 'unknown' }, 1);
  }

  /**
   * The handle of one caller-destination pair: looked up by the label values, created on first
   * use. Call it once per session or route and keep the handle; past the series cap a handle still
   * comes back, and its observations are counted as dropped.
   */
  peer(labels: PeerLabels): PeerMetrics {
    const key = peerKey(labels);
    let p = this.#peers.get(key);
    if (p !== undefined) return p;
    p = new PeerMetrics(this, labels);
    // A handle without series costs little, but a flood of distinct callers must not grow the map
    // without end: past the cap, handles are not remembered (their series, if admitted, still are).
    if (this.#peers.size < this.maxSeries) this.#peers.set(key, p);
    return p;
  }

  /** One finished request, for a caller that holds the labels rather than a handle. */
  recordRequest(labels: PeerLabels, outcome: RequestOutcome, durationMs: number, requestBytes: number, responseBytes: number): void {
    this.peer(labels).recordRequest(outcome, durationMs, requestBytes, responseBytes);
  }

  recordTcpOpen(labels: PeerLabels, flags?: string): void {
    this.peer(labels).recordTcpOpen(flags);
  }

  recordTcpBytes(labels: PeerLabels, sent: number, received: number, flags?: string): void {
    this.peer(labels).recordTcpBytes(sent, received, flags);
  }

  recordTcpClose(labels: PeerLabels, sent?: number, received?: number, flags?: string): void {
    this.peer(labels).recordTcpClose(sent, received, flags);
  }

  /** Distinct series of the HTTP and of the TCP metrics (each of a family has the same count). */
  get seriesCount(): { http: number; tcp: number } {
    return { http: this.httpSeries.length, tcp: this.tcpSeries.length };
  }

  /** @internal whether one more series of the family fits; counts the drop when not. */
  admitSeries(family: 'http' | 'tcp'): boolean {
    const n = family === 'http' ? this.httpSeries.length : this.tcpSeries.length;
    if (n < this.maxSeries) return true;
    for (const metric of family === 'http' ? HTTP_METRICS : TCP_METRICS) this.#dropped.inc({ metric });
    return false;
  }

  /**
   * The request and TCP metrics in Prometheus text, as chunks of at most 32 series each. Written
   * here rather than by prom-client's formatter: a series of Istio's 25 labels is 67 lines (three
   * histograms of 22), about 60 KB of text, and joining strings escaped once per series is two
   * orders of magnitude faster than formatting label objects at every scrape. Chunks let a
   * scrape of many series stream to the socket instead of being built as one string (the whole
   * text of 10,000 series would exceed what one JavaScript string can hold).
   */
  *chunks(): Generator<string> {
    const PER_CHUNK = 32;
    const head = (name: string, type: string, help: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    function* counter<S extends { labels: string }>(name: string, help: string, series: readonly S[], value: (s: S) => number): Generator<string> {
      if (series.length === 0) return;
      let out = head(name, 'counter', help);
      for (let i = 0; i < series.length; i++) {
        out += `${name}{${series[i]!.labels}} ${value(series[i]!)}\n`;
        if ((i + 1) % PER_CHUNK === 0) {
          yield out;
          out = '';
        }
      }
      if (out !== '') yield out;
    }
    const all = this.httpSeries;
    function* histogram(name: string, help: string, pick: (s: HttpSeries) => Histogram): Generator<string> {
      if (all.length === 0) return;
      let out = head(name, 'histogram', help);
      for (let n = 0; n < all.length; n++) {
        const s = all[n]!;
        const h = pick(s);
        let cumulative = 0;
        for (let i = 0; i < ENVOY_DEFAULT_BUCKETS.length; i++) {
          cumulative += h.counts[i]!;
          out += `${name}_bucket{${s.labels},le="${ENVOY_DEFAULT_BUCKETS[i]}"} ${cumulative}\n`;
        }
        out += `${name}_bucket{${s.labels},le="+Inf"} ${h.count}\n${name}_sum{${s.labels}} ${h.sum}\n${name}_count{${s.labels}} ${h.count}\n`;
        if ((n + 1) % PER_CHUNK === 0) {
          yield out;
          out = '';
        }
      }
      if (out !== '') yield out;
    }
    yield* counter('istio_requests_total', 'Total requests', this.httpSeries, (s) => s.requests);
    yield* histogram('istio_request_duration_milliseconds', 'Request duration in milliseconds', (s) => s.duration);
    yield* histogram('istio_request_bytes', 'Request sizes in bytes', (s) => s.requestBytes);
    yield* histogram('istio_response_bytes', 'Response sizes in bytes', (s) => s.responseBytes);
    yield* counter('istio_tcp_sent_bytes_total', 'Total bytes sent during response in case of a TCP connection', this.tcpSeries, (s) => s.sent);
    yield* counter('istio_tcp_received_bytes_total', 'Total bytes received during request in case of a TCP connection', this.tcpSeries, (s) => s.received);
    yield* counter('istio_tcp_connections_opened_total', 'Total TCP connections opened', this.tcpSeries, (s) => s.opened);
    yield* counter('istio_tcp_connections_closed_total', 'Total TCP connections closed', this.tcpSeries, (s) => s.closed);
  }

  /** The request and TCP metrics as one string (for tests and small registries; endpoints stream `chunks()`). */
  exposition(): string {
    return [...this.chunks()].join('');
  }

  /** Everything, as chunks: the registry's metrics (istio_build, drops, whatever else the owner registered), then the Istio series. */
  async *textChunks(): AsyncGenerator<string> {
    yield await this.registry.metrics();
    yield* this.chunks();
  }

  /** Everything as one string; see textChunks() for large registries. */
  async metrics(): Promise<string> {
    return `${await this.registry.metrics()}${this.exposition()}`;
  }
}

/** `name="value",...` with Prometheus's escaping of label values. */
function labelText(labels: Record<string, string>): string {
  let s = '';
  for (const k in labels) s += `${s === '' ? '' : ','}${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
  return s;
}

export { HTTP_LABEL_NAMES, TCP_LABEL_NAMES };
