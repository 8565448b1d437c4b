// The hash consistent balancing keys on. Envoy uses xxHash64; weft needs only a stable, well-mixed
// hash that is fast in JavaScript, so it runs two 32-bit multiply-xorshift lanes over the UTF-16
// code units (Math.imul keeps every step in 32-bit integer arithmetic, no BigInt) and combines
// them into 53 bits, the largest integer a double holds exactly. Values differ from Envoy's, so a
// key maps to a different endpoint than under Envoy; stickiness within weft is what matters.

const TWO_POW_21 = 2_097_152;

/** A 53-bit hash of `text` (0 ≤ h < 2^53), stable across processes and versions of weft. */
export function hash53(text: string, seed = 0): number {
  let h1 = 0x9e3779b1 ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x85ebca77);
    h2 = Math.imul(h2 ^ c, 0xc2b2ae3d);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x7feb352d) ^ Math.imul(h2 ^ (h2 >>> 13), 0x846ca68b);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x7feb352d) ^ Math.imul(h1 ^ (h1 >>> 13), 0x846ca68b);
  h1 ^= h1 >>> 15;
  h2 ^= h2 >>> 15;
  return (h2 >>> 0) * TWO_POW_21 + (h1 >>> 11);
}

/** The top 32 bits of a 53-bit hash: the position on a ring. */
export function ringPosition(h: number): number {
  return Math.floor(h / TWO_POW_21);
}

/** 16 lowercase hex digits of a 53-bit hash (the value of a generated affinity cookie). */
export function hashHex(h: number): string {
  return h.toString(16).padStart(16, '0');
}
