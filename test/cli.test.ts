// System tests of the `weft` CLI: the built bin/weft.js as a real process, real files, the real
// openssl as an independent checker, and a real node:tls server for the minted SVID.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand, runWeft, tempDir } from './helpers/cli.js';

const OPENSSL = '/usr/bin/openssl';

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('weft CLI', () => {
  const tmp = tempDir();
  const dataDir = join(tmp.dir, 'data');
  let fingerprint = '';

  before(async () => {
    assert.ok(existsSync(OPENSSL), 'these tests need the real openssl at /usr/bin/openssl (.ci/run installs it)');
    const init = await runWeft(['ca', 'init', '--data-dir', dataDir, '--trust-domain', 'example.org']);
    assert.equal(init.code, 0, init.stderr);
    fingerprint = /root fingerprint:\s+(sha256:[0-9a-f]{64})/.exec(init.stdout)?.[1] ?? '';
    assert.ok(fingerprint, init.stdout);
  });
  after(() => tmp.cleanup());

  describe('usage', () => {
    test('--help lists the command groups and exits 0', async () => {
      const r = await runWeft(['--help']);
      assert.equal(r.code, 0);
      for (const word of ['ca', 'token', 'cert', 'Exit codes']) assert.match(r.stdout, new RegExp(word));
    });

    test('every subcommand answers --help with exit 0', async () => {
      for (const args of [['ca', 'init'], ['ca', 'show'], ['ca', 'mint'], ['token', 'create'], ['token', 'list'], ['token', 'revoke'], ['cert', 'inspect']]) {
        const r = await runWeft([...args, '--help']);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, /Usage: weft/);
      }
    });

    test('no arguments prints help and exits 2', async () => {
      const r = await runWeft([]);
      assert.equal(r.code, 2);
      assert.match(r.stdout + r.stderr, /Usage: weft/);
    });

    test('usage errors exit 2 and say what is wrong', async () => {
      const cases: [string[], RegExp][] = [
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['ca', 'show', '--no-such-flag'], /unknown option '--no-such-flag'/],
        [['ca', 'mint', '--out', tmp.dir], /required option '--spiffe-id <id>' not specified/],
        [['token', 'create', '--namespace', 'default'], /required option '--service-account <sa>' not specified/],
        [['token', 'create', '-n', 'a', '--service-account', 'b', '--ttl', 'forever'], /invalid duration "forever"/],
        [['ca', 'show', '-o', 'xml'], /must be one of: text, json/],
        [['ca', 'mint', '--spiffe-id', 'spiffe://example.org/x', '--out', tmp.dir, '--key-type', 'dsa'], /must be one of: ec-p256/],
      ];
      for (const [args, message] of cases) {
        const r = await runWeft(args);
        assert.equal(r.code, 2, `${args.join(' ')} -> ${r.code}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
    });
  });

  describe('ca', () => {
    test('init writes the root key with mode 0600 and a second init keeps the same root', async () => {
      assert.equal(mode(join(dataDir, 'ca', 'root-key.pem')), 0o600);
      const again = await runWeft(['ca', 'init', '--data-dir', dataDir, '--trust-domain', 'example.org']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(fingerprint));
    });

    test('init refuses another trust domain on an initialised data directory and changes nothing', async () => {
      const before = readFileSync(join(dataDir, 'ca', 'root-cert.pem'), 'utf8');
      const r = await runWeft(['ca', 'init', '--data-dir', dataDir, '--trust-domain', 'other.org']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /example\.org/);
      assert.equal(readFileSync(join(dataDir, 'ca', 'root-cert.pem'), 'utf8'), before);
    });

    test('init without --trust-domain keeps the existing CA whatever its trust domain', async () => {
      const again = await runWeft(['ca', 'init', '--data-dir', dataDir]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /trust domain:\s+example\.org/);
      assert.match(again.stdout, new RegExp(fingerprint));
    });

    test('init refuses an invalid trust domain', async () => {
      const t = tempDir();
      try {
        const r = await runWeft(['ca', 'init', '--data-dir', t.dir, '--trust-domain', 'Example.ORG']);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /trust domain must be lowercase/);
        assert.equal(existsSync(join(t.dir, 'ca', 'root-key.pem')), false);
      } finally {
        t.cleanup();
      }
    });

    test('show prints the trust domain, fingerprint and expiry, as text and json', async () => {
      const text = await runWeft(['ca', 'show', '--data-dir', dataDir]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /trust domain:\s+example\.org/);
      assert.match(text.stdout, new RegExp(`root fingerprint:\\s+${fingerprint}`));
      const json = await runWeft(['ca', 'show', '--data-dir', dataDir, '-o', 'json']);
      const shown = JSON.parse(json.stdout) as { trustDomain: string; rootFingerprint: string; rootNotAfter: string };
      assert.equal(shown.trustDomain, 'example.org');
      assert.equal(shown.rootFingerprint, fingerprint);
      const years = (Date.parse(shown.rootNotAfter) - Date.now()) / (365.25 * 86_400_000);
      assert.ok(years > 9.9 && years < 10.1, `root lifetime ${years} years`);
    });

    test('show on a data directory without a CA tells how to create one', async () => {
      const r = await runWeft(['ca', 'show', '--data-dir', join(tmp.dir, 'nothing-here')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /weft ca init/);
    });

    test('a corrupted root key stops the CA with a clear message', async () => {
      const t = tempDir();
      try {
        assert.equal((await runWeft(['ca', 'init', '--data-dir', t.dir])).code, 0);
        writeFileSync(join(t.dir, 'ca', 'root-key.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
        const r = await runWeft(['ca', 'mint', '--data-dir', t.dir, '--spiffe-id', 'spiffe://cluster.local/ns/a/sa/b', '--out', join(t.dir, 'out')]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /root-key\.pem/);
        assert.equal(existsSync(join(t.dir, 'out')), false);
      } finally {
        t.cleanup();
      }
    });

    test('mint writes an SVID that openssl verifies strictly, with its key at 0600', async () => {
      const out = join(tmp.dir, 'minted');
      const r = await runWeft(['ca', 'mint', '--data-dir', dataDir, '--spiffe-id', 'spiffe://example.org/ns/ops/sa/backup', '--ttl', '30m', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(mode(join(out, 'key.pem')), 0o600);
      const verify = await runCommand(OPENSSL, ['verify', '-x509_strict', '-CAfile', join(out, 'bundle.pem'), join(out, 'svid.pem')]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      const text = await runCommand(OPENSSL, ['x509', '-in', join(out, 'svid.pem'), '-noout', '-text']);
      assert.match(text.stdout, /URI:spiffe:\/\/example\.org\/ns\/ops\/sa\/backup/);
      assert.match(text.stdout, /CA:FALSE/);
      assert.match(text.stdout, /TLS Web Server Authentication, TLS Web Client Authentication/);
      const check = await runCommand(OPENSSL, ['pkey', '-in', join(out, 'key.pem'), '-pubout']);
      const certKey = await runCommand(OPENSSL, ['x509', '-in', join(out, 'svid.pem'), '-noout', '-pubkey']);
      assert.equal(check.stdout, certKey.stdout, 'key.pem holds the key of svid.pem');
    });

    test('a minted SVID is accepted as a client certificate by a plain node tls server trusting the bundle', async () => {
      const out = join(tmp.dir, 'client');
      const serverOut = join(tmp.dir, 'server');
      for (const [id, dir] of [['spiffe://example.org/ns/default/sa/client', out], ['spiffe://example.org/ns/default/sa/server', serverOut]] as const) {
        const r = await runWeft(['ca', 'mint', '--data-dir', dataDir, '--spiffe-id', id, '--out', dir]);
        assert.equal(r.code, 0, r.stderr);
      }
      const seen = new Promise<string>((resolve, reject) => {
        const server = createServer(
          {
            key: readFileSync(join(serverOut, 'key.pem')),
            cert: readFileSync(join(serverOut, 'svid.pem')),
            ca: readFileSync(join(serverOut, 'bundle.pem')),
            requestCert: true,
            rejectUnauthorized: true,
          },
          (socket: TLSSocket) => {
            resolve(socket.getPeerX509Certificate()?.subjectAltName ?? '');
            socket.end();
            server.close();
          },
        );
        server.on('tlsClientError', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          const client = connect({
            host: '127.0.0.1',
            port,
            key: readFileSync(join(out, 'key.pem')),
            cert: readFileSync(join(out, 'svid.pem')),
            ca: readFileSync(join(out, 'bundle.pem')),
            checkServerIdentity: () => undefined,
          });
          client.on('error', () => undefined);
          client.resume();
        });
      });
      assert.equal(await seen, 'URI:spiffe://example.org/ns/default/sa/client');
    });

    test('mint refuses an invalid or foreign SPIFFE ID and writes nothing', async () => {
      const cases: [string, RegExp][] = [
        ['spiffe://example.org/ns//sa/x', /empty segments/],
        ['spiffe://other.org/ns/a/sa/b', /other\.org/],
        ['spiffe://example.org', /path/],
        ['https://example.org/x', /scheme/],
      ];
      for (const [id, message] of cases) {
        const out = join(tmp.dir, `refused-${readdirSync(tmp.dir).length}`);
        const r = await runWeft(['ca', 'mint', '--data-dir', dataDir, '--spiffe-id', id, '--out', out]);
        assert.equal(r.code, 1, `${id}: ${r.stderr}`);
        assert.match(r.stderr, message, id);
        assert.equal(existsSync(join(out, 'key.pem')), false, `${id} wrote a key`);
      }
    });
  });

  describe('cert inspect', () => {
    test('reports a minted SVID as valid with its SPIFFE ID, issuer, validity and key type', async () => {
      const out = join(tmp.dir, 'inspect-ok');
      assert.equal((await runWeft(['ca', 'mint', '--data-dir', dataDir, '--spiffe-id', 'spiffe://example.org/ns/a/sa/b', '--out', out])).code, 0);
      const r = await runWeft(['cert', 'inspect', join(out, 'svid.pem'), '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /SPIFFE ID:\s+spiffe:\/\/example\.org\/ns\/a\/sa\/b/);
      assert.match(r.stdout, /issuer:\s+\S/);
      assert.match(r.stdout, /key type:\s+EC P-256/);
      assert.match(r.stdout, /valid X\.509-SVID:\s+yes/);
      const json = JSON.parse((await runWeft(['cert', 'inspect', join(out, 'svid.pem'), '--data-dir', dataDir, '-o', 'json'])).stdout) as { valid: boolean; spiffeId: string };
      assert.deepEqual([json.valid, json.spiffeId], [true, 'spiffe://example.org/ns/a/sa/b']);
    });

    test('reports an SVID of another CA as invalid with the reason, exit 1', async () => {
      const other = tempDir();
      try {
        assert.equal((await runWeft(['ca', 'init', '--data-dir', other.dir, '--trust-domain', 'example.org'])).code, 0);
        const out = join(other.dir, 'svid');
        assert.equal((await runWeft(['ca', 'mint', '--data-dir', other.dir, '--spiffe-id', 'spiffe://example.org/ns/a/sa/b', '--out', out])).code, 0);
        const r = await runWeft(['cert', 'inspect', join(out, 'svid.pem'), '--data-dir', dataDir]);
        assert.equal(r.code, 1);
        assert.match(r.stdout, /valid X\.509-SVID:\s+no/);
        assert.match(r.stdout, /WEFT_SVID_UNTRUSTED/);
      } finally {
        other.cleanup();
      }
    });

    test('checks against an explicit bundle file and trust domain', async () => {
      const out = join(tmp.dir, 'inspect-bundle');
      assert.equal((await runWeft(['ca', 'mint', '--data-dir', dataDir, '--spiffe-id', 'spiffe://example.org/ns/a/sa/c', '--out', out])).code, 0);
      const ok = await runWeft(['cert', 'inspect', join(out, 'svid.pem'), '--bundle', join(out, 'bundle.pem'), '--trust-domain', 'example.org', '--data-dir', join(tmp.dir, 'absent')]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const wrongDomain = await runWeft(['cert', 'inspect', join(out, 'svid.pem'), '--bundle', join(out, 'bundle.pem'), '--trust-domain', 'other.org', '--data-dir', join(tmp.dir, 'absent')]);
      assert.equal(wrongDomain.code, 1);
      assert.match(wrongDomain.stdout, /WEFT_SVID_NO_BUNDLE/);
    });

    test('refuses a file that holds no certificate, and a missing file', async () => {
      const garbage = join(tmp.dir, 'garbage.pem');
      writeFileSync(garbage, 'this is not a certificate\n');
      const r = await runWeft(['cert', 'inspect', garbage, '--data-dir', dataDir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /WEFT_PEM_INVALID/);
      const missing = await runWeft(['cert', 'inspect', join(tmp.dir, 'nope.pem'), '--data-dir', dataDir]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read certificate file .*ENOENT/);
    });
  });

  describe('token', () => {
    test('create prints only the token on stdout; list shows it; revoke marks it revoked', async () => {
      const created = await runWeft(['token', 'create', '--data-dir', dataDir, '-n', 'default', '--service-account', 'web', '--ttl', '2h', '--once']);
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim();
      assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const id = /token (\S+) for spiffe:\/\/example\.org\/ns\/default\/sa\/web/.exec(created.stderr)?.[1];
      assert.ok(id, created.stderr);
      assert.equal(mode(join(dataDir, 'tokens', 'tokens.json')), 0o600);
      assert.equal(readFileSync(join(dataDir, 'tokens', 'tokens.json'), 'utf8').includes(token), false, 'the token text is not stored');

      const listed = await runWeft(['token', 'list', '--data-dir', dataDir]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${id}\\s+spiffe://example\\.org/ns/default/sa/web\\s+active\\s+yes`));

      const revoked = await runWeft(['token', 'revoke', id, '--data-dir', dataDir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const json = JSON.parse((await runWeft(['token', 'list', '--data-dir', dataDir, '-o', 'json'])).stdout) as { id: string; state: string }[];
      assert.equal(json.find((t) => t.id === id)?.state, 'revoked');
    });

    test('create refuses an identity that is not a valid SPIFFE path', async () => {
      const r = await runWeft(['token', 'create', '--data-dir', dataDir, '-n', 'bad/ns', '--service-account', 'web']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /path segment characters|namespace/);
      assert.equal(r.stdout, '');
    });

    test('revoke of an unknown id is refused', async () => {
      const r = await runWeft(['token', 'revoke', 'no-such-token', '--data-dir', dataDir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no join token has that id.*WEFT_TOKEN_NOT_FOUND/);
    });

    test('token commands need an initialised CA', async () => {
      const r = await runWeft(['token', 'create', '--data-dir', join(tmp.dir, 'empty'), '-n', 'a', '--service-account', 'b']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /weft ca init/);
    });
  });
});
