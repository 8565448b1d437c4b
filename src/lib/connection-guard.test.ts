import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { systemClock } from './clock.js';
import { ConnectionGuard } from './connection-guard.js';

async function guarded(limits: { maxConnections: number; handshakeTimeoutMs: number }, onSocket: (s: Socket, guard: ConnectionGuard) => void = () => undefined) {
  const counts = { refused: 0, timeout: 0, acceptError: 0 };
  const logs: string[] = [];
  const guard = new ConnectionGuard('test', limits, { count: (e) => void counts[e]++, log: (_l, event) => void logs.push(event) }, systemClock);
  const server = createServer((s) => {
    s.on('error', () => undefined);
    guard.arm(s);
    onSocket(s, guard);
  });
  guard.attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, counts, logs };
}

function client(port: number): { socket: Socket; closed: Promise<void> } {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  return { socket, closed: once(socket, 'close').then(() => undefined) };
}

describe('ConnectionGuard', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(() => {
    sockets.splice(0).forEach((s) => s.destroy());
    servers.splice(0).forEach((s) => s.close());
  });

  const shapes: { name: string; send: (s: Socket) => NodeJS.Timeout | undefined }[] = [
    { name: 'fail/silent', send: () => undefined },
    { name: 'fail/one byte', send: (s) => void s.write(Buffer.from([0x16])) },
    // The deadline is absolute: a byte every 50 ms does not push it back.
    { name: 'fail/trickling', send: (s) => setInterval(() => s.write('x'), 50) },
  ];
  for (const shape of shapes) {
    test(`${shape.name}: a connection that is never settled is closed by the deadline`, async () => {
      const g = await guarded({ maxConnections: 10, handshakeTimeoutMs: 300 });
      servers.push(g.server);
      const c = client(g.port);
      sockets.push(c.socket);
      await once(c.socket, 'connect');
      const timer = shape.send(c.socket);
      await c.closed;
      clearInterval(timer);
      assert.equal(g.counts.timeout, 1);
      assert.deepEqual(g.logs, ['listener.handshake.timeout']);
    });
  }

  test('ok/settled: a settled connection outlives the deadline of one armed after it', async () => {
    const g = await guarded({ maxConnections: 10, handshakeTimeoutMs: 3_000 }, (s, guard) =>
      s.once('data', () => {
        guard.settle(s);
        s.write('settled');
      }),
    );
    servers.push(g.server);
    const settled = client(g.port);
    sockets.push(settled.socket);
    await once(settled.socket, 'connect');
    settled.socket.write('hello');
    await once(settled.socket, 'data');
    const later = client(g.port);
    sockets.push(later.socket);
    // Timers fire in order: had the first not been settled, it would have closed before this one.
    await later.closed;
    assert.equal(settled.socket.destroyed, false);
    assert.equal(g.counts.timeout, 1);
  });

  test('fail/over the cap: new connections are closed at once, counted, logged once per interval', async () => {
    const g = await guarded({ maxConnections: 2, handshakeTimeoutMs: 60_000 });
    servers.push(g.server);
    const held = [client(g.port), client(g.port)];
    sockets.push(...held.map((c) => c.socket));
    await Promise.all(held.map((c) => once(c.socket, 'connect')));
    while (g.server.listening && (await new Promise<number>((r) => g.server.getConnections((_e, n) => r(n)))) < 2) await new Promise((r) => setTimeout(r, 20));
    const extra = Array.from({ length: 5 }, () => client(g.port));
    sockets.push(...extra.map((c) => c.socket));
    await Promise.all(extra.map((c) => c.closed));
    assert.equal(g.counts.refused, 5);
    assert.deepEqual(g.logs, ['listener.connection.refused']);
    assert.equal(held.every((c) => !c.socket.destroyed), true);
  });

  test('fail/limits that are not positive integers are a TypeError', () => {
    for (const limits of [{ maxConnections: 0, handshakeTimeoutMs: 1 }, { maxConnections: 1, handshakeTimeoutMs: 1.5 }, { maxConnections: NaN, handshakeTimeoutMs: 1 }]) {
      assert.throws(() => new ConnectionGuard('x', limits, { count: () => undefined, log: () => undefined }, systemClock), TypeError);
    }
  });
});
