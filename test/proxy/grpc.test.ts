// gRPC through a sidecar pair, call by call: a real grpc-js client at the calling sidecar's
// outbound port (h2c with prior knowledge, and behind grpc_proxy), a real grpc-js server behind
// the serving sidecar, reached over h2c. Unary and the three streaming kinds, statuses and
// trailing metadata end to end, deadlines and cancellation both ways, per-method policy.
import assert from 'node:assert/strict';
import { connect as connectH2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { SidecarProxy } from '../../src/proxy/index.js';
import { endpoint, idOf, within } from './helpers.js';
import { EchoClient, grpc, policyOf, startGrpcMesh, unary, type EchoClientApi, type GrpcMesh } from './grpc-fixture.js';

const DENY_SECRET = [
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'no-secret', namespace: 'default' }, spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/weft.test.Echo/Secret'] } }] }] } },
];

function direct(m: GrpcMesh, authority = 'echo.default:50051'): EchoClientApi {
  return new EchoClient(`127.0.0.1:${m.outboundPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

describe('gRPC through a sidecar pair, h2c with prior knowledge on the outbound port', () => {
  let m: GrpcMesh;
  let c: EchoClientApi;

  before(async () => {
    m = await startGrpcMesh();
    c = direct(m);
  });
  after(async () => {
    c?.close();
    await m?.close();
  });

  test('a unary call carries request, request metadata, response and trailing metadata', async () => {
    const md = new grpc.Metadata();
    md.set('x-request-tag', 'abc');
    md.set('x-blob-bin', Buffer.from([0, 255, 7]));
    const r = await within(20_000, 'unary', unary(c, 'unary', Buffer.from('hello'), {}, md));
    assert.equal(r.err, undefined, r.err?.message);
    assert.equal(r.res!.toString(), 'echo:hello');
    assert.deepEqual(r.trailers!.get('x-served-by'), ['echo']);
    const seen = m.echo.log.metadata.at(-1)!;
    assert.deepEqual(seen.get('x-request-tag'), ['abc']);
    assert.deepEqual(seen.get('x-blob-bin'), [Buffer.from([0, 255, 7])]);
    assert.deepEqual(seen.get('x-forwarded-client-cert').length, 1, 'the serving sidecar adds its XFCC');
    assert.deepEqual(seen.get('x-weft-protocol'), [], 'the sidecars\' own mark never reaches the app');
    const cs = m.client.stats();
    assert.ok(cs.outbound_grpc_requests_total! >= 1 && cs.outbound_h2_connections_total! >= 1);
    assert.ok(m.server.stats().inbound_grpc_requests_total! >= 1);
    assert.ok(m.server.stats().inbound_app_h2_requests_total! >= 1);
  });

  test('server streaming relays 2000 messages in order', async () => {
    const got: number[] = [];
    const call = c.serverStream(u32(2000));
    call.on('data', (b: Buffer) => got.push(b.readUInt32BE(0)));
    await within(30_000, 'server stream', new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    }));
    assert.equal(got.length, 2000);
    assert.ok(got.every((v, i) => v === i));
  });

  test('client streaming carries 1000 messages of 4 KiB up and answers once', async () => {
    const res = await within(30_000, 'client stream', new Promise<Buffer>((resolve, reject) => {
      const call = c.clientStream(new grpc.Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r!)));
      const chunk = Buffer.alloc(4096, 0x5a);
      let i = 0;
      const pump = (): void => {
        while (i < 1000) {
          i++;
          if (!call.write(chunk)) return void call.once('drain', pump);
        }
        call.end();
      };
      pump();
    }));
    assert.equal(res.toString(), `1000/${1000 * 4096}`);
  });

  test('bidirectional streaming: 500 ping-pongs, each answer before the next message', async () => {
    const call = c.bidi();
    let n = 0;
    await within(30_000, 'bidi', new Promise<void>((resolve, reject) => {
      call.on('data', (b: Buffer) => {
        assert.equal(b.toString(), `re:${n}`);
        n++;
        if (n === 500) call.end();
        else call.write(Buffer.from(String(n)));
      });
      call.on('end', resolve);
      call.on('error', reject);
      call.write(Buffer.from('0'));
    }));
    assert.equal(n, 500);
  });

  test('fail/a server error keeps its status, message and trailing metadata, text and -bin', async () => {
    const r = await within(20_000, 'fail', unary(c, 'fail', Buffer.from('x')));
    assert.equal(r.err?.code, grpc.status.NOT_FOUND);
    assert.equal(r.err?.details, 'no such book: ü%');
    assert.deepEqual(r.trailers!.get('x-detail'), ['shelf 7 is empty']);
    assert.deepEqual(r.trailers!.get('x-detail-bin'), [Buffer.from([0, 1, 2, 0xfe, 0xff])]);
  });

  test('fail/a deadline shorter than the server takes ends DEADLINE_EXCEEDED, and the server sees the call cancelled', async () => {
    const cancelled = new Promise<void>((resolve) => m.echo.log.onCancel.push(resolve));
    const r = await within(20_000, 'hang', unary(c, 'hang', Buffer.from('x'), { deadline: Date.now() + 300 }));
    assert.equal(r.err?.code, grpc.status.DEADLINE_EXCEEDED);
    await within(20_000, 'server-side cancellation', cancelled);
  });

  test('fail/a client that cancels a streaming call cancels it at the server', async () => {
    const cancelled = new Promise<void>((resolve) => m.echo.log.onCancel.push(resolve));
    const call = c.bidi();
    call.on('error', () => undefined);
    await within(20_000, 'first echo', new Promise<void>((resolve) => {
      call.once('data', () => resolve());
      call.write(Buffer.from('x'));
    }));
    call.cancel();
    await within(20_000, 'server-side cancellation', cancelled);
    assert.ok(m.echo.log.cancelled.includes('bidi'));
  });

  test('fail/a DENY AuthorizationPolicy on one method answers PERMISSION_DENIED while the other methods work', async () => {
    m.setPolicy(policyOf(DENY_SECRET));
    try {
      const denied = await within(20_000, 'secret', unary(c, 'secret', Buffer.from('x')));
      assert.equal(denied.err?.code, grpc.status.PERMISSION_DENIED);
      assert.equal(denied.err?.details, 'RBAC: access denied');
      const ok = await within(20_000, 'unary', unary(c, 'unary', Buffer.from('y')));
      assert.equal(ok.res?.toString(), 'echo:y');
      const line = m.serverLog.find('inbound.denied').at(-1)!;
      assert.equal(line.fields.path, '/weft.test.Echo/Secret');
      assert.match(String(line.fields.explanation), /no-secret/);
    } finally {
      m.setPolicy(undefined);
    }
  });

  test('fail/an unknown service is UNAVAILABLE with the proxy\'s explanation', async () => {
    const other = direct(m, 'nope.default:50051');
    try {
      const r = await within(20_000, 'unknown', unary(other, 'unary', Buffer.from('x')));
      assert.equal(r.err?.code, grpc.status.UNAVAILABLE);
      assert.match(String(r.err?.metadata.get('x-weft-proxy-error')[0]), /^NR WEFT_PROXY_UNKNOWN_SERVICE: unknown service "nope.default"/);
    } finally {
      other.close();
    }
  });

  test('fail/a serving sidecar whose app is gone answers UNAVAILABLE, flag UF', async () => {
    // A sidecar whose app port has nobody listening.
    const lonely = new SidecarProxy({ identity: await m.mesh.identity('lonely'), directory: m.directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 } });
    const port = (await lonely.start()).inboundPort;
    m.directory.set('lonely.default', [endpoint(port, idOf('lonely'))], [idOf('lonely')]);
    const other = direct(m, 'lonely.default:50051');
    try {
      const r = await within(20_000, 'lonely', unary(other, 'unary', Buffer.from('x')));
      assert.equal(r.err?.code, grpc.status.UNAVAILABLE);
      assert.match(String(r.err?.metadata.get('x-weft-proxy-error')[0]), /^UF WEFT_PROXY_APP_UNAVAILABLE/);
      assert.equal(lonely.stats().local_replies_uf_total, 1);
    } finally {
      other.close();
      await lonely.drain(500);
    }
  });
});

describe('gRPC through grpc_proxy: the CONNECT tunnel is ended at the calling sidecar', () => {
  let m: GrpcMesh;
  let c: EchoClientApi;

  before(async () => {
    m = await startGrpcMesh();
    // grpc-js reads the proxy from the environment when the channel is made.
    const saved = { grpc_proxy: process.env.grpc_proxy, no_proxy: process.env.no_proxy, NO_PROXY: process.env.NO_PROXY };
    process.env.grpc_proxy = `http://127.0.0.1:${m.outboundPort}`;
    delete process.env.no_proxy;
    delete process.env.NO_PROXY;
    try {
      c = new EchoClient('echo.default:50051', grpc.credentials.createInsecure());
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  after(async () => {
    c?.close();
    await m?.close();
  });

  test('calls go through the tunnel and are served one by one: unary, streaming, statuses', async () => {
    const r = await within(20_000, 'unary', unary(c, 'unary', Buffer.from('tunnelled')));
    assert.equal(r.err, undefined, r.err?.message);
    assert.equal(r.res!.toString(), 'echo:tunnelled');
    const got: number[] = [];
    const call = c.serverStream(u32(300));
    call.on('data', (b: Buffer) => got.push(b.readUInt32BE(0)));
    await within(20_000, 'server stream', new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    }));
    assert.equal(got.length, 300);
    const failed = await within(20_000, 'fail', unary(c, 'fail', Buffer.from('x')));
    assert.equal(failed.err?.code, grpc.status.NOT_FOUND);
    assert.deepEqual(failed.trailers!.get('x-detail-bin'), [Buffer.from([0, 1, 2, 0xfe, 0xff])]);
    const cs = m.client.stats();
    assert.equal(cs.outbound_tunnels_terminated_total, 1, 'one tunnel, ended at the calling sidecar');
    assert.ok(cs.outbound_grpc_requests_total! >= 3, 'each call counted on its own');
    assert.equal(cs.outbound_tcp_connections_active, 0, 'no TCP tunnel stays open');
  });

  test('fail/an unknown method is the server\'s UNIMPLEMENTED, and the tunnel keeps serving', async () => {
    const Unknown = grpc.makeGenericClientConstructor({ nope: { path: '/weft.test.Echo/Nope', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } }, 'X');
    const u = new Unknown('ignored', grpc.credentials.createInsecure(), { channelOverride: c.getChannel() }) as unknown as { nope: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void; close(): void };
    const err = await within(20_000, 'nope', new Promise<grpc.ServiceError | null>((resolve) => u.nope(Buffer.from('x'), resolve)));
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
    const r = await within(20_000, 'unary', unary(c, 'unary', Buffer.from('again')));
    assert.equal(r.res?.toString(), 'echo:again');
  });
});

/** One gRPC message frame: uncompressed flag, 4-byte length, the bytes. */
function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe('grpc-timeout enforced by the calling sidecar (a raw HTTP/2 client that keeps no deadline itself)', () => {
  let m: GrpcMesh;
  let session: ClientHttp2Session;

  before(async () => {
    m = await startGrpcMesh();
    session = connectH2(`http://127.0.0.1:${m.outboundPort}`);
    session.on('error', () => undefined);
  });
  after(async () => {
    session?.close();
    await m?.close();
  });

  function call(path: string, timeout: string | undefined, message: Buffer, endRequest: boolean): { headers: Promise<IncomingHttpHeaders>; trailers: Promise<IncomingHttpHeaders>; data: Promise<Buffer>; stream: ClientHttp2Stream } {
    const stream = session.request({ ':method': 'POST', ':path': path, ':authority': 'echo.default:50051', 'content-type': 'application/grpc', te: 'trailers', ...(timeout === undefined ? {} : { 'grpc-timeout': timeout }) });
    stream.on('error', () => undefined);
    if (endRequest) stream.end(grpcFrame(message));
    else stream.write(grpcFrame(message));
    const headers = new Promise<IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    // A trailers-only answer carries its status in the response headers.
    const trailers = new Promise<IncomingHttpHeaders>((resolve) => {
      stream.once('trailers', resolve);
      stream.once('response', (h: IncomingHttpHeaders) => (h['grpc-status'] !== undefined ? resolve(h) : undefined));
    });
    const data = new Promise<Buffer>((resolve) => stream.once('data', resolve));
    return { headers, trailers, data, stream };
  }

  test('fail/a call whose grpc-timeout runs out before any answer gets DEADLINE_EXCEEDED, flag UT, and the server sees it cancelled', async () => {
    const cancelled = new Promise<void>((resolve) => m.echo.log.onCancel.push(resolve));
    const reached = new Promise<void>((resolve) => m.echo.log.onHang.push(resolve));
    // Long enough for the call to reach the server on a loaded machine before the deadline cuts it.
    const c = call('/weft.test.Echo/Hang', '3S', Buffer.from('x'), true);
    await within(20_000, 'the call reaching the server', reached);
    const h = await within(20_000, 'answer', c.trailers);
    assert.equal(h[':status'], 200);
    assert.equal(h['grpc-status'], '4');
    assert.match(String(h['x-weft-proxy-error']), /^UT WEFT_PROXY_DEADLINE_EXCEEDED: /);
    await within(20_000, 'server-side cancellation', cancelled);
    assert.equal(m.client.stats().outbound_grpc_deadline_exceeded_total, 1);
    assert.equal(m.client.stats().local_replies_ut_total, 1);
  });

  test('fail/a streaming call whose deadline runs out mid-response ends with DEADLINE_EXCEEDED in its trailers', async () => {
    const c = call('/weft.test.Echo/Bidi', '300m', Buffer.from('one'), false);
    assert.equal((await within(20_000, 'headers', c.headers))[':status'], 200);
    const first = await within(20_000, 'first message', c.data);
    assert.equal(first.subarray(5).toString(), 're:one');
    const t = await within(20_000, 'trailers', c.trailers);
    assert.equal(t['grpc-status'], '4');
    assert.match(String(t['x-weft-proxy-error']), /^UT WEFT_PROXY_DEADLINE_EXCEEDED/);
  });

  test('a malformed or absurd grpc-timeout is no deadline here (as Envoy ignores it); the call completes', async () => {
    // Whatever the app's grpc-js makes of each value, the answer is the app's, never the sidecar's
    // (a `0S` deadline may well have run out at the app itself by the time it reads it).
    for (const timeout of ['soon', '123456789S', '-1S', '1x', '1 S', '99999999H', '0S']) {
      const c = call('/weft.test.Echo/Unary', timeout, Buffer.from('t'), true);
      const t = await within(20_000, `answer with grpc-timeout ${timeout}`, c.trailers);
      assert.notEqual(t['grpc-status'], undefined, timeout);
      if (timeout !== '0S') assert.notEqual(t['grpc-status'], '4', timeout);
      assert.equal(t['x-weft-proxy-error'], undefined, timeout);
    }
    assert.equal(m.client.stats().outbound_grpc_deadline_exceeded_total, 2, 'only the two earlier deadlines');
  });
});
