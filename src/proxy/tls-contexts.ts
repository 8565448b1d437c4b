// TLS settings for the two mTLS ends of a sidecar hop. Both trust exactly the bundle of the
// sidecar's own trust domain (X509-SVID §5: never pool bundles across trust domains) and speak
// only h2 (ALPN). Chain building, signatures and validity dates are OpenSSL's job; the SPIFFE
// leaf rules are checked after it, in peer-identity.ts.
import { createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { SidecarIdentity } from './types.js';

/** ALPN of the hop between sidecars. */
export const MESH_ALPN = 'h2';

function contextOptions(identity: SidecarIdentity): SecureContextOptions {
  return {
    key: identity.keyPem,
    cert: identity.certChainPem,
    ca: identity.bundlePem,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for the inbound tls.Server: a client certificate is requested and verified against the
 * bundle. `rejectUnauthorized` is false on purpose: Node would otherwise destroy a socket whose
 * chain fails without any event, so the refusal could be neither logged nor counted. The
 * listener refuses every socket that is not `authorized` itself, before reading a byte from it
 * (inbound/server.ts), so STRICT mode is unchanged.
 */
export function serverTlsOptions(identity: SidecarIdentity): TlsOptions {
  return {
    ...contextOptions(identity),
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: [MESH_ALPN],
  };
}

/** The options tls.Server#setSecureContext takes on rotation (same fields as the server's own). */
export function serverContextOptions(identity: SidecarIdentity): SecureContextOptions {
  return contextOptions(identity);
}

/**
 * One client context per identity version, shared by every outbound session opened with it (the
 * key and chain are parsed once, not per connection).
 *
 * @throws Error from OpenSSL when the key does not match the certificate or a PEM is malformed.
 */
export function createClientContext(identity: SidecarIdentity): SecureContext {
  return createSecureContext(contextOptions(identity));
}
