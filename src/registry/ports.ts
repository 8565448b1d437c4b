// A workload's service ports, Kubernetes Service style (name, port, targetPort, appProtocol), and
// the protocol of each as Istio selects it: `appProtocol` when set, else the port name's prefix
// before the first "-" (`http`, `http-web`, `grpc-api`, `tcp-db`...), else unnamed: the proxy
// sniffs. A port whose name or appProtocol says UDP is refused: the mesh carries TCP only.
import { RegistryError } from './errors.js';
import { labelKeyProblem } from './labels.js';
import { MAX_PORTS } from './limits.js';

/** Istio's protocol names, as a ServiceEntry port states them. */
export const SERVICE_PROTOCOLS = ['HTTP', 'HTTP2', 'HTTPS', 'GRPC', 'GRPC-WEB', 'TCP', 'TLS', 'MONGO', 'MYSQL', 'REDIS'] as const;
/** A known protocol, or '' for an unnamed port (the protocol is sniffed). */
export type ServiceProtocol = (typeof SERVICE_PROTOCOLS)[number] | '';

export interface ServicePort {
  readonly name: string;
  /** The port callers name: Host `service.namespace:PORT`. */
  readonly port: number;
  readonly protocol: ServiceProtocol;
  /** The port the app listens on; 0 or absent: unknown (a sidecar of an older version). */
  readonly targetPort?: number;
  /** Kubernetes' `appProtocol`; '' or absent when not set. */
  readonly appProtocol?: string;
}

/** A port name: empty, or a DNS label. */
const PORT_NAME = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/;

/** Ports Istio takes as TCP when the name says nothing (ssh, smtp, dns, mysql, mongo). */
const WELL_KNOWN_TCP_PORTS = new Set([22, 25, 53, 3306, 27017]);

const BY_PREFIX: ReadonlyMap<string, ServiceProtocol> = new Map(Object.entries({
  http: 'HTTP',
  http2: 'HTTP2',
  https: 'HTTPS',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-WEB',
  tcp: 'TCP',
  tls: 'TLS',
  mongo: 'MONGO',
  mysql: 'MYSQL',
  redis: 'REDIS',
} satisfies Record<string, ServiceProtocol>));

/** Kubernetes' standard appProtocol names (KEP-3726) and what Istio makes of them. */
const KUBERNETES_APP_PROTOCOLS: ReadonlyMap<string, ServiceProtocol> = new Map(Object.entries({
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
} satisfies Record<string, ServiceProtocol>));

/** Thrown inside selection: the caller names the field. */
class UdpPort extends Error {}

/**
 * The protocol of a port as Istio selects it (case-insensitive): `appProtocol` if set, else the
 * name's prefix; '' (unnamed, sniffed) when neither names a known protocol, except that a few
 * well-known TCP ports are TCP.
 *
 * @throws RegistryError WEFT_REGISTRATION_INVALID when the name or appProtocol says UDP.
 */
export function selectProtocol(name: string, port: number, appProtocol = ''): ServiceProtocol {
  try {
    return select(name, port, appProtocol);
  } catch (err) {
    if (!(err instanceof UdpPort)) throw err;
    throw new RegistryError('WEFT_REGISTRATION_INVALID', `port ${JSON.stringify(name)} (${port}) is UDP by its ${appProtocol === '' ? 'name' : 'appProtocol'}: the mesh carries TCP only`);
  }
}

function select(name: string, port: number, appProtocol: string): ServiceProtocol {
  let source = name;
  if (appProtocol !== '') {
    const standard = KUBERNETES_APP_PROTOCOLS.get(appProtocol.toLowerCase());
    if (standard !== undefined) return standard;
    source = appProtocol;
  }
  const lower = source.toLowerCase();
  // Checked before the split at "-", which would cut it to "grpc".
  if (lower === 'grpc-web' || lower.startsWith('grpc-web-')) return 'GRPC-WEB';
  const dash = lower.indexOf('-');
  const prefix = dash === -1 ? lower : lower.slice(0, dash);
  if (prefix === 'udp') throw new UdpPort();
  const known = BY_PREFIX.get(prefix);
  if (known !== undefined) return known;
  return WELL_KNOWN_TCP_PORTS.has(port) ? 'TCP' : '';
}

function invalid(message: string): never {
  throw new RegistryError('WEFT_REGISTRATION_INVALID', message);
}

function shown(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

/**
 * Checks a workload's ports and settles the protocol of each: the one its name or appProtocol
 * selects. A registration may also state `protocol` (an older sidecar always does): it must then
 * be a known protocol and agree with the selected one; on an unnamed port it stands.
 *
 * @throws RegistryError WEFT_REGISTRATION_INVALID naming the port field and why.
 */
export function validatePorts(ports: unknown): ServicePort[] {
  if (!Array.isArray(ports)) invalid('ports: a list of ports is required');
  if (ports.length > MAX_PORTS) invalid(`ports: ${ports.length} ports; a workload has at most ${MAX_PORTS}`);
  const out: ServicePort[] = [];
  const names = new Map<string, number>();
  const numbers = new Map<number, number>();
  for (const [i, raw] of (ports as unknown[]).entries()) {
    if (typeof raw !== 'object' || raw === null) invalid(`ports[${i}]: a port is an object with name, port and protocol`);
    const p = raw as Record<string, unknown>;
    if (typeof p.name !== 'string' || !PORT_NAME.test(p.name)) invalid(`ports[${i}].name: ${shown(p.name)} is not empty or a DNS label`);
    if (!isPort(p.port)) invalid(`ports[${i}].port: ${shown(p.port)} is not a port number`);
    const target = p.targetPort ?? 0;
    if (target !== 0 && !isPort(target)) invalid(`ports[${i}].targetPort: ${shown(target)} is not a port number`);
    const appProtocol = p.appProtocol ?? '';
    if (typeof appProtocol !== 'string') invalid(`ports[${i}].appProtocol: a string is required`);
    if (appProtocol !== '') {
      const problem = labelKeyProblem(appProtocol);
      if (problem !== undefined) invalid(`ports[${i}].appProtocol: ${shown(appProtocol)} is not a protocol name: ${problem}`);
    }
    const name = p.name;
    const port = p.port;
    if (name === '' && ports.length > 1) invalid(`ports[${i}].name: every port of a workload with several ports needs a name`);
    if (name !== '' && names.has(name)) invalid(`ports[${i}].name: "${name}" is also the name of ports[${names.get(name)}]`);
    if (numbers.has(port)) invalid(`ports[${i}].port: ${port} is also the port of ports[${numbers.get(port)}]`);
    names.set(name, i);
    numbers.set(port, i);
    let selected: ServiceProtocol;
    try {
      selected = selectProtocol(name, port, appProtocol);
    } catch (err) {
      invalid(`ports[${i}]: ${(err as Error).message}`);
    }
    const stated = p.protocol ?? '';
    if (stated !== '' && !(SERVICE_PROTOCOLS as readonly unknown[]).includes(stated)) invalid(`ports[${i}].protocol: ${shown(stated)} is not one of ${SERVICE_PROTOCOLS.join(', ')}`);
    if (stated !== '' && selected !== '' && stated !== selected) {
      invalid(`ports[${i}].protocol: ${stated} contradicts the ${appProtocol === '' ? `name "${name}"` : `appProtocol "${appProtocol}"`}, which selects ${selected}`);
    }
    const protocol = selected === '' ? (stated as ServiceProtocol) : selected;
    out.push({ name, port, protocol, ...(target === 0 ? {} : { targetPort: target as number }), ...(appProtocol === '' ? {} : { appProtocol }) });
  }
  return out;
}

/**
 * Why `ports` contradict the ports other workloads of the same service declare, or undefined when
 * they agree. One Kubernetes Service holds one definition of each port number: one protocol and
 * one name. Target ports may differ (each workload's app listens where it listens), and so may the
 * numbers behind one name: replicas that take their app port as their single `http` port (the
 * default) each declare another number, and a caller may name any of them.
 */
export function portConflict(ports: readonly ServicePort[], others: readonly ServicePort[], service: string): string | undefined {
  for (const p of ports) {
    for (const o of others) {
      if (o.port !== p.port) continue;
      if (o.protocol !== p.protocol) return `port ${p.port} of ${service} is ${describe(o)} for its other workloads, not ${describe(p)}: one service has one protocol per port`;
      if (o.name !== p.name) return `port ${p.port} of ${service} is named ${JSON.stringify(o.name)} by its other workloads, not ${JSON.stringify(p.name)}`;
    }
  }
  return undefined;
}

function describe(p: ServicePort): string {
  return p.protocol === '' ? 'unnamed (sniffed)' : p.protocol;
}
