// `weft sidecar` flags that describe the workload to the mesh: its service ports (Kubernetes
// ServicePort: --port NAME:PORT[:TARGET_PORT], --app-protocol NAME=PROTO), its locality, and how
// its app's health is probed (--app-health and the Kubernetes readiness-probe numbers).
import { InvalidArgumentError } from 'commander';
import { localityProblem, MAX_PORTS, validatePorts } from '../../registry/index.js';
import { isWeftError } from '../../lib/errors.js';
import type { AppHealthCheck, AppHealthSettings } from '../../sidecar/app-health.js';
import { DEFAULT_APP_HEALTH } from '../../sidecar/app-health.js';
import type { WorkloadPort } from '../../sidecar/index.js';
import { UsageError } from '../output.js';

/** An HTTP probe path: origin-form, printable ASCII, bounded. */
const PROBE_PATH = /^\/[\x21-\x7e]{0,2047}$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw new InvalidArgumentError(`${what} "${text}" is not a port from 1 to 65535`);
  return n;
}

/** `--port NAME:PORT[:TARGET_PORT]`, repeatable: collects into `previous`. */
export function portFlag(value: string, previous: WorkloadPort[] = []): WorkloadPort[] {
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3) throw new InvalidArgumentError(`"${value.slice(0, 80)}" is not NAME:PORT[:TARGET_PORT] (e.g. http:9080 or grpc-api:9090:50051)`);
  const [name, portText, targetText] = parts as [string, string, string | undefined];
  if (!PORT_NAME.test(name)) throw new InvalidArgumentError(`port name "${name.slice(0, 80)}" is not a DNS label (lowercase letters, digits and "-", at most 63; e.g. http, http-web, grpc-api, tcp-db)`);
  if (previous.length >= MAX_PORTS) throw new InvalidArgumentError(`at most ${MAX_PORTS} ports`);
  const p: WorkloadPort = { name, port: port(portText, 'port') };
  if (targetText !== undefined) p.targetPort = port(targetText, 'target port');
  return [...previous, p];
}

/** `--app-protocol NAME=PROTO`, repeatable: Kubernetes' appProtocol of the port NAME. */
export function appProtocolFlag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`"${value.slice(0, 80)}" is not NAME=PROTOCOL (e.g. web=http2 or api=grpc)`);
  const name = value.slice(0, eq);
  if (Object.hasOwn(previous, name)) throw new InvalidArgumentError(`the appProtocol of port "${name}" is given twice`);
  return { ...previous, [name]: value.slice(eq + 1) };
}

/** `--locality region/zone/subzone`. */
export function localityFlag(value: string): string {
  const problem = localityProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`"${value.slice(0, 80)}" is not region/zone/subzone: ${problem}`);
  return value;
}

/** `--app-health http:/PATH | tcp | none`. */
export function appHealthFlag(value: string): AppHealthCheck {
  if (value === 'tcp' || value === 'none') return { kind: value };
  if (value.startsWith('http:')) {
    const path = value.slice(5);
    if (!PROBE_PATH.test(path)) throw new InvalidArgumentError(`"${value.slice(0, 80)}": the path of an HTTP check starts with "/" and is at most 2048 printable characters, no spaces`);
    return { kind: 'http', path };
  }
  throw new InvalidArgumentError(`"${value.slice(0, 80)}" is not http:/PATH, tcp or none`);
}

export interface WorkloadFlags {
  servicePort?: number;
  port?: WorkloadPort[];
  appProtocol?: Record<string, string>;
  appHealth?: AppHealthCheck;
  appHealthInterval?: number;
  appHealthTimeout?: number;
  appHealthSuccessThreshold?: number;
  appHealthFailureThreshold?: number;
}

/**
 * The service ports the flags declare, each checked as the registry will (names, duplicates,
 * protocol selection): a mistake is a usage error now, not a refused registration later.
 *
 * @throws UsageError naming the flag.
 */
export function workloadPorts(flags: WorkloadFlags, appPort: number): WorkloadPort[] {
  if (flags.port !== undefined && flags.servicePort !== undefined) throw new UsageError('give --port NAME:PORT[:TARGET_PORT] or --service-port PORT, not both');
  const ports = flags.port ?? [{ name: 'http', port: flags.servicePort ?? appPort }];
  const appProtocols = flags.appProtocol ?? {};
  for (const name of Object.keys(appProtocols)) {
    if (!ports.some((p) => p.name === name)) throw new UsageError(`--app-protocol ${name}=${appProtocols[name]}: no --port is named "${name}"`);
  }
  const withProtocols = ports.map((p) => (appProtocols[p.name] === undefined ? p : { ...p, appProtocol: appProtocols[p.name] }));
  for (const [i, p] of withProtocols.entries()) {
    const earlier = withProtocols.slice(0, i);
    if (earlier.some((q) => q.name === p.name)) throw new UsageError(`--port ${p.name}:${p.port}: the name "${p.name}" is given twice`);
    const same = earlier.find((q) => q.port === p.port);
    if (same !== undefined) throw new UsageError(`--port ${p.name}:${p.port}: port ${p.port} is also --port ${same.name}:${same.port}`);
  }
  try {
    validatePorts(withProtocols.map((p) => ({ ...p, protocol: '' })));
  } catch (err) {
    if (!isWeftError(err)) throw err;
    const m = /^ports\[(\d+)\](?:\.(\w+))?: (.*)$/s.exec(err.message);
    const p = m ? withProtocols[Number(m[1])] : undefined;
    if (m === null || p === undefined) throw new UsageError(`--port: ${err.message}`);
    const flag = /appProtocol/.test(err.message) ? `--app-protocol ${p.name}=${p.appProtocol}` : `--port ${p.name}:${p.port}`;
    throw new UsageError(`${flag}: ${m[3]}`);
  }
  return withProtocols;
}

/** The app health settings: Kubernetes' readiness-probe defaults unless a flag says otherwise. */
export function appHealthSettings(flags: WorkloadFlags): AppHealthSettings {
  const d = DEFAULT_APP_HEALTH;
  const settings = {
    check: flags.appHealth ?? d.check,
    periodMs: flags.appHealthInterval ?? d.periodMs,
    timeoutMs: flags.appHealthTimeout ?? d.timeoutMs,
    successThreshold: flags.appHealthSuccessThreshold ?? d.successThreshold,
    failureThreshold: flags.appHealthFailureThreshold ?? d.failureThreshold,
  };
  if (settings.periodMs < 1_000) throw new UsageError(`--app-health-interval must be at least 1s (Kubernetes' lower bound), not ${settings.periodMs} ms`);
  if (settings.periodMs > 3_600_000) throw new UsageError('--app-health-interval must be at most 1h');
  if (settings.timeoutMs > settings.periodMs) throw new UsageError(`--app-health-timeout (${settings.timeoutMs} ms) must not be longer than --app-health-interval (${settings.periodMs} ms)`);
  return settings;
}
