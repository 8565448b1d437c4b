// Finds one sidecar's admin endpoint through the control plane's status, and reads it. Shared by
// `weft proxy-config` and `weft proxy-status`.
import { request } from 'node:http';
import type { SubscriberStatus } from '../../controlplane/discovery/publisher.js';
import { ProxyConfigError } from '../proxy-config-errors.js';
import { client } from './resources.js';

export { ProxyConfigError };

export interface MeshStatus {
  readonly snapshotVersion: number;
  readonly sidecars: readonly SubscriberStatus[];
}

export async function meshStatus(config: string | undefined): Promise<MeshStatus> {
  return client(config).call<MeshStatus>('GET', '/v1/status');
}

/** `ns/N/sa/S` of a SPIFFE ID of Istio's form, else the ID itself. */
export function shortIdentity(spiffeId: string): string {
  const m = /^spiffe:\/\/[^/]+\/(ns\/[^/]+\/sa\/[^/]+)$/.exec(spiffeId);
  return m === null ? spiffeId : m[1]!;
}

/**
 * The sidecar WORKLOAD names: a workload id, a SPIFFE ID, `NAME.NAMESPACE` or `NAME` (its service
 * account, which is its service). Several replicas match a name: then the workload id is needed.
 */
export function findSidecar(sidecars: readonly SubscriberStatus[], workload: string): SubscriberStatus {
  const byName = (s: SubscriberStatus) => {
    const m = /\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(s.spiffeId);
    return m !== null && (workload === `${m[2]}.${m[1]}` || workload === m[2]);
  };
  const exact = sidecars.filter((s) => s.workloadId === workload || s.spiffeId === workload);
  const matches = exact.length > 0 ? exact : sidecars.filter(byName);
  if (matches.length === 0) throw new ProxyConfigError('WEFT_PROXY_CONFIG_NOT_FOUND', `no connected sidecar is ${JSON.stringify(workload)}: name one by workload id, SPIFFE ID, NAME.NAMESPACE or NAME (see weft proxy-status)`);
  if (matches.length > 1) throw new ProxyConfigError('WEFT_PROXY_CONFIG_AMBIGUOUS', `${matches.length} sidecars are ${JSON.stringify(workload)} (${matches.map((s) => s.workloadId).join(', ')}): name one by its workload id`);
  return matches[0]!;
}

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):\d{1,5}$/;
const MAX_BODY = 32 * 1024 * 1024;

/** GET `path` from a sidecar's admin endpoint (loopback only), as JSON. */
export function readAdmin<T>(address: string, path: string, timeoutMs = 10_000): Promise<T> {
  if (!LOOPBACK.test(address)) return Promise.reject(new ProxyConfigError('WEFT_PROXY_CONFIG_UNREACHABLE', `admin address ${JSON.stringify(address)} is not on loopback: a sidecar's admin endpoint is read on 127.0.0.1 only`));
  return new Promise((resolve, reject) => {
    const req = request(`http://${address}${path}`, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`answer over ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new ProxyConfigError('WEFT_PROXY_CONFIG_UNREACHABLE', `sidecar admin ${address}${path} answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (err) {
          reject(new ProxyConfigError('WEFT_PROXY_CONFIG_UNREACHABLE', `sidecar admin ${address}${path} answered with something that is not JSON`, { cause: err }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new ProxyConfigError('WEFT_PROXY_CONFIG_UNREACHABLE', `cannot read the sidecar's admin endpoint ${address}${path}: ${err.message}`, { cause: err })));
    req.end();
  });
}
