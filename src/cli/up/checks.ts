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
  /** What the calling sidecar said of a refusal: x-weft-proxy-error (`[FLAG ]WEFT_CODE: reason`). */
  proxyError?: string;
  target?: string;
  calls?: AppAnswer[];
}

/** Where a check looks for the cause of a refusal it cannot see in the answer itself. */
export interface CheckCauses {
  /** The policy decision that refused a request to `service` (the serving sidecar logs it). */
  denial(service: string): string | undefined;
  /** Where the logs are, for a hop that was never seen at all. */
  logDir: string;
}

/**
 * Calls productpage until every edge of the demo has been seen (reviews alternates between v1
 * and v2), and turns each hop into a row naming both SPIFFE IDs as the callee's sidecar saw them.
 * A hop that failed says why: the status, the calling sidecar's x-weft-proxy-error, and for a 403
 * the policy that decided; a hop behind a failed one says which.
 */
export async function checkCalls(productpagePort: number, expectedEdges: readonly string[], causes: CheckCauses, attempts = 12): Promise<CheckRow[]> {
  const seen: Seen = { ok: new Map(), failed: new Map(), answered: new Set() };
  for (let i = 0; i < attempts && seen.ok.size < expectedEdges.length; i++) {
    const answer = await getJson(productpagePort);
    if (answer.service === undefined) seen.failed.set(`-> ${answerName(answer)}`, failureDetail(answer, causes));
    collect(answer, seen, causes);
  }
  return expectedEdges.map((edge) => {
    const ok = seen.ok.get(edge);
    if (ok !== undefined) return { check: edge, ok: true, detail: ok };
    const [from = '', to = ''] = edge.split(' -> ');
    const failed = seen.failed.get(`${from} -> ${to.split(' ')[0]}`) ?? seen.failed.get(`${from} -> ${to}`);
    if (failed !== undefined) return { check: edge, ok: false, detail: failed };
    if (!seen.answered.has(from)) {
      const own = seen.failed.get(`-> ${from.split(' ')[0]}`);
      return { check: edge, ok: false, detail: own ?? `not reached: ${from} never answered (see the row that calls it)` };
    }
    return { check: edge, ok: false, detail: `never seen: the call was answered by another version each time; see the logs under ${causes.logDir}` };
  });
}

interface Seen {
  /** Edge -> detail of a call that succeeded. */
  ok: Map<string, string>;
  /** `caller -> service` (and `caller -> service version`) -> why the last such call failed. */
  failed: Map<string, string>;
  /** Workloads (`service version`) that answered at least once. */
  answered: Set<string>;
}

function answerName(a: AppAnswer): string {
  return `${a.service ?? a.target?.split('.')[0] ?? 'productpage'}${a.version ? ` ${a.version}` : ''}`;
}

function collect(answer: AppAnswer, seen: Seen, causes: CheckCauses): void {
  if (answer.service !== undefined) seen.answered.add(answerName(answer));
  const from = answerName(answer);
  for (const call of answer.calls ?? []) {
    const ok = call.status === 200 && typeof call.caller === 'string' && typeof call.self === 'string';
    const to = answerName(call);
    if (ok) seen.ok.set(`${from} -> ${to}`, `mTLS ${call.caller} -> ${call.self}`);
    else seen.failed.set(`${from} -> ${to}`, failureDetail(call, causes));
    collect(call, seen, causes);
  }
}

/** `HTTP 403 RBAC: access denied; denied by DENY policy default/deny-admin, rule 0`, and the like. */
function failureDetail(call: AppAnswer, causes: CheckCauses): string {
  const status = call.status ? `HTTP ${call.status}` : 'no answer';
  const said = call.proxyError ?? call.error ?? (call.status === 200 ? 'no identity in the answer' : '');
  const service = call.service ?? call.target?.split('.')[0];
  const decided = call.status === 403 && service !== undefined ? causes.denial(service) : undefined;
  return `${status}${said ? `: ${said}` : ''}${decided ? `; ${decided}` : ''}`;
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
