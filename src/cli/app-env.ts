// The environment an application behind a sidecar gets, so its HTTP, HTTPS and gRPC clients send
// calls to other services through the sidecar's outbound proxy without code changes (where the
// platform reads these variables: docs/app-integration.md says which do and how).
import type { HostPort } from './output.js';

/** Hosts an app reaches directly, never through its sidecar: itself and its own sidecar's admin. */
export const DIRECT_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;

/**
 * HTTP_PROXY and friends for an app whose sidecar's outbound proxy listens on `outbound`. Both
 * spellings are set: curl reads only the lower-case http_proxy, other clients the upper case.
 */
export function appProxyEnv(outbound: HostPort): Record<string, string> {
  const host = outbound.host.includes(':') ? `[${outbound.host}]` : outbound.host;
  const proxy = `http://${host}:${outbound.port}`;
  const noProxy = DIRECT_HOSTS.join(',');
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    NO_PROXY: noProxy,
    http_proxy: proxy,
    https_proxy: proxy,
    no_proxy: noProxy,
    grpc_proxy: proxy,
  };
}

/** `NAME=value` lines, for `env $(...)`, systemd's EnvironmentFile or docker's --env-file. */
export function formatEnv(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('');
}
