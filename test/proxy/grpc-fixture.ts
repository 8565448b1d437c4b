// A real grpc-js server behind a serving sidecar and grpc-js clients at a calling one, for the
// gRPC system tests. The service is defined with grpc-js's generic client constructor and raw
// Buffer messages, so no .proto is needed: every method echoes or counts bytes.
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { decodeStoredResources } from '../../src/config/index.js';
import { SidecarProxy, type InboundPolicy } from '../../src/proxy/index.js';
import { prepareResources } from '../../src/sidecar/active-config.js';
import { endpoint, idOf, MemoryLogger, MeshPki, StaticDirectory } from './helpers.js';

const raw = (b: Buffer): Buffer => b;

function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path: `/weft.test.Echo/${name}`, requestStream, responseStream, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
}

export const ECHO_SERVICE = {
  unary: method('Unary', false, false),
  secret: method('Secret', false, false),
  fail: method('Fail', false, false),
  /** Answers only when cancelled (never on its own): for deadlines and cancellation. */
  hang: method('Hang', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
} as const;

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo') as unknown as new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => EchoClientApi;

type Unary = (req: Buffer, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => grpc.ClientUnaryCall;
export interface EchoClientApi extends grpc.Client {
  unary: Unary;
  secret: Unary;
  fail: Unary;
  hang: Unary;
  serverStream(req: Buffer, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<Buffer>;
  clientStream(md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientWritableStream<Buffer>;
  bidi(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, Buffer>;
}

/** What the server saw, for assertions. */
export interface ServerLog {
  cancelled: string[];
  metadata: grpc.Metadata[];
  /** Resolvers waiting for a Hang call to be cancelled. */
  onCancel: (() => void)[];
  /** Resolvers waiting for a Hang call to reach the server. */
  onHang: (() => void)[];
}

export async function startEchoServer(): Promise<{ server: grpc.Server; port: number; log: ServerLog }> {
  const log: ServerLog = { cancelled: [], metadata: [], onCancel: [], onHang: [] };
  const cancelled = (name: string): void => {
    log.cancelled.push(name);
    for (const f of log.onCancel.splice(0)) f();
  };
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      log.metadata.push(call.metadata);
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', 'echo');
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
    },
    secret: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('the secret')),
    fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const md = new grpc.Metadata();
      md.set('x-detail', 'shelf 7 is empty');
      md.set('x-detail-bin', Buffer.from([0, 1, 2, 0xfe, 0xff]));
      cb({ code: grpc.status.NOT_FOUND, details: 'no such book: ü%', metadata: md });
    },
    hang: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
      call.on('cancelled', () => cancelled('hang'));
      for (const f of log.onHang.splice(0)) f();
    },
    serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request.readUInt32BE(0);
      for (let i = 0; i < n; i++) {
        const b = Buffer.alloc(8);
        b.writeUInt32BE(i, 0);
        call.write(b);
      }
      call.end();
    },
    clientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let count = 0;
      let bytes = 0;
      call.on('data', (b: Buffer) => {
        count++;
        bytes += b.length;
      });
      call.on('end', () => cb(null, Buffer.from(`${count}/${bytes}`)));
      call.on('cancelled', () => cancelled('clientStream'));
    },
    bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from('re:'), b])));
      call.on('end', () => call.end());
      call.on('cancelled', () => cancelled('bidi'));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port, log };
}

export function policyOf(yaml: object[], app = 'echo', appPort = 50051): InboundPolicy {
  const resources = decodeStoredResources(yaml.map((r) => JSON.stringify(r)), 'test');
  return prepareResources(1, resources, { namespace: 'default', labels: { app }, appPort }).inbound;
}

export interface GrpcMesh {
  mesh: MeshPki;
  echo: Awaited<ReturnType<typeof startEchoServer>>;
  server: SidecarProxy;
  client: SidecarProxy;
  outboundPort: number;
  directory: StaticDirectory;
  serverLog: MemoryLogger;
  clientLog: MemoryLogger;
  setPolicy(p: InboundPolicy | undefined): void;
  close(): Promise<void>;
}

/** grpc-js server <- serving sidecar (echo.default) <- calling sidecar (sleep) <- the test. */
export async function startGrpcMesh(clientOptions: Partial<import('../../src/proxy/index.js').SidecarProxyOptions> = {}): Promise<GrpcMesh> {
  const mesh = await MeshPki.create();
  const echo = await startEchoServer();
  const directory = new StaticDirectory();
  let policy: InboundPolicy | undefined;
  const serverLog = new MemoryLogger();
  const clientLog = new MemoryLogger();
  const server = new SidecarProxy({ identity: await mesh.identity('echo'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: echo.port }, logger: serverLog, policy: () => policy });
  const serverPort = (await server.start()).inboundPort;
  const client = new SidecarProxy({ identity: await mesh.identity('sleep'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 }, logger: clientLog, ...clientOptions });
  const outboundPort = (await client.start()).outboundPort!;
  directory.set('echo.default', [endpoint(serverPort, idOf('echo'))], [idOf('echo')]);
  return {
    mesh,
    echo,
    server,
    client,
    outboundPort,
    directory,
    serverLog,
    clientLog,
    setPolicy: (p) => (policy = p),
    close: async () => {
      await client.drain(1_000);
      await server.drain(1_000);
      echo.server.forceShutdown();
    },
  };
}

export function unary(c: EchoClientApi, name: 'unary' | 'secret' | 'fail' | 'hang', req: Buffer, opts: grpc.CallOptions = {}, md = new grpc.Metadata()): Promise<{ res?: Buffer; err?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    let result: { res?: Buffer; err?: grpc.ServiceError } | undefined;
    // Both the callback and the 'status' event (which carries the trailers) must have come.
    const settle = (): void => {
      if (result !== undefined && trailers !== undefined) resolve({ ...result, trailers });
    };
    const call = c[name](req, md, opts, (err, res) => {
      result = err ? { err } : { res };
      settle();
    });
    call.on('status', (s: grpc.StatusObject) => {
      trailers = s.metadata;
      settle();
    });
  });
}

export { grpc, once };
