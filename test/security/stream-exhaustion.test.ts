// A session to a peer sidecar with no free stream: long-lived CONNECT tunnels fill it. Further
// requests and tunnels must get an answer (another session, or 503 with a reason once the
// configured number of sessions is full), never wait for a slot that may not come. Real
// processes: a control plane, a server sidecar advertising 4 streams per session, and a client
// sidecar allowed 2 sessions per peer.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { getViaProxy, startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';
import { sidecarStats, waitFor } from './flood.js';

const STREAMS = 4;
const SESSIONS = 2;

/** Sends CONNECT and resolves with the proxy's answer head, or 'no answer' after `waitMs`. */
async function openTunnel(proxyPort: number, target: string, waitMs = 30_000): Promise<{ head: string; socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port: proxyPort });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let buf = '';
  const head = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), waitMs);
    socket.setEncoding('latin1').on('data', (d: string) => {
      buf += d;
      if (buf.includes('\r\n\r\n')) {
        clearTimeout(timer);
        resolve(buf);
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(buf || 'closed without an answer');
    });
  });
  return { head, socket };
}

describe('a peer session without free streams', { timeout: 180_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let client: Workload;
  const tunnels: Socket[] = [];

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'));
    await startWorkload(mesh, { service: 'tcp', sidecarArgs: ['--max-streams-per-session', String(STREAMS)] });
    client = await startWorkload(mesh, { service: 'caller', sidecarArgs: ['--max-sessions-per-peer', String(SESSIONS)] });
    await waitFor(async () => (await getViaProxy(client.outboundPort, 'tcp.default:9080')).status === 200, 30_000, () => 'caller cannot reach tcp');
  });
  after(async () => {
    tunnels.forEach((s) => s.destroy());
    await stop(mesh.procs);
    tmp.cleanup();
  });

  test('tunnels past one session open another; past the session cap, tunnels and requests get 503 with a reason at once', async () => {
    for (let i = 0; i < STREAMS * SESSIONS; i++) {
      const t = await openTunnel(client.outboundPort, 'tcp.default:9080');
      tunnels.push(t.socket);
      assert.match(t.head, /^HTTP\/1\.1 200 /, `tunnel ${i + 1}: ${t.head}`);
    }
    const stats = await sidecarStats(client.adminPort);
    assert.equal(stats.outbound_sessions_active, SESSIONS, 'a second session was opened once the first was full');
    assert.equal(stats.outbound_tcp_connections_active, STREAMS * SESSIONS);

    const refused = await openTunnel(client.outboundPort, 'tcp.default:9080');
    tunnels.push(refused.socket);
    assert.match(refused.head, /^HTTP\/1\.1 503 /, refused.head);
    assert.match(refused.head, /x-weft-proxy-error: UO WEFT_PROXY_STREAMS_EXHAUSTED/, refused.head);
    assert.match(refused.head, /--max-sessions-per-peer/, refused.head);

    const res = await getViaProxy(client.outboundPort, 'tcp.default:9080');
    assert.equal(res.status, 503, res.body);
    assert.match(res.body, /stream limit/);

    // One tunnel closes: its slot serves the next request.
    tunnels.shift()!.destroy();
    await waitFor(async () => (await getViaProxy(client.outboundPort, 'tcp.default:9080')).status === 200, 30_000, () => 'no request got through after a tunnel closed');
    const after = await sidecarStats(client.adminPort);
    assert.ok(after.outbound_streams_exhausted_total! >= 2, `exhausted ${after.outbound_streams_exhausted_total}`);
  });
});
