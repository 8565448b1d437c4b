// CertificateAuthority#issue on every shape of CSR: what is signed, what is refused with which
// code, and that a refusal issues nothing and leaves exactly one 'svid.refused' line in the audit log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { readCertificate } from '../identity/index.js';
import { children, readTlv } from '../lib/der.js';
import { isWeftError } from '../lib/errors.js';
import { x509 } from '../lib/x509.js';
import type { CertificateAuthority } from './certificate-authority.js';
import { parseCsr } from './csr.js';
import type { CaErrorCode } from './errors.js';
import { auditLines, cleanupAll, CRED, ID, makeCsr, newCa, T0, TD, type CsrSpec } from './testing/fixtures.js';
import { TestPki } from '../../test/helpers/pki.js';

after(cleanupAll);
let ca: CertificateAuthority;
let certPem: string;
let baseline: Buffer;
before(async () => {
  ca = newCa().ca;
  certPem = (await new TestPki({ now: T0 }).root(TD)).pem;
  baseline = (await makeCsr()).der;
});

/** A copy of `der` with the byte at `index` (negative: from the end) XORed with `mask`. */
function flipped(der: Buffer, index: number, mask = 0x01): Buffer {
  const out = Buffer.from(der);
  const i = index < 0 ? out.length + index : index;
  out[i] = out[i]! ^ mask;
  return out;
}

/** The byte offset of the last character of the requested URI inside the CSR's signed part. */
function uriByte(der: Buffer): number {
  const at = der.indexOf(Buffer.from(ID, 'latin1'));
  assert.ok(at > 0);
  return at + ID.length - 1;
}

/** The last byte of the signature BIT STRING (the low byte of ECDSA's s). */
function signatureByte(der: Buffer): number {
  const [, , sig] = children(der, readTlv(der, 0));
  return sig!.end - 1;
}

/** `der` with the length of the SubjectPublicKeyInfo's AlgorithmIdentifier forged to run past it. */
function spkiLengthForged(der: Buffer): Buffer {
  const [cri] = children(der, readTlv(der, 0));
  const spki = children(der, cri!)[2]!;
  const out = Buffer.from(der);
  out[spki.start + 1] = 0x7f;
  return out;
}

type Input = () => Promise<Uint8Array | string>;
const csr = (spec: CsrSpec = {}, form: 'der' | 'pem' = 'der'): Input => async () => (await makeCsr(spec))[form];

interface AcceptCase {
  name: string;
  input: Input;
  keyType: string;
  keyUsage: number;
  expectedSpiffeId?: string;
}
const DS = x509.KeyUsageFlags.digitalSignature;
const KE = x509.KeyUsageFlags.keyEncipherment;

const ACCEPTED: AcceptCase[] = [
  { name: 'ok/EC P-256, DER', input: csr(), keyType: 'EC P-256', keyUsage: DS },
  { name: 'ok/EC P-256, PEM', input: csr({}, 'pem'), keyType: 'EC P-256', keyUsage: DS },
  { name: 'ok/EC P-256, PEM with CRLF line ends', input: async () => (await makeCsr()).pem.replace(/\n/g, '\r\n'), keyType: 'EC P-256', keyUsage: DS },
  { name: 'ok/EC P-256, DER in a Uint8Array view at an offset', input: async () => new Uint8Array(Buffer.concat([Buffer.from([9, 9, 9]), (await makeCsr()).der])).subarray(3), keyType: 'EC P-256', keyUsage: DS },
  { name: 'ok/EC P-384', input: csr({ keyType: 'EC P-384' }), keyType: 'EC P-384', keyUsage: DS },
  { name: 'ok/RSA 2048 gets keyEncipherment too', input: csr({ keyType: 'RSA 2048' }, 'pem'), keyType: 'RSA 2048', keyUsage: DS | KE },
  { name: 'ok/basicConstraints cA=FALSE asked for explicitly', input: csr({ extensions: [new x509.BasicConstraintsExtension(false, undefined, true)] }), keyType: 'EC P-256', keyUsage: DS },
  { name: 'ok/the identity the credential proves', input: csr(), keyType: 'EC P-256', keyUsage: DS, expectedSpiffeId: ID },
];

interface RefuseCase {
  name: string;
  input: Input;
  code: CaErrorCode;
  message: RegExp;
  expectedSpiffeId?: string;
}

const url = (value: string) => ({ type: 'url' as const, value });
const dns = (value: string) => ({ type: 'dns' as const, value });

const REFUSED: RefuseCase[] = [
  { name: 'fail/garbage bytes', input: async () => Buffer.from('this is not a certification request'), code: 'WEFT_CSR_MALFORMED', message: /^CSR is not a PKCS#10 request: malformed DER: content runs past its container at byte 0$/ },
  { name: 'fail/DER of another type', input: async () => Buffer.from([0x04, 0x02, 0xde, 0xad]), code: 'WEFT_CSR_MALFORMED', message: /^CSR is not a PKCS#10 request: malformed DER: CertificationRequest: expected tag 0x30, found 0x4$/ },
  { name: 'fail/a malformed TLV inside the public key', input: async () => spkiLengthForged(baseline), code: 'WEFT_CSR_MALFORMED', message: /^CSR is not a PKCS#10 request: malformed DER: content runs past its container at byte \d+$/ },
  { name: 'fail/garbage text', input: async () => 'hello', code: 'WEFT_CSR_MALFORMED', message: /^CSR is not PEM "CERTIFICATE REQUEST" or DER$/ },
  { name: 'fail/empty input', input: async () => new Uint8Array(0), code: 'WEFT_CSR_MALFORMED', message: /^CSR is not a PKCS#10 request: malformed DER: truncated at byte 0$/ },
  { name: 'fail/truncated DER', input: async () => baseline.subarray(0, baseline.length - 10), code: 'WEFT_CSR_MALFORMED', message: /^CSR is not a PKCS#10 request: malformed DER: content runs past its container at byte 0$/ },
  { name: 'fail/trailing bytes after the DER', input: async () => Buffer.concat([baseline, Buffer.from([0, 0])]), code: 'WEFT_CSR_MALFORMED', message: /^CSR has trailing bytes$/ },
  { name: 'fail/a PEM of another type (CERTIFICATE)', input: async () => certPem, code: 'WEFT_CSR_MALFORMED', message: /^CSR is not PEM "CERTIFICATE REQUEST" or DER$/ },
  { name: 'fail/signature bytes flipped', input: async () => flipped(baseline, signatureByte(baseline)), code: 'WEFT_CSR_BAD_SIGNATURE', message: /^CSR signature does not verify with its own public key$/ },
  { name: 'fail/requested identity altered after signing', input: async () => flipped(baseline, uriByte(baseline)), code: 'WEFT_CSR_BAD_SIGNATURE', message: /^CSR signature does not verify with its own public key$/ },
  { name: 'fail/RSA 1024 key', input: csr({ keyType: 'RSA 1024' }), code: 'WEFT_CSR_UNSUPPORTED_KEY', message: /^CSR key is RSA 1024: RSA keys must have at least 2048 bits$/ },
  { name: 'fail/Ed25519 key', input: csr({ keyType: 'Ed25519' }), code: 'WEFT_CSR_UNSUPPORTED_KEY', message: /^CSR key type ed25519 is not accepted: use ECDSA P-256 or P-384, or RSA of 2048 bits or more$/ },
  { name: 'fail/EC P-521 key', input: csr({ keyType: 'EC P-521' }), code: 'WEFT_CSR_UNSUPPORTED_KEY', message: /^CSR key is an EC key on curve 1\.3\.132\.0\.35: only P-256 and P-384 are accepted$/ },
  { name: 'fail/two URI SANs', input: csr({ sans: [url(ID), url(`${ID}2`)] }), code: 'WEFT_CSR_SAN_COUNT', message: /^CSR asks for 2 subjectAltNames: an X\.509-SVID has exactly one, the SPIFFE ID as a URI$/ },
  { name: 'fail/a URI SAN and a DNS SAN', input: csr({ sans: [url(ID), dns('web.default.svc')] }), code: 'WEFT_CSR_SAN_COUNT', message: /^CSR asks for 2 subjectAltNames/ },
  { name: 'fail/only a DNS SAN', input: csr({ sans: [dns('web.default.svc')] }), code: 'WEFT_CSR_SAN_COUNT', message: /^CSR's subjectAltName is not a URI \(GeneralName tag \[2\]\)$/ },
  { name: 'fail/no SAN at all', input: csr({ sans: null }), code: 'WEFT_CSR_SAN_COUNT', message: /^CSR asks for no subjectAltName: it must ask for exactly one, the SPIFFE ID as a URI$/ },
  { name: 'fail/a URI SAN that is not a SPIFFE ID', input: csr({ sans: [url('https://example.org/web')] }), code: 'WEFT_CSR_BAD_SPIFFE_ID', message: /^requested SAN is not a valid SPIFFE ID: / },
  { name: 'fail/a SPIFFE ID with a dot segment', input: csr({ sans: [url(`spiffe://${TD}/ns/../sa/web`)] }), code: 'WEFT_CSR_BAD_SPIFFE_ID', message: /^requested SAN is not a valid SPIFFE ID: .*dot segments/ },
  { name: 'fail/the trust domain root path', input: csr({ sans: [url(`spiffe://${TD}`)] }), code: 'WEFT_CSR_BAD_SPIFFE_ID', message: /^requested SPIFFE ID spiffe:\/\/example\.org has no path: a workload's X\.509-SVID needs one/ },
  { name: 'fail/another trust domain', input: csr({ sans: [url('spiffe://other.org/ns/default/sa/web')] }), code: 'WEFT_CSR_FOREIGN_TRUST_DOMAIN', message: /^requested SPIFFE ID spiffe:\/\/other\.org\/ns\/default\/sa\/web is in trust domain other\.org; this CA signs only for example\.org$/ },
  { name: 'fail/basicConstraints cA=TRUE requested', input: csr({ extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] }), code: 'WEFT_CSR_REQUESTS_CA', message: /^CSR asks for a CA certificate \(basicConstraints cA=TRUE\)/ },
  {
    name: 'fail/an identity other than the one the credential proves',
    input: csr(),
    expectedSpiffeId: `spiffe://${TD}/ns/default/sa/db`,
    code: 'WEFT_CSR_IDENTITY_MISMATCH',
    message: /^CSR asks for spiffe:\/\/example\.org\/ns\/default\/sa\/web but the credential proves spiffe:\/\/example\.org\/ns\/default\/sa\/db$/,
  },
];

describe('CertificateAuthority#issue accepts', () => {
  for (const c of ACCEPTED) {
    test(c.name, async () => {
      const input = await c.input();
      const before = auditLines(ca).length;
      const svid = ca.issue(input, { credential: CRED, ...(c.expectedSpiffeId ? { expectedSpiffeId: c.expectedSpiffeId } : {}) });
      assert.equal(svid.keyType, c.keyType);
      assert.equal(svid.spiffeId, ID);
      const leaf = readCertificate(svid.leafDer);
      assert.deepEqual([...leaf.uris], [ID]);
      assert.equal(leaf.keyType, c.keyType);
      assert.equal(leaf.keyUsage, c.keyUsage);
      const lines = auditLines(ca).slice(before);
      assert.deepEqual(lines.map((l) => [l.event, l.spiffeId, l.serial, l.keyType]), [['svid.issued', ID, svid.serial, c.keyType]]);
    });
  }
});

describe('CertificateAuthority#issue refuses, issuing nothing', () => {
  for (const c of REFUSED) {
    test(c.name, async () => {
      const input = await c.input();
      const before = auditLines(ca).length;
      let caught: unknown;
      try {
        ca.issue(input, { credential: CRED, ...(c.expectedSpiffeId ? { expectedSpiffeId: c.expectedSpiffeId } : {}) });
      } catch (err) {
        caught = err;
      }
      assert.ok(isWeftError(caught), `expected ${c.code}, got ${String(caught)}`);
      assert.equal(caught.code, c.code, caught.message);
      assert.match(caught.message, c.message);
      const lines = auditLines(ca).slice(before);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.event, 'svid.refused');
      assert.equal(lines[0]!.code, c.code);
      assert.equal(lines[0]!.reason, caught.message);
      assert.deepEqual(lines[0]!.credential, CRED);
    });
  }
});

describe('CSR properties', () => {
  const segment = fc.stringMatching(/^[a-z0-9-]{1,40}$/);

  test('ok/for any valid workload ID, CSR -> issue gives a leaf whose only URI SAN is that ID', async () => {
    await fc.assert(
      fc.asyncProperty(segment, segment, async (ns, sa) => {
        const id = `spiffe://${TD}/ns/${ns}/sa/${sa}`;
        const svid = ca.issue((await makeCsr({ sans: [url(id)] })).der, { credential: CRED, expectedSpiffeId: id });
        const leaf = readCertificate(svid.leafDer);
        assert.deepEqual([...leaf.uris], [id]);
        assert.deepEqual([...leaf.dnsNames], []);
        assert.equal(svid.spiffeId, id);
      }),
      { numRuns: 60 },
    );
  });

  test('fail/a CSR with any one byte changed is issued for the same ID or refused with a WEFT_CSR_ code', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const der = flipped(baseline, at % baseline.length, mask);
        try {
          assert.equal(ca.issue(der, { credential: CRED }).spiffeId, ID);
        } catch (err) {
          assert.ok(isWeftError(err) && err.code.startsWith('WEFT_CSR_'), `unexpected ${String(err)}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('fail/parseCsr on random bytes throws only WEFT_CSR_MALFORMED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.throws(() => parseCsr(bytes), (err) => isWeftError(err, 'WEFT_CSR_MALFORMED'));
      }),
      { numRuns: 2000 },
    );
  });
});
