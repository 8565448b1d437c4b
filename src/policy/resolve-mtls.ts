// The sidecar-facing entry point for PeerAuthentication: the mode one inbound port accepts.
import type { CompiledPolicies } from './compile.js';
import { resolvePeerAuthentication, type MtlsResolution } from './peer-authentication.js';

/**
 * The mTLS mode for the workload's port `appPort` (the port the application listens on) and the
 * resource that decided it.
 * @example resolveMtlsMode(compiled, 8080) -> { mode: 'STRICT', level: 'mesh-config', portLevel: false }
 */
export function resolveMtlsMode(compiled: CompiledPolicies, appPort: number): MtlsResolution {
  if (!Number.isInteger(appPort) || appPort < 1 || appPort > 65535) throw new TypeError('"appPort" must be a port number from 1 to 65535');
  return resolvePeerAuthentication(compiled.peerAuthentication, appPort);
}
