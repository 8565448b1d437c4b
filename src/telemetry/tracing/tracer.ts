// Spans of the sidecar's hops, exported over OTLP/HTTP by the OpenTelemetry SDK. One tracer
// provider per process; a BatchSpanProcessor with a bounded queue between the request path and
// the exporter, so a slow or absent collector costs memory up to the bound and nothing more: a
// span that finds the queue full is dropped and counted, never waited for.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type IdGenerator, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { newSpanId, newTraceId, type HopContext } from './context.js';

/** Where spans go: an OTLP/HTTP endpoint. */
export interface CollectorEndpoint {
  /** http://host:port/path */
  readonly url: string;
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface MeshTracerOptions {
  /** The workload's resource: `service.name` is `<canonical service>.<namespace>`, as Istio's proxies report. */
  readonly serviceName: string;
  readonly resourceAttributes?: Attributes;
  /** The collector; none: spans are built and counted but go nowhere (no exporter). */
  readonly collector?: CollectorEndpoint;
  /** An exporter instead of the OTLP one (tests). */
  readonly exporter?: SpanExporter;
  /** Ended spans waiting for export; past it they are dropped and counted (default 2048). */
  readonly maxQueueSize?: number;
  readonly maxExportBatchSize?: number;
  /** How long spans wait before a batch goes (default 1 s). */
  readonly scheduledDelayMs?: number;
  /** Longest attribute value (Istio's maxTagLength; default 256). */
  readonly maxTagLength?: number;
}

export interface TracerStats {
  readonly spansStarted: number;
  readonly spansEnded: number;
  readonly spansDropped: number;
}

/** The outcome of a hop, set on its span when it ends. */
export interface HopOutcome {
  readonly responseCode?: number;
  readonly responseFlags?: string;
  readonly attributes?: Attributes;
}

/** One hop's span; ending it is synchronous and never waits for the collector. */
export interface HopSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  end(outcome?: HopOutcome): void;
}

/** Istio's span name of a default route: `<service fqdn>:<port>/*`. */
export function hopSpanName(serviceFqdn: string, port: number): string {
  return `${serviceFqdn}:${port}/*`;
}

/**
 * Counts spans the batch processor turns away. The SDK keeps its queue and drop count private and
 * resets the count once it logs it; this wrapper looks at the queue before handing a span over.
 */
class CountingProcessor implements SpanProcessor {
  dropped = 0;
  readonly #inner: BatchSpanProcessor;
  readonly #max: number;

  constructor(inner: BatchSpanProcessor, max: number) {
    this.#inner = inner;
    this.#max = max;
  }

  get queued(): number {
    return (this.#inner as unknown as { _finishedSpans?: unknown[] })._finishedSpans?.length ?? 0;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.queued >= this.#max) this.dropped++;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** Gives the SDK the ids of the hop being started; random ones otherwise. */
class HopIds implements IdGenerator {
  next: { traceId: string; spanId: string } | undefined;

  generateTraceId(): string {
    return this.next?.traceId ?? newTraceId();
  }

  generateSpanId(): string {
    return this.next?.spanId ?? newSpanId();
  }
}

/** The process's tracer: hop spans in, OTLP out. */
export class MeshTracer {
  readonly #provider: BasicTracerProvider | undefined;
  readonly #processor: CountingProcessor | undefined;
  readonly #maxTag: number;
  readonly #ids = new HopIds();
  #started = 0;
  #ended = 0;

  constructor(opts: MeshTracerOptions) {
    this.#maxTag = opts.maxTagLength ?? 256;
    const exporter = opts.exporter ?? (opts.collector === undefined ? undefined : otlpExporter(opts.collector));
    if (exporter === undefined) return;
    const max = opts.maxQueueSize ?? 2048;
    const batch = new BatchSpanProcessor(exporter, {
      maxQueueSize: max,
      maxExportBatchSize: Math.min(opts.maxExportBatchSize ?? 512, max),
      scheduledDelayMillis: opts.scheduledDelayMs ?? 1000,
      exportTimeoutMillis: opts.collector?.timeoutMs ?? 10_000,
    });
    this.#processor = new CountingProcessor(batch, max);
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName, ...opts.resourceAttributes }),
      sampler: new AlwaysOnSampler(),
      spanProcessors: [this.#processor],
      spanLimits: { attributeValueLengthLimit: this.#maxTag, attributeCountLimit: 64 },
      idGenerator: this.#ids,
    });
  }

  /** Whether spans go anywhere. */
  get exporting(): boolean {
    return this.#provider !== undefined;
  }

  get stats(): TracerStats {
    return { spansStarted: this.#started, spansEnded: this.#ended, spansDropped: this.#processor?.dropped ?? 0 };
  }

  /** Spans ended and waiting for export (never more than the queue bound). */
  get queued(): number {
    return this.#processor?.queued ?? 0;
  }

  /** The server span of an inbound hop (the callee's sidecar). */
  serverSpan(hop: HopContext, name: string, attributes: Attributes = {}): HopSpan {
    return this.#span(SpanKind.SERVER, hop, name, attributes);
  }

  /** The client span of an outbound hop (the caller's sidecar). */
  clientSpan(hop: HopContext, name: string, attributes: Attributes = {}): HopSpan {
    return this.#span(SpanKind.CLIENT, hop, name, attributes);
  }

  /**
   * The span of a hop, with the hop's own ids: the headers sent on already name them, so the SDK
   * is handed them through its id generator (synchronously, just for this call) rather than
   * making its own.
   */
  #span(kind: SpanKind, hop: HopContext, name: string, attributes: Attributes): HopSpan {
    if (!hop.sampled || this.#provider === undefined) {
      return { traceId: hop.traceId, spanId: hop.spanId, sampled: hop.sampled, end: () => {} };
    }
    const parent = hop.parentSpanId === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, { traceId: hop.traceId, spanId: hop.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    this.#ids.next = { traceId: hop.traceId, spanId: hop.spanId };
    let span: Span;
    try {
      span = this.#provider.getTracer('weft').startSpan(name, { kind, attributes: { ...attributes, 'guid:x-request-id': hop.requestId } }, parent);
    } finally {
      this.#ids.next = undefined;
    }
    this.#started++;
    const ctx = span.spanContext();
    let ended = false;
    return {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      sampled: true,
      end: (outcome) => {
        if (ended) return;
        ended = true;
        if (outcome?.responseCode !== undefined) span.setAttribute('http.status_code', String(outcome.responseCode));
        if (outcome?.responseFlags !== undefined) span.setAttribute('response_flags', outcome.responseFlags);
        if (outcome?.attributes !== undefined) span.setAttributes(outcome.attributes);
        if (outcome?.responseCode !== undefined && (outcome.responseCode >= 500 || outcome.responseCode === 0)) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        this.#ended++;
      },
    };
  }

  /** Sends what is queued (bounded by the export timeout); for a clean stop. */
  async flush(): Promise<void> {
    await this.#provider?.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.#provider?.shutdown();
  }
}

function otlpExporter(c: CollectorEndpoint): SpanExporter {
  // One export in flight at a time: a collector that never answers holds one request, not thirty.
  return new OTLPTraceExporter({ url: c.url, timeoutMillis: c.timeoutMs ?? 10_000, headers: { ...c.headers }, concurrencyLimit: 1 });
}
