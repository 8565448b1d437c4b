// Building blocks of a Prometheus endpoint: the standard process metrics, counters read from a
// plain stats object at scrape time, and an endpoint that streams the text with a bound on
// scrapes rendering at once, so a flood of scrapes costs a few renderings, not one each.
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/**
 * A registry with prom-client's process metrics: CPU (process_cpu_seconds_total), resident memory
 * (process_resident_memory_bytes), heap (nodejs_heap_size_used_bytes), event-loop delay
 * (nodejs_eventloop_lag_seconds and its percentiles), open descriptors (process_open_fds).
 */
export function processMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/**
 * One metric per field of `stats()`, named `<prefix><field>`, read at scrape: names ending in
 * `_total` are counters, the others gauges. The fields are those `stats()` has when this runs.
 */
export function registerStats(registry: Registry, prefix: string, help: string, stats: () => Readonly<Record<string, number>>): void {
  for (const name of Object.keys(stats())) {
    const read = () => stats()[name] ?? 0;
    const text = `${help}: ${name.replace(/_/g, ' ')}`;
    if (name.endsWith('_total')) {
      new Counter({ name: `${prefix}${name}`, help: text, registers: [registry], collect() { this.reset(); this.inc(read()); } });
    } else {
      new Gauge({ name: `${prefix}${name}`, help: text, registers: [registry], collect() { this.set(read()); } });
    }
  }
}

/** Prometheus's text format content type. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** A source of Prometheus text: a prom-client registry, or anything that streams text chunks. */
export type TextSource = Registry | { textChunks(): AsyncIterable<string> };

/**
 * A Prometheus endpoint over several sources. The text streams to the socket chunk by chunk with
 * backpressure, so a large registry never becomes one string in memory; at most `maxConcurrent`
 * scrapes render at once, and a scrape beyond that is answered 503 at once (Prometheus counts it
 * as a failed scrape and tries again at its next interval).
 */
export class PrometheusExposition {
  readonly #parts: readonly TextSource[];
  readonly #max: number;
  #active = 0;
  #renders = 0;
  #refused = 0;

  constructor(parts: readonly TextSource[], opts: { maxConcurrent?: number } = {}) {
    this.#parts = parts;
    this.#max = opts.maxConcurrent ?? 2;
  }

  /** Scrapes rendered, and scrapes refused because `maxConcurrent` were rendering. */
  get stats(): { renders: number; refused: number } {
    return { renders: this.#renders, refused: this.#refused };
  }

  async *text(): AsyncGenerator<string> {
    for (const part of this.#parts) {
      if (part instanceof Registry) {
        const t = await part.metrics();
        yield t.endsWith('\n') || t === '' ? t : `${t}\n`;
      } else {
        yield* part.textChunks();
      }
    }
  }

  /** The whole text as one string (tests, small sources). */
  async scrape(): Promise<string> {
    let out = '';
    for await (const chunk of this.text()) out += chunk;
    return out;
  }

  /** Answers one HTTP scrape. */
  serve(res: ServerResponse, head = false): void {
    if (this.#active >= this.#max) {
      this.#refused++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('a scrape is already being rendered: try again\n');
      return;
    }
    this.#active++;
    this.#renders++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.#active--;
    };
    res.once('close', finish);
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    if (head) {
      res.end();
      return;
    }
    const body = Readable.from(this.text(), { objectMode: false });
    body.once('error', (err: Error) => res.destroy(err));
    body.pipe(res);
  }
}
