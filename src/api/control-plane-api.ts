import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { controlPlaneIdentity } from '../identity/index.js';

/** proto/weft/v1/control_plane.proto, loaded once; the same definition serves server and client. */
const PROTO_FILE = fileURLToPath(new URL('../../proto/weft/v1/control_plane.proto', import.meta.url));

const definition = loadSync(PROTO_FILE, {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

const pkg = (loadPackageDefinition(definition).weft as GrpcObject).v1 as GrpcObject;

export const IdentityService = pkg.Identity as ServiceClientConstructor;
export const RegistryService = pkg.Registry as ServiceClientConstructor;
export const DiscoveryService = pkg.Discovery as ServiceClientConstructor;

/**
 * A MeshSnapshot may carry its trust bundle and services already encoded under this key: the
 * part every sidecar shares is encoded once per change, not once per sidecar. Protobuf messages
 * concatenate (repeated fields append), so the shared bytes followed by the encoding of the rest
 * is the encoding of the whole.
 */
export const PRE_ENCODED = Symbol('weft.preEncoded');

type Serialize = (value: object) => Buffer;
const subscribe = (DiscoveryService.service as unknown as Record<string, { responseSerialize: Serialize }>).Subscribe!;
const encodeSnapshot = subscribe.responseSerialize;
subscribe.responseSerialize = (value) => {
  const shared = (value as { [PRE_ENCODED]?: Buffer })[PRE_ENCODED];
  if (shared === undefined) return encodeSnapshot(value);
  return Buffer.concat([shared, encodeSnapshot({ ...value, trustBundle: [], services: [] })]);
};

/** The encoding of a snapshot's shared part, for `PRE_ENCODED`. */
export function encodeSharedSnapshotPart(part: Pick<MeshSnapshot, 'trustBundle' | 'services'>): Buffer {
  return encodeSnapshot({ trustBundle: part.trustBundle, services: part.services });
}

// Message shapes as proto-loader delivers them (camelCase, bytes as Buffer, 64-bit as number).
export interface SignCertificateRequest { csr: Buffer; joinToken: string; ttlSeconds: number }
export interface SignCertificateResponse {
  spiffeId: string;
  certChain: Buffer[];
  trustBundle: Buffer[];
  serial: string;
  notBefore: number;
  notAfter: number;
}
export interface ServicePortMessage {
  name: string;
  port: number;
  /** Istio's protocol name (HTTP, GRPC, TCP...), '' for an unnamed port. */
  protocol: string;
  /** The app's port; 0 when unknown (or, in a snapshot, when the service's workloads differ). */
  targetPort?: number;
  appProtocol?: string;
}
export interface RegisterRequest {
  namespace: string;
  services: string[];
  ports: ServicePortMessage[];
  labels: Record<string, string>;
  address: string;
  inboundPort: number;
  /** `region/zone/subzone`; '' when unknown. */
  locality?: string;
  /** The app's health as the sidecar sees it; absent: healthy. */
  healthy?: boolean;
}
export interface RegisterResponse { workloadId: string; leaseSeconds: number }
export interface KeepAliveRequest {
  workloadId: string;
  /** The app's health now; absent: unchanged. */
  healthy?: boolean;
}
export interface KeepAliveResponse { leaseSeconds: number }
export interface DeregisterRequest { workloadId: string }
export interface EndpointMessage {
  address: string;
  port: number;
  spiffeId: string;
  labels: Record<string, string>;
  workloadId: string;
  /** `region/zone/subzone`; '' when unknown. */
  locality?: string;
  /** False: the workload's app fails its health check, or it drains. Absent (an older control plane): healthy. */
  healthy?: boolean;
}
export interface ServiceMessage { name: string; namespace: string; ports: ServicePortMessage[]; endpoints: EndpointMessage[]; identities: string[] }
export interface MeshSnapshot {
  version: number;
  trustDomain: string;
  trustBundle: Buffer[];
  services: ServiceMessage[];
  nonce: string;
  /** JSON documents of the resources that concern the workload, in their stored form. */
  resources: string[];
  /** Services left out: unchanged since the snapshot last ACKed on this stream. */
  servicesOmitted: boolean;
  /** Serials the CA revoked (unexpired), in full in every snapshot. */
  revokedSerials?: string[];
  /** Token locations of every RequestAuthentication of the mesh, for log redaction. */
  tokenParams?: string[];
  tokenCookies?: string[];
  tokenHeaders?: string[];
}
export interface SubscribeRequest { workloadId: string; version: number; nonce: string; error: string }

/** The identity the control plane serves with; sidecars check it after pinning the root. */
export function controlPlaneSpiffeId(trustDomain: string): string {
  return controlPlaneIdentity(trustDomain);
}
