// A small DER (ITU-T X.690) reader and writer for the few structures weft handles on a hot path
// (CSRs in, certificates out). General certificate handling goes through @peculiar/x509; this
// exists because a general ASN.1 object model costs hundreds of microseconds per certificate.
import { WeftError } from './errors.js';

/** One decoded TLV: `tag` is the identifier octet, content spans [start, end) of the input. */
export interface Tlv {
  readonly tag: number;
  /** First byte of the TLV (its tag). */
  readonly offset: number;
  /** First byte of the content. */
  readonly start: number;
  /** One past the last content byte (and the end of the TLV). */
  readonly end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

function malformed(detail: string): never {
  throw new WeftError('WEFT_DER_MALFORMED', `malformed DER: ${detail}`);
}

/**
 * Reads the TLV at `offset` of `buf`, refusing indefinite and non-minimal lengths, multi-byte tags
 * and content running past `limit`.
 */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) malformed(`truncated at byte ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) malformed(`multi-byte tag at byte ${offset}`);
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) malformed(`indefinite length at byte ${offset}`);
    if (n > 4) malformed(`length of ${n} bytes at byte ${offset}`);
    if (start + n > limit) malformed(`truncated length at byte ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    if (len < 0x80 || buf[start] === 0) malformed(`non-minimal length at byte ${offset}`);
    start += n;
  }
  const end = start + len;
  if (end > limit) malformed(`content runs past its container at byte ${offset}`);
  return { tag, offset, start, end };
}

/** Reads the TLV at `offset` and checks its tag. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, what: string, limit = buf.length): Tlv {
  const tlv = readTlv(buf, offset, limit);
  if (tlv.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Dotted text of an OBJECT IDENTIFIER's content. */
export function decodeOid(buf: Uint8Array, tlv: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const b = buf[i]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

// === writer ===

function lengthBytes(len: number): number[] {
  if (len < 0x80) return [len];
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** Encodes one TLV from a tag and already-encoded content parts. */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  let len = 0;
  for (const c of content) len += c.length;
  return Buffer.concat([Buffer.from([tag, ...lengthBytes(len)]), ...content], 1 + lengthBytes(len).length + len);
}

export const seq = (...content: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...content);

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** A non-negative INTEGER from its big-endian magnitude (a leading 0x00 is added when needed). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  return trimmed[0]! & 0x80 ? tlv(TAG.INTEGER, Buffer.from([0]), trimmed) : tlv(TAG.INTEGER, trimmed);
}

/** UTCTime for years 1950-2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
export function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString();
  const year = Number(iso.slice(0, 4));
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return year >= 1950 && year < 2050
    ? tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'latin1'))
    : tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'latin1'));
}

/** A BIT STRING with no unused bits. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Buffer.from([0]), bytes);
export const octetString = (bytes: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, bytes);
