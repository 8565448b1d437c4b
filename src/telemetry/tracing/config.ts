// Tracing settings from MeshConfig: the collector of the opentelemetry provider that
// defaultProviders.tracing names (or the only one there is), and defaultConfig.tracing.sampling.
// Typed by shape, not by the config domain's types: telemetry sits beside config, not above it.
import { parseDuration } from '../../lib/duration.js';
import type { CollectorEndpoint } from './tracer.js';

export interface TracingMeshSettings {
  readonly extensionProviders?: readonly {
    readonly name: string;
    readonly opentelemetry?: {
      readonly service: string;
      readonly port: number;
      readonly maxTagLength?: number;
      readonly http?: { readonly path?: string; readonly timeout?: string; readonly headers?: readonly { readonly name: string; readonly value?: string }[] };
    };
  }[];
  readonly defaultProviders?: { readonly tracing?: readonly string[] };
  readonly defaultConfig?: { readonly tracing?: { readonly sampling?: number } };
}

export interface TracingSettings {
  readonly collector?: CollectorEndpoint;
  readonly maxTagLength?: number;
  /** Percent, 0.01 precision; undefined: the default (1). */
  readonly samplingPercent?: number;
}

/** OTLP/HTTP's default path, used when the provider gives none (or asks for gRPC, which weft does not speak). */
export const DEFAULT_OTLP_HTTP_PATH = '/v1/traces';

export function tracingSettings(mesh: TracingMeshSettings): TracingSettings {
  const providers = (mesh.extensionProviders ?? []).filter((p) => p.opentelemetry !== undefined);
  const named = mesh.defaultProviders?.tracing?.[0];
  const provider = named === undefined ? (providers.length === 1 ? providers[0] : undefined) : providers.find((p) => p.name === named);
  const otel = provider?.opentelemetry;
  const sampling = mesh.defaultConfig?.tracing?.sampling;
  const out: { collector?: CollectorEndpoint; maxTagLength?: number; samplingPercent?: number } = {};
  if (sampling !== undefined) out.samplingPercent = sampling;
  if (otel === undefined) return out;
  const host = otel.service.includes('/') ? otel.service.slice(otel.service.indexOf('/') + 1) : otel.service;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const headers = Object.fromEntries((otel.http?.headers ?? []).map((h) => [h.name, h.value ?? '']));
  out.collector = {
    url: `http://${hostPart}:${otel.port}${otel.http?.path ?? DEFAULT_OTLP_HTTP_PATH}`,
    ...(otel.http?.timeout === undefined ? {} : { timeoutMs: parseDuration(otel.http.timeout) }),
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
  };
  if (otel.maxTagLength !== undefined) out.maxTagLength = otel.maxTagLength;
  return out;
}
