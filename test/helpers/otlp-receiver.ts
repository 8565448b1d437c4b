// An OTLP/HTTP trace receiver for tests: a node:http server on 127.0.0.1 that accepts the
// OpenTelemetry exporter's export requests and decodes them. The exporter of the pinned line
// (exporter-trace-otlp-http 0.223.1) sends OTLP's JSON encoding (its otlp-transformer no longer
// ships a generated protobuf root), so requests are read as that JSON, typed by otlp-transformer's
// own request types.
import { createServer, type Server } from 'node:http';
import type { IExportTraceServiceRequest } from '@opentelemetry/otlp-transformer/build/src/trace/internal-types.js';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** OTLP's SpanKind: 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly serviceName?: string;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly requests: number;
  /** Resolves once at least `n` spans arrived (bounded by `timeoutMs`). */
  waitForSpans(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

function value(v: unknown): unknown {
  const o = v as Record<string, unknown> | undefined;
  if (o === undefined) return undefined;
  return o.stringValue ?? o.intValue ?? o.doubleValue ?? o.boolValue;
}

/** Starts a receiver; `mode: 'hang'` accepts requests and never answers (a slow collector). */
export async function startOtlpReceiver(opts: { mode?: 'ok' | 'hang' } = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (opts.mode === 'hang') return;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as IExportTraceServiceRequest;
      for (const rs of body.resourceSpans ?? []) {
        const serviceName = rs.resource?.attributes.find((a) => a.key === 'service.name');
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: String(s.traceId),
              spanId: String(s.spanId),
              ...(s.parentSpanId === undefined || s.parentSpanId === '' ? {} : { parentSpanId: String(s.parentSpanId) }),
              name: s.name,
              kind: Number(s.kind),
              attributes: Object.fromEntries(s.attributes.map((a) => [a.key, value(a.value)])),
              ...(serviceName === undefined ? {} : { serviceName: String(value(serviceName.value)) }),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    get requests() {
      return requests;
    },
    async waitForSpans(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (spans.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${spans.length} of ${n} spans arrived`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 200);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return spans;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
