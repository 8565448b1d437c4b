import { X509Certificate } from 'node:crypto';
import { ADMIN_ADDRESS_METADATA } from '../api/subscribe-metadata.js';
import { isIP } from 'node:net';
import { credentials, Metadata, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  controlPlaneSpiffeId,
  DiscoveryService,
  IdentityService,
  RegistryService,
  type KeepAliveResponse,
  type MeshSnapshot,
  type RegisterRequest,
  type RegisterResponse,
  type SignCertificateResponse,
  type SubscribeRequest,
} from '../api/control-plane-api.js';
import { MAX_SNAPSHOT_BYTES } from '../api/limits.js';
import { systemClock } from '../lib/clock.js';
import { AgentError } from './errors.js';

/** The credentials a channel is opened with: the pinned root, and once held, the workload's SVID. */
export interface ChannelIdentity {
  rootPem: string;
  keyPem?: string;
  certChainPem?: string;
}

type Unary<Req, Res> = (req: Req, metadata: Metadata, options: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => void;

/** The SNI sent when the control plane is addressed by IP (TLS allows only host names there). */
const CONTROL_PLANE_SNI = 'control-plane.weft';

/**
 * One gRPC channel to the control plane. The server must present a certificate for the control
 * plane's SPIFFE ID under the pinned root; the host name plays no part in trusting it.
 */
export class ControlPlaneClient {
  readonly #identity: Client;
  readonly #registry: Client;
  readonly #discovery: Client;

  constructor(address: string, trustDomain: string, channel: ChannelIdentity) {
    const expected = controlPlaneSpiffeId(trustDomain);
    const creds = credentials.createSsl(
      Buffer.from(channel.rootPem),
      channel.keyPem ? Buffer.from(channel.keyPem) : null,
      channel.certChainPem ? Buffer.from(channel.certChainPem) : null,
      {
        checkServerIdentity: (_host, cert) => {
          const san = cert.raw ? new X509Certificate(cert.raw).subjectAltName : undefined;
          return san === `URI:${expected}`
            ? undefined
            : new AgentError('WEFT_CONTROL_PLANE_UNTRUSTED', `control plane presented ${san ?? 'no SAN'}, expected URI:${expected}`);
        },
      },
    );
    // TLS forbids an IP address as SNI; the server's identity is checked above, not by name.
    const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const options = {
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_receive_message_length': MAX_SNAPSHOT_BYTES,
      ...(isIP(host) ? { 'grpc.ssl_target_name_override': CONTROL_PLANE_SNI } : {}),
    };
    this.#identity = new IdentityService(address, creds, options);
    this.#registry = new RegistryService(address, creds, options);
    this.#discovery = new DiscoveryService(address, creds, options);
  }

  signCertificate(csr: Buffer, joinToken: string, ttlSeconds = 0): Promise<SignCertificateResponse> {
    return this.#unary(this.#identity, 'signCertificate', { csr, joinToken, ttlSeconds });
  }

  register(request: RegisterRequest): Promise<RegisterResponse> {
    return this.#unary(this.#registry, 'register', request);
  }

  /** Extends the lease; `healthy` reports the app's health (absent: unchanged). */
  keepAlive(workloadId: string, healthy?: boolean, timeoutMs?: number): Promise<KeepAliveResponse> {
    return this.#unary(this.#registry, 'keepAlive', healthy === undefined ? { workloadId } : { workloadId, healthy }, timeoutMs);
  }

  deregister(workloadId: string): Promise<object> {
    return this.#unary(this.#registry, 'deregister', { workloadId });
  }

  /**
   * Opens the snapshot stream; the caller writes the first message (its workload id), then
   * ACKs/NACKs. `adminAddress` (the sidecar's loopback admin endpoint) travels as call metadata,
   * so `weft proxy-config` can find the sidecar through the control plane's status.
   */
  subscribe(adminAddress?: string): ClientDuplexStream<SubscribeRequest, MeshSnapshot> {
    const metadata = new Metadata();
    if (adminAddress !== undefined) metadata.set(ADMIN_ADDRESS_METADATA, adminAddress);
    return (this.#discovery as unknown as { subscribe(m: Metadata): ClientDuplexStream<SubscribeRequest, MeshSnapshot> }).subscribe(metadata);
  }

  close(): void {
    this.#identity.close();
    this.#registry.close();
    this.#discovery.close();
  }

  #unary<Req, Res>(client: Client, method: string, request: Req, timeoutMs = 10_000): Promise<Res> {
    const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(client, request, new Metadata(), { deadline: systemClock.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}
