// An SVID minted by the CA (what `weft ca mint` writes) works as a TLS client certificate against
// a plain node:tls server that trusts only the bundle and insists on a client certificate.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CertificateAuthority } from './certificate-authority.js';
import { cleanupAll, pluginCa, scratch, TD } from './testing/fixtures.js';
import { TestPki } from '../../test/helpers/pki.js';

after(cleanupAll);
const CLIENT = `spiffe://${TD}/ns/default/sa/client`;
const SERVER = `spiffe://${TD}/ns/default/sa/server`;
// TLS checks validity against the wall clock, so these CAs run on it.
const modes: { name: string; ca: CertificateAuthority }[] = [];

before(async () => {
  modes.push({ name: 'self-signed', ca: CertificateAuthority.init(scratch(), { trustDomain: TD }) });
  const plugin = await pluginCa(new TestPki(), { depth: 2 });
  modes.push({ name: 'plug-in intermediate', ca: CertificateAuthority.initFromPlugin(scratch(), plugin.dir) });
});

/** One mTLS exchange; resolves with what each side saw of the other, closing everything it opened. */
async function handshake(ca: CertificateAuthority, client: { cert: string; key: string }): Promise<{ serverSaw: string | undefined; clientSaw: string | undefined; authorized: boolean }> {
  const server = mintFor(ca, SERVER);
  const srv = createServer({ key: server.key, cert: server.cert, ca: ca.bundlePem(), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
  const seen = new Promise<{ san: string | undefined; authorized: boolean }>((resolve, reject) => {
    srv.once('tlsClientError', (err) => reject(new Error(`server refused the client: ${err.message}`, { cause: err })));
    srv.once('secureConnection', (s: TLSSocket) => {
      resolve({ san: s.getPeerCertificate().subjectaltname, authorized: s.authorized });
      s.end('ok');
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  const sock = connect({ host: '127.0.0.1', port, key: client.key, cert: client.cert, ca: ca.bundlePem(), checkServerIdentity: () => undefined });
  // With TLS 1.3 the server judges the client certificate after the client's handshake is done,
  // so a refusal arrives as an error or a close while waiting for the server's side.
  const failed = new Promise<never>((_, reject) => {
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('the server closed the connection')));
  });
  failed.catch(() => {});
  seen.catch(() => {});
  try {
    await Promise.race([once(sock, 'secureConnect'), failed]);
    const clientSaw = sock.getPeerCertificate().subjectaltname;
    // The server's verdict first: a refusal also closes the client, which would race it.
    const { san, authorized } = await seen;
    return { serverSaw: san, clientSaw, authorized };
  } finally {
    sock.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

/** The leaf followed by its intermediates, and the key: what a TLS peer presents. */
function mintFor(ca: CertificateAuthority, id: string): { cert: string; key: string } {
  const svid = ca.mint(id);
  return { cert: svid.leafPem + svid.chainPem.join(''), key: svid.keyPem };
}

describe('a minted SVID as a TLS client certificate', () => {
  for (const m of ['self-signed', 'plug-in intermediate']) {
    test(`ok/${m}: a node tls server trusting the bundle accepts it and sees the SPIFFE ID`, async () => {
      const { ca } = modes.find((x) => x.name === m)!;
      const r = await handshake(ca, mintFor(ca, CLIENT));
      assert.equal(r.serverSaw, `URI:${CLIENT}`);
      assert.equal(r.clientSaw, `URI:${SERVER}`);
      assert.equal(r.authorized, true);
    });
  }

  test('fail/the server refuses a client certificate from another CA', async () => {
    const { ca } = modes[0]!;
    const stranger = CertificateAuthority.init(scratch(), { trustDomain: TD });
    // Node reports the failed verification to neither side in words: the server drops the
    // connection (tlsClientError) and never emits secureConnection.
    await assert.rejects(handshake(ca, mintFor(stranger, CLIENT)), /^Error: server refused the client: /);
  });
});
