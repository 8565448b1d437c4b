// The gRPC app of the datapath benchmark: grpc-js answering one unary method with a fixed
// 19-byte message, so the proxies in front are what is measured.
//   node grpc-app.js PORT      (prints the port once listening)
import * as grpc from '@grpc/grpc-js';

const raw = (b: Buffer): Buffer => b;
const ANSWER = Buffer.from('hello from the app\n');
const server = new grpc.Server();
server.addService(
  { unary: { path: '/weft.bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
  { unary: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, ANSWER) },
);
server.bindAsync(`127.0.0.1:${process.argv[2] ?? '0'}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${port}\n`);
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
