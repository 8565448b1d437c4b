// One admin port, two protocols: plain HTTP for health and readiness probes (which carry no
// credentials), TLS for the admin API. The first byte tells them apart (a TLS record starts with
// 0x16, an HTTP request with a method letter), so probes and operators share one address.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions } from 'node:tls';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

const TLS_HANDSHAKE = 0x16;
const SNIFF_TIMEOUT_MS = 10_000;

export interface AdminListener {
  readonly port: number;
  /** New serving certificate for connections from now on. */
  setCredentials(credentials: SecureContextOptions): void;
  close(): Promise<void>;
}

export async function listenAdmin(host: string, port: number, credentials: SecureContextOptions, handler: AdminHandler): Promise<AdminListener> {
  const http = createHttpServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, handler);
  // Client certificates are asked for but not required: an operator may use the admin token instead.
  const tls = createTlsServer({ ...credentials, requestCert: true, rejectUnauthorized: false });
  tls.on('secureConnection', (socket) => http.emit('connection', socket));
  tls.on('tlsClientError', (_err, socket) => socket.destroy());
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    socket.once('readable', () => {
      const head = socket.read(1) as Buffer | null;
      if (head === null) return void socket.destroy();
      socket.unshift(head);
      socket.setTimeout(0);
      if (head[0] === TLS_HANDSHAKE) tls.emit('connection', socket);
      else http.emit('connection', socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    setCredentials: (next) => tls.setSecureContext(next),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http.closeIdleConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
