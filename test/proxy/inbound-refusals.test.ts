// STRICT mTLS at the inbound port (issue 3 §4): peers without an X.509-SVID of our trust domain
// are refused before a byte reaches the app, checked with real curl and openssl s_client.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inboundRefusedChannel, SidecarProxy, type InboundRefusedMessage } from '../../src/proxy/index.js';
import { TestPki, writePkiFiles, type PkiFiles } from '../helpers/pki.js';
import { MeshPki, StaticDirectory, TD, idOf, record, startApp } from './helpers.js';
import { curl, sClientH2 } from './tools.js';

const HOUR = 3_600_000;

interface Case {
  name: string;
  files: PkiFiles | undefined;
  /** Where the refusal happens and the reason the log gives. */
  stage: InboundRefusedMessage['stage'];
  reason: RegExp;
}

describe('the inbound port refuses every peer that is not an SVID of the trust domain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-refusals-'));
  let mesh: MeshPki;
  let app: Awaited<ReturnType<typeof startApp>>;
  let proxy: SidecarProxy;
  let port: number;
  let good: PkiFiles;
  const refused: Case[] = [];

  before(async () => {
    mesh = await MeshPki.create();
    const { root, intermediate, pki } = mesh;
    const roots = [root];
    const other = new TestPki();
    const otherRootSameName = await other.root(TD);
    const otherTd = await other.root('other.example');
    const leafOf = (spec: Parameters<TestPki['leaf']>) => pki.leaf(...spec);
    good = writePkiFiles(dir, { name: 'good', leaf: await leafOf([intermediate, idOf('caller')]), intermediates: [intermediate], roots });
    const add = async (
      name: string,
      stage: Case['stage'],
      reason: RegExp,
      make: () => Promise<{ leaf: Awaited<ReturnType<TestPki['leaf']>>; intermediates?: Awaited<ReturnType<TestPki['leaf']>>[] }>,
    ) => {
      const { leaf, intermediates } = await make();
      refused.push({ name, stage, reason, files: writePkiFiles(dir, { name: name.replace(/\W+/g, '-'), leaf, intermediates, roots }) });
    };
    refused.push({ name: 'fail/no client certificate', files: undefined, stage: 'chain', reason: /no certificate/ });
    await add('fail/self-signed certificate', 'chain', /DEPTH_ZERO_SELF_SIGNED_CERT/, async () => ({ leaf: await pki.leaf('self', idOf('caller')) }));
    await add('fail/valid SVID from another CA of the same trust domain name', 'chain', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/, async () => ({
      leaf: await other.leaf(otherRootSameName, idOf('caller')),
    }));
    await add('fail/SVID of another trust domain', 'chain', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/, async () => ({
      leaf: await other.leaf(otherTd, 'spiffe://other.example/ns/default/sa/caller'),
    }));
    await add('fail/SVID of another trust domain signed by our own CA', 'svid', /WEFT_SVID_NO_BUNDLE/, async () => ({
      leaf: await pki.leaf(intermediate, 'spiffe://other.example/ns/default/sa/caller'),
      intermediates: [intermediate],
    }));
    await add('fail/expired SVID', 'chain', /CERT_HAS_EXPIRED/, async () => ({
      leaf: await pki.leaf(intermediate, idOf('caller'), { notBefore: new Date(pki.now.getTime() - 3 * HOUR), notAfter: new Date(pki.now.getTime() - HOUR) }),
      intermediates: [intermediate],
    }));
    await add('fail/leaf with two URI SANs', 'svid', /WEFT_SVID_MULTIPLE_URI_SANS/, async () => ({
      leaf: await pki.leaf(intermediate, idOf('caller'), { uris: [idOf('caller'), idOf('admin')] }),
      intermediates: [intermediate],
    }));
    await add('fail/CA certificate presented as a leaf', 'chain', /INVALID_PURPOSE/, async () => ({
      leaf: await pki.intermediate(root, { uris: [idOf('caller')] }),
    }));
    // OpenSSL accepts this one for client authentication; only the SPIFFE leaf rule catches it.
    await add('fail/CA certificate with leaf key usages presented as a leaf', 'svid', /WEFT_SVID_LEAF_IS_CA/, async () => ({
      leaf: await pki.intermediate(intermediate, { uris: [idOf('caller')], keyUsage: ['digitalSignature', 'keyCertSign'], extKeyUsage: ['serverAuth', 'clientAuth'] }),
      intermediates: [intermediate],
    }));
    await add('fail/leaf with keyCertSign', 'svid', /WEFT_SVID_LEAF_KEY_CERT_SIGN/, async () => ({
      leaf: await pki.leaf(intermediate, idOf('caller'), { keyUsage: ['digitalSignature', 'keyCertSign'] }),
      intermediates: [intermediate],
    }));
    await add('fail/leaf with the trust domain ID (no path)', 'svid', /WEFT_SVID_ROOT_PATH/, async () => ({
      leaf: await pki.leaf(intermediate, `spiffe://${TD}`),
      intermediates: [intermediate],
    }));
    await add('fail/leaf without a URI SAN', 'svid', /WEFT_SVID_NO_URI_SAN/, async () => ({ leaf: await pki.leaf(intermediate, null, { dnsNames: ['caller.default'] }), intermediates: [intermediate] }));
    app = await startApp();
    proxy = new SidecarProxy({
      identity: await mesh.identity('details'),
      directory: new StaticDirectory(),
      inbound: { host: '127.0.0.1', port: 0 },
      app: { host: '127.0.0.1', port: app.port },
    });
    port = (await proxy.start()).inboundPort;
  });

  after(async () => {
    await proxy?.drain(2_000);
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const curlArgs = (files: PkiFiles | undefined, path: string) => [
    '--http2',
    '-k', // the server's SVID has no DNS or IP SAN for curl's hostname check; its chain is not what is tested here
    ...(files ? ['--cert', files.certPath, '--key', files.keyPath] : []),
    `https://127.0.0.1:${port}${path}`,
  ];

  test('ok/a valid SVID of the trust domain gets through, and the app learns who called', async () => {
    const r = await curl(curlArgs(good, '/ok'));
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout.toString()) as { headers: Record<string, string> };
    assert.match(body.headers['x-forwarded-client-cert']!, new RegExp(`^By=${idOf('details')};Hash=[0-9a-f]{64};URI=${idOf('caller')}$`));
    const s = await sClientH2(port, good);
    assert.equal(s.answered, true, `openssl s_client got no HTTP/2 answer: ${s.stderr}`);
  });

  test('fail/each bad peer is refused by curl and openssl s_client alike, and the app sees nothing', async (t) => {
    for (const c of refused) {
      await t.test(c.name, async (t) => {
        const before = app.seen.length;
        const requestsBefore = proxy.stats().inbound_requests_total;
        const refusals = record<InboundRefusedMessage>(inboundRefusedChannel);
        const r = await curl(curlArgs(c.files, `/${c.name.replace(/\W+/g, '-')}`));
        assert.notEqual(r.code, 0, `curl succeeded: ${r.stdout.toString()}`);
        assert.equal(r.stdout.length, 0);
        const s = await sClientH2(port, c.files ?? {});
        assert.equal(s.answered, false, 'openssl s_client got an HTTP/2 answer');
        await refusals.waitFor(2);
        refusals.stop();
        assert.equal(app.seen.length, before, 'a request reached the app');
        assert.equal(proxy.stats().inbound_requests_total, requestsBefore);
        for (const m of refusals.messages) {
          assert.equal(m.stage, c.stage, m.reason);
          assert.match(m.reason, c.reason);
        }
        t.diagnostic(refusals.messages[0]!.reason);
      });
    }
  });
});
