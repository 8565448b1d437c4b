// The CA benchmark (issue 2 §7): X.509-SVIDs issued per second on one core, and join-token checks
// per second, printed as figures. Everything runs in this one process, on one core.
//
//   npm run bench:ca            (= node --import tsx bench/ca/issue.bench.ts)
//   env: POOL=2000 DURATION=3 (seconds per line) PECULIAR=300 TOKENS=5000
//
// Every loop is bounded by an iteration count and a time limit. CSRs are generated before any
// timing, one distinct P-256 key per CSR, and issued round-robin from the pool.
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { JoinTokenStore } from '../../src/attest/index.js';
import { parseCertificatesPem, readCertificate } from '../../src/identity/index.js';
import { AuditLog } from '../../src/ca/audit-log.js';
import { CertificateAuthority } from '../../src/ca/index.js';
import { parseCsr } from '../../src/ca/csr.js';
import { LeafTemplate } from '../../src/ca/leaf-template.js';
import { x509 } from '../../src/lib/x509.js';

const POOL = Number(process.env.POOL ?? 2000);
const DURATION = Number(process.env.DURATION ?? 3);
const PECULIAR = Number(process.env.PECULIAR ?? 300);
const TOKENS = Number(process.env.TOKENS ?? 5000);
const TD = 'cluster.local';
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CRED = { kind: 'join-token', tokenId: 'bench-token-id-0000000' } as const;

const dirs: string[] = [];
function scratch(parent: string): string {
  const d = mkdtempSync(join(parent, 'weft-bench-ca-'));
  dirs.push(d);
  return d;
}

interface Result {
  perSecond: number;
  usEach: number;
  n: number;
}

/** Runs `fn` until `maxIter` calls or `maxMs` elapsed, whichever comes first (after `warmup` calls). */
async function measure(fn: (i: number) => unknown, opts: { maxIter: number; maxMs: number; warmup?: number }): Promise<Result> {
  for (let i = 0; i < (opts.warmup ?? 100); i++) await fn(i);
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(opts.maxMs * 1e6));
  let n = 0;
  while (n < opts.maxIter) {
    await fn(n);
    n++;
    if ((n & 15) === 0 && process.hrtime.bigint() - start > limit) break;
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { perSecond: (n * 1e9) / ns, usEach: ns / n / 1000, n };
}

function line(name: string, r: Result, unit = '/s'): void {
  console.log(`${name.padEnd(52)} ${String(Math.round(r.perSecond)).padStart(7)} ${unit} (${r.usEach.toFixed(1).padStart(7)} us each, n=${r.n})`);
}

/** A fresh P-256 key and a CSR for a distinct workload identity, as DER. */
async function csrFor(i: number): Promise<Buffer> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { keys, signingAlgorithm: EC, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}/ns/bench/sa/w${i}` }], true)] },
    webcrypto,
  );
  return Buffer.from(csr.rawData);
}

async function pool(n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i += 100) out.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => csrFor(i + j)))));
  return out;
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`weft CA benchmark: ${new Date().toISOString()}, node ${process.version}, ${cpus().length} x ${cpu}, one process`);
  const t = Date.now();
  const csrs = await pool(POOL);
  console.log(`pool: ${csrs.length} distinct P-256 CSRs, generated in ${((Date.now() - t) / 1000).toFixed(1)} s before timing; limits: ${DURATION} s or ${POOL * 10} issues per line`);
  const limits = { maxIter: POOL * 10, maxMs: DURATION * 1000, warmup: 200 };
  const issueFrom = (ca: CertificateAuthority) => (i: number) => ca.issue(csrs[i % csrs.length]!, { credential: CRED, expectedSpiffeId: `spiffe://${TD}/ns/bench/sa/w${i % csrs.length}` });

  // 1. The whole issue path, with the audit line appended to a file on disk, then on tmpfs.
  const disk = CertificateAuthority.init(scratch(tmpdir()), { trustDomain: TD });
  line('svid issue (weft lean path, audit on disk)', await measure(issueFrom(disk), limits));
  const shmParent = '/dev/shm';
  let tmpfs: CertificateAuthority | undefined;
  try {
    tmpfs = CertificateAuthority.init(scratch(shmParent), { trustDomain: TD });
  } catch {
    console.log(`(no ${shmParent}: the tmpfs line is skipped)`);
  }
  if (tmpfs) line('svid issue (weft lean path, audit on tmpfs)', await measure(issueFrom(tmpfs), limits));

  // 2. The same without the audit append (stubbed on this instance only), and its parts.
  const quiet = CertificateAuthority.init(scratch(tmpdir()), { trustDomain: TD });
  quiet.audit.append = () => {};
  line('svid issue (weft lean path, no audit append)', await measure(issueFrom(quiet), limits));
  line('  part: CSR parse + signature verify (parseCsr)', await measure((i) => parseCsr(csrs[i % csrs.length]!), limits));
  const parsed = csrs.slice(0, 500).map((c) => parseCsr(c));
  const template = templateOf(quiet.dataDir);
  const now = Date.now();
  line('  part: leaf sign + DER encode (LeafTemplate#sign)', await measure((i) => {
    const p = parsed[i % parsed.length]!;
    return template.sign({ spki: p.spki, publicKeyBits: p.publicKeyBits, isRsa: false, uri: p.uri, notBefore: now - 10_000, notAfter: now + 3_600_000 });
  }, limits));
  const entry = { event: 'svid.issued' as const, spiffeId: `spiffe://${TD}/ns/bench/sa/w1`, serial: '5c'.repeat(16), notAfter: new Date(now).toISOString(), keyType: 'EC P-256', credential: CRED };
  const diskLog = new AuditLog(join(scratch(tmpdir()), 'audit.log'), Date.now);
  line('  part: audit append alone (disk)', await measure(() => diskLog.append(entry), limits));
  if (tmpfs) {
    const shmLog = new AuditLog(join(scratch(shmParent), 'audit.log'), Date.now);
    line('  part: audit append alone (tmpfs)', await measure(() => shmLog.append(entry), limits));
  }

  // 3. For comparison: @peculiar/x509's high-level path (CSR object, verify, X509CertificateGenerator).
  line('svid issue (@peculiar/x509 high-level path)', await measure(peculiarIssuer(csrs), { maxIter: PECULIAR, maxMs: DURATION * 1000, warmup: 20 }));

  // 4. Join-token checks: JoinTokenStore#verify with one reusable token.
  const tokenDir = scratch(tmpdir());
  const store = JoinTokenStore.open(tokenDir);
  const expect = { trustDomain: TD, caFingerprint: disk.rootFingerprint };
  const { token } = store.create({ trustDomain: TD, namespace: 'bench', serviceAccount: 'w0', caFingerprint: disk.rootFingerprint });
  line('join-token verify (JoinTokenStore#verify, reusable)', await measure(() => store.verify(token, expect), { maxIter: TOKENS, maxMs: DURATION * 1000 }));
}

/** A LeafTemplate on the same root as the CA of `dataDir` (the CA keeps its own private). */
function templateOf(dataDir: string): LeafTemplate {
  const { key, subjectDer, keyId } = rootMaterial(dataDir);
  return new LeafTemplate(key, subjectDer, keyId);
}

/** The root key, subject and key id of the self-signed CA in `dataDir`, read from its files. */
function rootMaterial(dataDir: string): { key: KeyObject; subjectDer: Buffer; keyId: Buffer } {
  const key = createPrivateKey(readFileSync(join(dataDir, 'ca', 'root-key.pem'), 'utf8'));
  const root = readCertificate(parseCertificatesPem(readFileSync(join(dataDir, 'ca', 'root-cert.pem'), 'utf8'))[0]!);
  const ski = new x509.X509Certificate(root.der).getExtension(x509.SubjectKeyIdentifierExtension)!;
  return { key, subjectDer: root.subjectDer, keyId: Buffer.from(ski.keyId, 'hex') };
}

/** Issues with @peculiar/x509 objects end to end: parse and verify the CSR, build and sign the leaf. */
function peculiarIssuer(csrs: Buffer[]): (i: number) => Promise<ArrayBuffer> {
  const dir = scratch(tmpdir());
  CertificateAuthority.init(dir, { trustDomain: TD });
  const { key, keyId } = rootMaterial(dir);
  const rootCert = new x509.X509Certificate(readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8'));
  let signingKey: webcrypto.CryptoKey | undefined;
  return async (i) => {
    signingKey ??= await webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), EC, false, ['sign']);
    const csr = new x509.Pkcs10CertificateRequest(csrs[i % csrs.length]!);
    if (!(await csr.verify(webcrypto))) throw new Error('CSR signature does not verify');
    const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: webcryptoSerial(),
        subject: '',
        issuer: rootCert.subjectName,
        notBefore: new Date(now - 10_000),
        notAfter: new Date(now + 3_600_000),
        publicKey: csr.publicKey,
        signingKey,
        signingAlgorithm: EC,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']),
          await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, webcrypto),
          new x509.AuthorityKeyIdentifierExtension(keyId.toString('hex')),
          new x509.SubjectAlternativeNameExtension(san.names.toJSON(), true),
        ],
      },
      webcrypto,
    );
    return cert.rawData;
  };
}

function webcryptoSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x3f) | 0x40;
  return Buffer.from(b).toString('hex');
}

try {
  await main();
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
