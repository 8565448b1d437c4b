import assert from 'node:assert/strict';
import { connect as connectH2, createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { watchSessionLiveness } from './session-liveness.js';

const INTERVAL = 1_000;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
/** A CONTINUATION frame with no HEADERS before it: a connection error (RFC 9113 §6.10). */
const STRAY_CONTINUATION = Buffer.from([0, 0, 0, 9, 0x04, 0, 0, 0, 1]);

function closedWithin(ms: number, socket: import('node:net').Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function startServer(watch: boolean, idleClose = 60_000): Promise<{ server: Http2Server; port: number; sessions: ServerHttp2Session[]; dead: number[] }> {
  const sessions: ServerHttp2Session[] = [];
  const dead: number[] = [];
  const server = createServer();
  server.on('session', (s: ServerHttp2Session) => {
    sessions.push(s);
    if (watch) watchSessionLiveness(s, { interval: INTERVAL, idleClose, onDead: () => dead.push(1) });
  });
  server.on('stream', (stream) => stream.respond({ ':status': 200 }, { endStream: true }));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, sessions, dead })));
}

describe('HTTP/2 session liveness', () => {
  let watched: Awaited<ReturnType<typeof startServer>>;
  let unwatched: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    watched = await startServer(true);
    unwatched = await startServer(false);
  });
  after(() => {
    for (const s of [watched, unwatched]) {
      for (const session of s.sessions) session.destroy();
      s.server.close();
    }
  });

  test('fail/Node keeps a session open after answering a protocol error, even once the peer half-closed (why the probe exists)', async () => {
    const socket = netConnect(unwatched.port, '127.0.0.1');
    socket.on('data', () => undefined).on('error', () => undefined);
    socket.end(Buffer.concat([PREFACE, SETTINGS, STRAY_CONTINUATION]));
    assert.equal(await closedWithin(3 * INTERVAL, socket), false);
    socket.destroy();
  });

  test('fail/a session wedged by a protocol error is destroyed after one unanswered PING', async () => {
    const socket = netConnect(watched.port, '127.0.0.1');
    socket.on('data', () => undefined).on('error', () => undefined);
    socket.end(Buffer.concat([PREFACE, SETTINGS, STRAY_CONTINUATION]));
    assert.equal(await closedWithin(30 * INTERVAL, socket), true, 'the wedged session was never closed');
    assert.equal(watched.dead.length, 1);
  });

  test('a live idle session answers its PINGs and stays open', async () => {
    const client = connectH2(`http://127.0.0.1:${watched.port}`);
    client.on('error', () => undefined);
    const status = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = client.request({ ':path': '/' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status(), 200);
    await new Promise((r) => setTimeout(r, 4 * INTERVAL));
    assert.equal(client.closed || client.destroyed, false);
    assert.equal(await status(), 200);
    client.close();
  });

  test('a live session idle past idleClose is closed gracefully', async () => {
    const short = await startServer(true, 2 * INTERVAL);
    const client = connectH2(`http://127.0.0.1:${short.port}`);
    client.on('error', () => undefined);
    const closed = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 30 * INTERVAL);
      client.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    assert.equal(await closed, true, 'the idle session was never closed');
    assert.equal(short.dead.length, 0, 'closed as idle, not as dead');
    short.server.close();
  });
});
