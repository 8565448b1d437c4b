// Reads and writes PEM certificate files (RFC 7468 §5, the "CERTIFICATE" label), strictly: a file
// of certificates that also holds a key or a broken block is refused rather than half-read.
import { X509Certificate } from 'node:crypto';
import { PemError } from './errors.js';

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True when `text` is standard (RFC 4648 §4, padded) base64 with no whitespace. */
export function isStandardBase64(text: string): boolean {
  return text.length > 0 && BASE64_RE.test(text);
}

/**
 * The DER of every CERTIFICATE block in `pem`, in order. Text between blocks (comments,
 * `openssl x509 -text` output) is allowed; any other block type, a block without its END line, a
 * block that is not base64 or not one whole X.509 certificate is refused.
 *
 * @throws PemError (`WEFT_PEM_INVALID`) naming the block; also when there is no certificate at all.
 * @example const [leaf, ...intermediates] = parseCertificatesPem(readFileSync('cert.pem', 'utf8'));
 */
export function parseCertificatesPem(pem: string): Buffer[] {
  if (typeof pem !== 'string') throw new TypeError('"pem" must be a string');
  const out: Buffer[] = [];
  let end = 0;
  for (const m of pem.matchAll(BLOCK_RE)) {
    const n = out.length + 1;
    const [, label, body, endLabel] = m as unknown as [string, string, string, string];
    if (pem.slice(end, m.index).includes('-----BEGIN ') || body.includes('-----BEGIN ')) {
      throw new PemError(`PEM block ${n} has a BEGIN line without a matching END line`, { block: n });
    }
    end = m.index + m[0].length;
    if (label !== endLabel) throw new PemError(`PEM block ${n} begins as ${label} but ends as ${endLabel}`, { block: n });
    if (label !== 'CERTIFICATE') throw new PemError(`PEM block ${n} is a ${label}, only CERTIFICATE blocks are allowed here`, { block: n });
    if (body.includes(':')) throw new PemError(`PEM block ${n} has headers, which a CERTIFICATE block must not`, { block: n });
    const b64 = body.replace(/\s+/g, '');
    if (!isStandardBase64(b64)) throw new PemError(`PEM block ${n} is not valid base64`, { block: n });
    const der = Buffer.from(b64, 'base64');
    if (!isWholeCertificate(der)) throw new PemError(`PEM block ${n} does not hold a valid X.509 certificate`, { block: n });
    out.push(der);
  }
  if (pem.slice(end).includes('-----BEGIN ')) {
    throw new PemError(`PEM block ${out.length + 1} has a BEGIN line without a matching END line`, { block: out.length + 1 });
  }
  if (out.length === 0) throw new PemError('no PEM CERTIFICATE block found (expected "-----BEGIN CERTIFICATE-----")');
  return out;
}

/** True when `der` is exactly one DER X.509 certificate, with nothing after it. */
export function isWholeCertificate(der: Uint8Array): boolean {
  try {
    return new X509Certificate(der).raw.length === der.length;
  } catch {
    return false;
  }
}

/** PEM CERTIFICATE blocks for DER certificates, 64 base64 characters a line, each ending in a newline. */
export function certificatesToPem(ders: readonly Uint8Array[]): string {
  return ders.map((der) => derToPem('CERTIFICATE', der)).join('');
}

/** One PEM block. */
export function derToPem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
