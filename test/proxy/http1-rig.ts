// A sidecar pair in front of an app server the test writes (node:http, ws...), for the HTTP/1.1
// semantics tests: trailers, 100-continue, upgrades, framing, pipelining. Everything on 127.0.0.1.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { SidecarProxy, type InboundPolicy } from '../../src/proxy/index.js';
import { endpoint, idOf, MemoryLogger, MeshPki, StaticDirectory, within } from './helpers.js';

export const HOST = 'details.default';

export interface Http1Pair {
  mesh: MeshPki;
  directory: StaticDirectory;
  server: SidecarProxy;
  serverPort: number;
  serverLog: MemoryLogger;
  client: SidecarProxy;
  outboundPort: number;
  clientLog: MemoryLogger;
  close: () => Promise<void>;
}

/** Listens `app` on a free loopback port; resolves with the port. */
export async function listen(app: Server): Promise<number> {
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  return (app.address() as { port: number }).port;
}

/** app <- server sidecar (details) <- client sidecar (productpage) <- the test. */
export async function startHttp1Pair(appPort: number, policy?: () => InboundPolicy | undefined, mesh?: MeshPki): Promise<Http1Pair> {
  mesh ??= await MeshPki.create();
  const directory = new StaticDirectory();
  const serverLog = new MemoryLogger();
  const clientLog = new MemoryLogger();
  const server = new SidecarProxy({ identity: await mesh.identity('details'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: appPort }, logger: serverLog, policy });
  const serverPort = (await server.start()).inboundPort;
  const client = new SidecarProxy({ identity: await mesh.identity('productpage'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 }, logger: clientLog });
  const outboundPort = (await client.start()).outboundPort!;
  directory.set(HOST, [endpoint(serverPort, idOf('details'))], [idOf('details')]);
  return {
    mesh,
    directory,
    server,
    serverPort,
    serverLog,
    client,
    outboundPort,
    clientLog,
    close: async () => {
      await client.drain(1_000);
      await server.drain(1_000);
    },
  };
}

/** Closes a test's app server, its open connections included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A raw connection to `port` that collects every byte it receives. */
export class RawClient {
  readonly socket: Socket;
  buf: Buffer = Buffer.alloc(0);
  ended = false;
  closed = false;
  #waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    this.socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.#wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    this.socket.on('error', () => undefined);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `done(buf)` holds, or the connection ended (bounded). */
  until(done: (buf: Buffer) => boolean, what: string, ms = 15_000): Promise<Buffer> {
    return within(
      ms,
      what,
      new Promise<Buffer>((resolve) => {
        const check = (): void => {
          if (done(this.buf) || this.ended || this.closed) resolve(this.buf);
          else this.#waiters.push(check);
        };
        check();
      }),
    );
  }

  /** Resolves when the peer ended or closed the connection (bounded). */
  end(ms = 15_000): Promise<Buffer> {
    return this.until(() => false, 'the connection to end', ms);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string[]>;
  body: Buffer;
  trailers: Record<string, string[]>;
}

/**
 * Parses consecutive HTTP/1.1 responses from `buf` (content-length, chunked with trailers, or no
 * body for HEAD / 204 / 304; 100-199 but 101 skipped as interim); `heads[i]` says whether the i-th
 * answers a HEAD. Returns the complete ones; the rest of the buffer (from a 101 on) is left.
 */
export function parseResponses(buf: Buffer, heads: readonly boolean[]): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
    const headers: Record<string, string[]> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      (headers[l.slice(0, i).toLowerCase()] ??= []).push(l.slice(i + 1).trim());
    }
    let p = end + 4;
    const trailers: Record<string, string[]> = {};
    let body: Buffer = Buffer.alloc(0);
    // A 101 ends HTTP/1.1 on the connection: it and what follows are left in `rest`.
    if (status === 101) break;
    if (status >= 100 && status < 200) {
      at = p;
      continue;
    }
    const isHead = heads[responses.length] === true;
    if (isHead || status === 204 || status === 304) {
      // no body
    } else if (headers['transfer-encoding']?.[0]?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le === -1) break;
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (size === 0) {
          let q = le + 2;
          for (;;) {
            const te = buf.indexOf('\r\n', q);
            if (te === -1) break;
            if (te === q) {
              complete = true;
              p = te + 2;
              break;
            }
            const l = buf.subarray(q, te).toString('latin1');
            const i = l.indexOf(':');
            (trailers[l.slice(0, i).toLowerCase()] ??= []).push(l.slice(i + 1).trim());
            q = te + 2;
          }
          break;
        }
        if (le + 2 + size + 2 > buf.length) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else {
      const n = Number(headers['content-length']?.[0] ?? 0);
      if (p + n > buf.length) break;
      body = buf.subarray(p, p + n);
      p += n;
    }
    responses.push({ status, headers, body, trailers });
    at = p;
  }
  return { responses, rest: buf.subarray(at) };
}
