import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { AgentError } from './errors.js';

/**
 * First contact with a control plane whose root the workload does not have yet: opens a TLS
 * connection without trusting anything, looks in the served chain for the certificate whose
 * SHA-256 fingerprint the join token pinned, and returns it (DER). Nothing is sent on this
 * connection; the caller then connects again trusting only that root, so a server that merely
 * copied the public root into its chain fails the real handshake.
 */
export function fetchPinnedRoot(host: string, port: number, fingerprint: string, timeoutMs = 10_000, pinnedBy = 'the join token'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: isIP(host) ? undefined : host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AgentError('WEFT_CONTROL_PLANE_UNREACHABLE', `control plane ${host}:${port} did not complete a TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AgentError('WEFT_CONTROL_PLANE_UNREACHABLE', `cannot reach the control plane at ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const seen = new Set<string>();
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      let found: Buffer | undefined;
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        if (`sha256:${createHash('sha256').update(cert.raw).digest('hex')}` === fingerprint) {
          found = cert.raw;
          break;
        }
        cert = cert.issuerCertificate;
      }
      socket.destroy();
      if (!found || !new X509Certificate(found).ca) {
        reject(
          new AgentError(
            'WEFT_CONTROL_PLANE_UNTRUSTED',
            `the server at ${host}:${port} did not present the CA pinned by ${pinnedBy} (${fingerprint}): wrong address, another mesh, or an impostor`,
          ),
        );
        return;
      }
      resolve(found);
    });
  });
}
