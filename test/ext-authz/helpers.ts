// A sidecar pair (test/security/helpers.ts) whose serving side enforces CUSTOM policies against
// the example authorization server (examples/ext-authz/server.ts), and requests sent the way an
// app sends them: HTTP/1.1 to its sidecar's outbound proxy, HTTP/2 over mTLS between sidecars.
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { defaultMeshConfigSpec, type ExtensionProvider } from '../../src/config/index.js';
import { compilePolicies } from '../../src/policy/index.js';
import { fromYaml } from '../../src/policy/testing/fixtures.js';
import { ExtAuthz, type InboundPolicy } from '../../src/proxy/index.js';
import { providerUses } from '../../src/sidecar/active-config.js';
import { MemoryLogger, httpRequest, type Reply } from '../proxy/helpers.js';
import { AUTHORITY, authz, startRig, type Rig } from '../security/helpers.js';
import { startAuthzServer, type AuthzServer, type RuleFile } from '../../examples/ext-authz/server.js';

export { authz, AUTHORITY };

const WORKLOAD = { namespace: 'default', labels: { app: 'details' } };

export const RULES: RuleFile = {
  rules: [
    { match: { pathPrefix: '/check/secure/admin' }, decision: { allowed: false, http_status: 451, body: 'admins only\n', headers: { 'x-authz-reason': 'admin-area' } } },
    { match: { pathPrefix: '/secure/admin' }, decision: { allowed: false, http_status: 451, body: 'admins only\n', headers: { 'x-authz-reason': 'admin-area' } } },
    { match: { headers: { 'x-user': 'alice' } }, decision: { allowed: true, headers: { 'x-authz-user': 'alice' }, response_headers_to_add: { 'x-authz-note': 'seen' } } },
    { match: { bodyContains: 'letmein' }, decision: { allowed: true } },
    { match: { headers: { 'x-ttl': 'zero' } }, decision: { allowed: true, ttl: '0s' } },
    { match: { pathPrefix: '/check/public' }, decision: { allowed: true } },
    { match: { pathPrefix: '/public' }, decision: { allowed: true } },
  ],
  default: { allowed: false, http_status: 403, body: 'denied by the example authorizer\n' },
};

export interface ExtRig {
  rig: Rig;
  authz: AuthzServer;
  ext: ExtAuthz;
  logger: MemoryLogger;
  /** Puts CUSTOM policies (YAML) and providers in force on the serving sidecar. */
  use(providers: ExtensionProvider[], yaml: string, opts?: { plaintext?: boolean }): InboundPolicy;
  /** A plaintext HTTP/1.1 request straight to the serving sidecar's inbound port (PERMISSIVE). */
  sendPlain(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** A request through the client sidecar: the reply with its headers. */
  send(path: string, opts?: { method?: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<Reply>;
  close(): Promise<void>;
}

export async function startExtRig(): Promise<ExtRig> {
  const rig = await startRig();
  const server = await startAuthzServer({ rules: RULES });
  const logger = new MemoryLogger();
  const ext = new ExtAuthz({ logger });
  const parsed = new Map<string, ReturnType<typeof fromYaml>>();
  return {
    rig,
    authz: server,
    ext,
    logger,
    use(providers, yaml, opts = {}) {
      // The same YAML is the same stored resources (same resourceVersion), as an unchanged snapshot.
      const resources = parsed.get(yaml) ?? fromYaml(yaml);
      parsed.set(yaml, resources);
      const mesh = { ...defaultMeshConfigSpec(), extensionProviders: providers };
      const compiled = compilePolicies({ mesh, workload: WORKLOAD, resources });
      const policy: InboundPolicy = { compiled, normalization: 'BASE', acceptPlaintext: opts.plaintext === true, extAuthz: ext.prepare(providerUses(compiled, resources)) };
      rig.use(policy);
      return policy;
    },
    send: (path, opts = {}) =>
      httpRequest(rig.outboundPort, { path, method: opts.method ?? 'GET', headers: { host: AUTHORITY, ...(opts.headers ?? {}) }, ...(opts.body === undefined ? {} : { body: opts.body }) }),
    sendPlain: (path, headers = {}) => httpRequest(rig.serverPort, { path, headers: { host: AUTHORITY, ...headers } }),
    close: async () => {
      ext.close();
      await server.close();
      await rig.close();
    },
  };
}

/** A CUSTOM policy for app: details naming `provider`, selecting what `rules` (YAML flow) selects. */
export function custom(provider: string, rules = '[{}]'): string {
  return authz('ext', `  action: CUSTOM\n  provider: { name: ${provider} }\n  rules: ${rules}`);
}

/** A TCP listener that plays a broken provider: `behaviour` gets every accepted socket. */
export async function brokenProvider(behaviour: (s: Socket) => void): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
    behaviour(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const p = await brokenProvider(() => undefined);
  await p.close();
  return p.port;
}
