// Hostile HTTP/2 from the app side of a sidecar: the outbound port now speaks h2c, by prior
// knowledge and inside CONNECT tunnels, so every shape an HTTP/2 client can send it is bounded
// like the HTTP/1.1 ones. Each case checks that the sidecar stays up, that a well-behaved client
// is served meanwhile, and that what the bad client holds is bounded.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { within } from '../proxy/helpers.js';
import { EchoClient, grpc, startGrpcMesh, unary, type EchoClientApi, type GrpcMesh } from '../proxy/grpc-fixture.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const MAX_STREAMS = 10;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK literal (without indexing) whose name is static-table entry `index` (4-bit prefix). */
function literal(index: number, value: string): Buffer {
  const name = index < 15 ? Buffer.from([index]) : Buffer.from([0x0f, index - 15]);
  return Buffer.concat([name, Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

/** HEADERS (END_HEADERS, no END_STREAM) opening a gRPC call to Hang on `streamId`. */
function hangHeaders(streamId: number): Buffer {
  const block = Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    literal(4, '/weft.test.Echo/Hang'), // :path
    literal(1, 'echo.default:50051'), // :authority
    literal(31, 'application/grpc'), // content-type
  ]);
  return frame(0x1, 0x4, streamId, block);
}

/** Reads frames from `socket` until `until` says enough or it closes; returns what came. */
function readFrames(socket: Socket, until: (f: { type: number; streamId: number }[]) => boolean): Promise<{ frames: { type: number; streamId: number; code?: number }[]; closed: boolean }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const frames: { type: number; streamId: number; code?: number }[] = [];
    const done = (closed: boolean): void => {
      socket.off('data', onData);
      resolve({ frames, closed });
    };
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const streamId = buf.readUInt32BE(5) & 0x7fffffff;
        frames.push({ type, streamId, ...(type === 0x3 || type === 0x7 ? { code: buf.readUInt32BE(type === 0x3 ? 9 : 13) } : {}) });
        buf = buf.subarray(9 + len);
      }
      if (until(frames)) done(false);
    };
    socket.on('data', onData);
    socket.once('close', () => done(true));
  });
}

async function rawClient(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

describe('hostile HTTP/2 on the outbound port', { timeout: 180_000 }, () => {
  let m: GrpcMesh;
  let good: EchoClientApi;

  before(async () => {
    m = await startGrpcMesh({ maxStreamsPerSession: MAX_STREAMS, limits: { maxConnections: 64, handshakeTimeoutMs: 1_000 } });
    good = new EchoClient(`127.0.0.1:${m.outboundPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.default:50051' });
  });
  after(async () => {
    good?.close();
    await m?.close();
  });

  async function goodCallWorks(what: string): Promise<void> {
    const r = await within(20_000, `a good call after ${what}`, unary(good, 'unary', Buffer.from('still here')));
    assert.equal(r.res?.toString(), 'echo:still here', `${what}: ${r.err?.message}`);
  }

  test('fail/a preface followed by garbage gets GOAWAY and a closed connection; others are served', async () => {
    const s = await rawClient(m.outboundPort);
    s.write(Buffer.concat([PREFACE, Buffer.from('\x00\x00\x04\x08\x00\x00\x00\x00\x00this is not a frame sequence at all'.repeat(4), 'latin1')]));
    const got = await within(20_000, 'the sidecar closing the connection', readFrames(s, () => false));
    assert.equal(got.closed, true);
    assert.ok(got.frames.some((f) => f.type === 0x7), 'a GOAWAY says why');
    s.destroy();
    await goodCallWorks('garbage');
  });

  test('fail/a client that sends nothing, or only the preface, is cut at the handshake deadline', async () => {
    const before = m.client.stats().outbound_handshake_timeouts_total!;
    const silent = (await rawClient(m.outboundPort)).resume();
    const prefaceOnly = (await rawClient(m.outboundPort)).resume();
    prefaceOnly.write(Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))]));
    await within(20_000, 'both closed', Promise.all([once(silent, 'close'), once(prefaceOnly, 'close')]));
    assert.equal(m.client.stats().outbound_handshake_timeouts_total! - before, 2);
    await goodCallWorks('idle connections');
  });

  test('fail/a client opening more streams than SETTINGS_MAX_CONCURRENT_STREAMS gets no more than that many upstream', async () => {
    const s = await rawClient(m.outboundPort);
    const frames: Buffer[] = [PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))];
    for (let i = 0; i < 40; i++) frames.push(hangHeaders(1 + 2 * i));
    s.write(Buffer.concat(frames));
    // The sidecar refuses the excess streams (RST_STREAM) or the connection (GOAWAY).
    const got = await within(20_000, 'the sidecar refusing the excess', readFrames(s, (f) => f.some((x) => x.type === 0x7) || f.filter((x) => x.type === 0x3).length >= 40 - MAX_STREAMS));
    assert.ok(got.closed || got.frames.some((f) => f.type === 0x3 || f.type === 0x7), JSON.stringify(got.frames.slice(0, 5)));
    assert.ok(m.client.stats().outbound_requests_active! <= MAX_STREAMS, `active ${m.client.stats().outbound_requests_active}`);
    s.destroy();
    await goodCallWorks('a stream flood');
  });

  test('fail/streams opened and reset at once in a burst (rapid reset) leave nothing open', async () => {
    const s = await rawClient(m.outboundPort);
    const frames: Buffer[] = [PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))];
    const rst = Buffer.alloc(4);
    rst.writeUInt32BE(0x8, 0); // CANCEL
    for (let i = 0; i < 500; i++) frames.push(hangHeaders(1 + 2 * i), frame(0x3, 0, 1 + 2 * i, rst));
    s.resume();
    s.end(Buffer.concat(frames));
    await within(20_000, 'the connection closing', once(s, 'close'));
    await goodCallWorks('rapid resets');
    // Each reset stream's exchange ended: nothing is left counted as in flight.
    assert.equal(m.client.stats().outbound_requests_active, 0);
  });

  test('fail/a giant or malformed grpc-timeout is no deadline at the sidecar and breaks nothing', async () => {
    // grpc-js derives grpc-timeout from a deadline; a raw value needs a node:http2 client. What the
    // app (grpc-js, in this process) makes of each value is its own business; the sidecar must
    // neither answer the call itself nor arm a timer it cannot hold (the cap is unit-tested).
    const session = h2connect(`http://127.0.0.1:${m.outboundPort}`);
    session.on('error', () => undefined);
    try {
      for (const t of ['99999999H', '99999999M', '1'.repeat(200) + 'S', 'S', '\u00ff1S']) {
        const head = Buffer.alloc(5);
        head.writeUInt32BE(1, 1);
        const req = session.request({ ':method': 'POST', ':path': '/weft.test.Echo/Unary', ':authority': 'echo.default:50051', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': t });
        req.on('error', () => undefined);
        req.end(Buffer.concat([head, Buffer.from('z')]));
        const answer = await within(20_000, `call with grpc-timeout ${t.slice(0, 20)}`, new Promise<Record<string, unknown>>((resolve) => {
          req.once('trailers', (h) => resolve(h));
          req.once('response', (h) => (h['grpc-status'] !== undefined ? resolve(h) : undefined));
          req.once('close', () => resolve({}));
        }));
        assert.notEqual(answer['grpc-status'], undefined, `${t.slice(0, 20)}: the app answered`);
        assert.equal(answer['x-weft-proxy-error'], undefined, t.slice(0, 20));
      }
    } finally {
      session.destroy();
    }
    assert.equal(m.client.stats().outbound_grpc_deadline_exceeded_total, 0);
    await goodCallWorks('absurd deadlines');
  });

  test('fail/a CONNECT tunnel whose HTTP/2 inside is broken is closed; the tunnel port keeps serving', async () => {
    const s = await rawClient(m.outboundPort);
    s.write('CONNECT echo.default:50051 HTTP/1.1\r\nHost: echo.default:50051\r\n\r\n');
    const [head] = (await within(20_000, 'CONNECT answer', once(s, 'data'))) as [Buffer];
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 200 /);
    s.write(Buffer.concat([PREFACE, Buffer.alloc(64, 0xff)]));
    const got = await within(20_000, 'the tunnel closing', readFrames(s, () => false));
    assert.equal(got.closed, true);
    assert.ok(got.frames.some((f) => f.type === 0x7), 'a GOAWAY from the sidecar\'s own h2c server');
    assert.equal(m.client.stats().outbound_tcp_connections_active, 0);
    await goodCallWorks('a broken tunnel');
  });
});
