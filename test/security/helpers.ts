// A sidecar pair whose serving side runs a policy the test swaps, with the three ways a request
// reaches it: through the client sidecar (the app's HTTP/1.1 to its outbound proxy, HTTP/2 over
// mTLS between sidecars), a peer speaking HTTP/2 with a mesh SVID directly, and a plaintext
// HTTP/1.1 client on the inbound port. Every decision the serving sidecar takes is recorded from
// its diagnostics channel, so a test compares what policy saw with what the app received.
import { connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { defaultMeshConfigSpec } from '../../src/config/index.js';
import { compilePolicies, resolveMtlsMode, type PathNormalization, type RequestAttributes } from '../../src/policy/index.js';
import { compileJwtRules, staticKeyResolver } from '../../src/policy/jwt/index.js';
import { fromYaml } from '../../src/policy/testing/fixtures.js';
import type { RequestAuthentication } from '../../src/config/index.js';
import { inboundDecidedChannel, type InboundDecidedMessage } from '../../src/proxy/diagnostics.js';
import { SidecarProxy, type InboundPolicy, type SidecarIdentity } from '../../src/proxy/index.js';
import { endpoint, idOf, MemoryLogger, MeshPki, startApp, StaticDirectory, type App, type SeenRequest } from '../proxy/helpers.js';

export const ISSUER = 'https://issuer.test';
export const AUTHORITY = 'details.default:9080';
const WORKLOAD = { namespace: 'default', labels: { app: 'details' } };
const APP_PORT = 9080;

export interface Answer {
  status: number;
  body: string;
}

export interface Rig {
  app: App;
  serverPort: number;
  outboundPort: number;
  /** The identity of the client sidecar, for a peer that speaks HTTP/2 itself. */
  peer: SidecarIdentity;
  decided: InboundDecidedMessage[];
  /** Swaps the serving sidecar's policy. */
  use: (policy: InboundPolicy | undefined) => void;
  sign: (claims: Record<string, unknown>, opts?: { foreignKey?: boolean }) => Promise<string>;
  jwks: string;
  /** The serving sidecar's counters. */
  serverStats: () => Record<string, number>;
  close: () => Promise<void>;
}

export async function startRig(): Promise<Rig> {
  const mesh = await MeshPki.create();
  const app = await startApp('details');
  const directory = new StaticDirectory();
  let policy: InboundPolicy | undefined;
  const server = new SidecarProxy({ identity: await mesh.identity('details'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: app.port }, logger: new MemoryLogger(), policy: () => policy });
  const serverPort = (await server.start()).inboundPort;
  const peer = await mesh.identity('productpage');
  const client = new SidecarProxy({ identity: peer, directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 }, logger: new MemoryLogger() });
  const outboundPort = (await client.start()).outboundPort!;
  directory.set('details.default', [endpoint(serverPort, idOf('details'))], [idOf('details')]);
  const decided: InboundDecidedMessage[] = [];
  const onDecided = (m: unknown): void => void decided.push(m as InboundDecidedMessage);
  inboundDecidedChannel.subscribe(onDecided);
  const pair = await generateKeyPair('ES256', { extractable: true });
  const other = (await generateKeyPair('ES256')).privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
  const sign = (claims: Record<string, unknown>, opts: { foreignKey?: boolean } = {}): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setSubject('alice').setIssuedAt().setExpirationTime('5m').sign((opts.foreignKey ? other : pair.privateKey) as CryptoKey);
  return {
    app,
    serverPort,
    outboundPort,
    peer,
    decided,
    use: (p) => void (policy = p),
    sign,
    jwks,
    serverStats: () => server.stats(),
    close: async () => {
      inboundDecidedChannel.unsubscribe(onDecided);
      await client.drain(1_000);
      await server.drain(1_000);
      await app.close();
    },
  };
}

/**
 * The serving sidecar's policy: `yaml` (AuthorizationPolicies selecting app: details), with a
 * RequestAuthentication of ISSUER whose claim `sub` goes to x-jwt-sub and payload to x-jwt-payload
 * when `jwks` is given, and PERMISSIVE mTLS when `permissive`.
 */
export function inboundPolicy(opts: { yaml: string; normalization?: PathNormalization; jwks?: string; permissive?: boolean }): InboundPolicy {
  const normalization = opts.normalization ?? 'BASE';
  let yaml = opts.yaml;
  if (opts.jwks !== undefined) {
    yaml += `\n---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: { name: jwt, namespace: default }\nspec:\n  selector: { matchLabels: { app: details } }\n  jwtRules: [{ issuer: "${ISSUER}", jwks: '${opts.jwks}', outputPayloadToHeader: x-jwt-payload, outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }] }]\n`;
  }
  if (opts.permissive === true) yaml += '\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: permissive, namespace: default }\nspec: { mtls: { mode: PERMISSIVE } }\n';
  const resources = fromYaml(yaml);
  const mesh = { ...defaultMeshConfigSpec(), pathNormalization: { normalization } };
  const compiled = compilePolicies({ mesh, workload: WORKLOAD, resources });
  const ras = resources.filter((r) => r.kind === 'RequestAuthentication') as unknown as RequestAuthentication[];
  const authn = compileJwtRules(ras, WORKLOAD, mesh.rootNamespace);
  const mode = resolveMtlsMode(compiled, APP_PORT).mode;
  // The clock of RequestAuthentication is the wall clock: the tokens are signed with it.
  const now = (): number => performance.timeOrigin + performance.now();
  return { compiled, normalization, acceptPlaintext: mode === 'PERMISSIVE' || mode === 'DISABLE', jwt: { authn, resolver: staticKeyResolver(), now } };
}

/** An AuthorizationPolicy for app: details, its spec given as YAML lines under `spec:`. */
export function authz(name: string, spec: string): string {
  return `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: default }\nspec:\n  selector: { matchLabels: { app: details } }\n${spec}\n`;
}

/** HTTP/1.1 through the client sidecar's outbound proxy; `headers` as a flat list, so fields can repeat. */
export function viaSidecar(rig: Rig, target: string, headers: readonly string[] = ['host', AUTHORITY]): Promise<Answer> {
  return rawH1(rig.outboundPort, `GET ${target} HTTP/1.1\r\n${lines(headers)}connection: close\r\n\r\n`);
}

/** HTTP/1.1 in plaintext straight to the serving sidecar's inbound port. */
export function plaintext(rig: Rig, target: string, headers: readonly string[] = ['host', AUTHORITY]): Promise<Answer> {
  return rawH1(rig.serverPort, `GET ${target} HTTP/1.1\r\n${lines(headers)}connection: close\r\n\r\n`);
}

function lines(headers: readonly string[]): string {
  let out = '';
  for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return out;
}

/** One request written byte for byte (so the target is sent exactly as given), read until close. */
function rawH1(port: number, text: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 15 s')), 15_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(all)?.[1] ?? 0), body: end === -1 ? '' : all.slice(end + 4) });
    });
    socket.write(text);
  });
}

/** HTTP/2 over mTLS straight to the serving sidecar, as a peer holding the client sidecar's SVID. */
export function asPeer(rig: Rig, headers: Record<string, string | string[]>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${rig.serverPort}`, {
      key: rig.peer.keyPem,
      cert: rig.peer.certChainPem,
      ca: rig.peer.bundlePem,
      // A sidecar's certificate names a SPIFFE ID, not a hostname: trust the chain only.
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => session.destroy(new Error('no answer within 15 s')), 15_000);
    session.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const req = session.request({ ':method': 'GET', ...headers }, { endStream: true });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.once('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, body });
    });
  });
}

/** What the app received as a comparable record: target, Host, and every field in order (no hop fields). */
export function appView(seen: SeenRequest): { target: string; host: string | undefined; fields: Record<string, string[]> } {
  const fields: Record<string, string[]> = {};
  let host: string | undefined;
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = seen.rawHeaders[i]!.toLowerCase();
    const value = seen.rawHeaders[i + 1]!;
    if (name === 'host') host = value;
    else if (name !== 'connection' && name !== 'keep-alive') (fields[name] ??= []).push(value);
  }
  return { target: seen.url, host, fields };
}

/** What policy saw, in the same shape: `:path`, the host and every field (pseudo-headers and host left out). */
export function policyView(a: RequestAttributes): { target: string; host: string | undefined; fields: Record<string, string[]> } {
  const fields: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(a.headers ?? {})) {
    if (name.startsWith(':') || name === 'host' || value === undefined) continue;
    fields[name] = typeof value === 'string' ? [value] : [...value];
  }
  return { target: String(a.headers?.[':path']), host: a.host, fields };
}
