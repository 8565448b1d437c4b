// Secure naming, for requests and tunnels alike: the peer sidecar must hold one of the identities
// registered for the service, or nothing is sent to it.
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import type { ProxyStats } from '../stats.js';
import type { ServiceEntry } from '../types.js';
import type { MeshSession } from './pool.js';
import type { Target } from './route.js';

/** Undefined when `ms` may serve `target`; else the error to answer with, counted and logged with both identities. */
export function secureNamingError(entry: ServiceEntry, target: Target, ms: MeshSession, stats: ProxyStats, logger: Logger): ProxyError | undefined {
  if (entry.identities.has(ms.peerSpiffeId)) return undefined;
  stats.outbound_requests_secure_naming_total++;
  const service = `${target.service}.${target.namespace}`;
  const expected = [...entry.identities];
  logger.log('warn', 'outbound.secure_naming.mismatch', { service, endpoint: ms.key, expected, actual: ms.peerSpiffeId });
  return new ProxyError('WEFT_PROXY_SECURE_NAMING', 'the peer sidecar is not an identity of the service', {
    message: `secure naming: ${ms.key} is ${ms.peerSpiffeId}, service ${service} allows ${expected.join(', ')}`,
    fields: { endpoint: ms.key, expected, actual: ms.peerSpiffeId },
  });
}
