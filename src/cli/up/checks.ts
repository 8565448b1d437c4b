import { KeyObject, webcrypto } from 'node:crypto';
import { connect as h2connect } from 'node:http2';
import { request } from 'node:http';
import { systemClock } from '../../lib/clock.js';
import { x509 } from '../../lib/x509.js';

export interface CheckRow {
  check: string;
  ok: boolean;
  detail: string;
}

interface AppAnswer {
  service?: string;
  version?: string;
  self?: string | null;
  caller?: string | null;
  status?: number;
  error?: string;
  target?: string;
  calls?: AppAnswer[];
}

/**
 * Calls productpage until every edge of the demo has been seen (reviews alternates between v1
 * and v2), and turns each hop into a row naming both SPIFFE IDs as the callee's sidecar saw them.
 */
export async function checkCalls(productpagePort: number, expectedEdges: readonly string[], attempts = 12): Promise<CheckRow[]> {
  const rows = new Map<string, CheckRow>();
  for (let i = 0; i < attempts && [...rows.values()].filter((r) => r.ok).length < expectedEdges.length; i++) {
    const answer = await getJson(productpagePort);
    collect(answer, rows);
  }
  return expectedEdges.map((edge) => rows.get(edge) ?? { check: edge, ok: false, detail: 'never seen: see the logs under .weft/logs' });
}

function collect(answer: AppAnswer, rows: Map<string, CheckRow>): void {
  for (const call of answer.calls ?? []) {
    const name = `${answer.service} ${answer.version ?? ''} -> ${call.service ?? call.target} ${call.version ?? ''}`.replace(/\s+/g, ' ').trim();
    const ok = call.status === 200 && typeof call.caller === 'string' && typeof call.self === 'string';
    const detail = ok ? `mTLS ${call.caller} -> ${call.self}` : `HTTP ${call.status}: ${call.error ?? 'no identity'}`;
    if (!rows.get(name)?.ok) rows.set(name, { check: name, ok, detail });
    collect(call, rows);
  }
}

function getJson(port: number): Promise<AppAnswer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => {
        try {
          resolve(JSON.parse(body) as AppAnswer);
        } catch {
          resolve({ error: body });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

/** A plaintext HTTP request straight to a sidecar's inbound port must get no answer. */
export function checkPlaintextRefused(name: string, port: number): Promise<CheckRow> {
  const check = `plaintext -> ${name} inbound :${port}`;
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5_000 }, (res) => {
      res.resume();
      resolve({ check, ok: false, detail: `answered HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ check, ok: true, detail: `refused (${err.code ?? err.message})` }));
    req.end();
  });
}

/** An SVID for the right trust domain but from another CA must be refused at the handshake. */
export async function checkForeignCaRefused(name: string, port: number, trustDomain: string): Promise<CheckRow> {
  const check = `SVID from another CA -> ${name} inbound :${port}`;
  const foreign = await foreignSvid(`spiffe://${trustDomain}/ns/default/sa/intruder`);
  return new Promise((resolve) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { ...foreign, rejectUnauthorized: false });
    const done = (row: CheckRow) => {
      session.destroy();
      resolve(row);
    };
    session.on('error', (err: NodeJS.ErrnoException) => done({ check, ok: true, detail: `refused (${err.code ?? err.message})` }));
    const req = session.request({ ':path': '/' });
    req.on('response', (headers) => done({ check, ok: false, detail: `answered HTTP ${headers[':status']}` }));
    req.on('error', (err: NodeJS.ErrnoException) => done({ check, ok: true, detail: `refused (${err.code ?? err.message})` }));
    req.on('close', () => done({ check, ok: true, detail: 'refused (stream closed)' }));
    req.setTimeout(5_000, () => done({ check, ok: true, detail: 'refused (no answer)' }));
    req.end();
  });
}

/** A throwaway CA and a leaf for `spiffeId` signed by it; never written anywhere. */
async function foreignSvid(spiffeId: string): Promise<{ key: string; cert: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = systemClock.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=intruder CA',
    keys: caKeys,
    signingAlgorithm: alg,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    issuer: ca.subject,
    subject: '',
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  return { key: KeyObject.from(leafKeys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string, cert: leaf.toString('pem') };
}
