// Building blocks of a Prometheus endpoint: the standard process metrics, counters read from a
// plain stats object at scrape time, and a scrape that concurrent requests share, so a flood of
// scrapes costs one rendering at a time rather than one each.
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

/**
 * Renders the concatenation of `parts` (prom-client registries or text sources); scrapes that
 * arrive while one renders get the same result.
 */
export class PrometheusExposition {
  readonly #parts: readonly (Registry | { metrics(): Promise<string> | string })[];
  #inFlight: Promise<string> | undefined;
  #renders = 0;

  constructor(parts: readonly (Registry | { metrics(): Promise<string> | string })[]) {
    this.#parts = parts;
  }

  /** How many times the text was rendered (scrapes sharing a render count once). */
  get renders(): number {
    return this.#renders;
  }

  scrape(): Promise<string> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    this.#renders++;
    const p = (async () => {
      const texts: string[] = [];
      for (const part of this.#parts) {
        const t = await part.metrics();
        texts.push(t.endsWith('\n') || t === '' ? t : `${t}\n`);
      }
      return texts.join('');
    })();
    this.#inFlight = p;
    const clear = () => {
      if (this.#inFlight === p) this.#inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}
