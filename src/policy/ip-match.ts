// Address and CIDR matching for ipBlocks, remoteIpBlocks, notIpBlocks... and the `source.ip`,
// `remote.ip`, `destination.ip` conditions. A bare address is a /32 (IPv4) or /128 (IPv6) block.
// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4
// peer) is the IPv4 address it carries, on both sides, so `10.0.0.0/8` matches it.
import ipaddr from 'ipaddr.js';

/**
 * A parsed address: an IPv4 address as an unsigned 32-bit number, an IPv6 one as 8 16-bit parts
 * (a typed array, not an Array, so matching never mistakes it for a list of values).
 */
export type Address = number | Uint16Array;

/** Tests a parsed address. */
export type AddressMatcher = (address: Address) => boolean;

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/**
 * Parses an IPv4 address in dotted-quad form or an IPv6 address (no zone). Returns undefined for
 * anything else: the shorthand forms inet_aton accepts (`10.1`, `0x7f.1`, leading zeros) are not
 * addresses here, so a policy and a request can never disagree about which address a text names.
 */
export function parseAddress(text: string): Address | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4;
  if (!text.includes(':') || text.includes('%')) return undefined;
  let v6: ipaddr.IPv6;
  try {
    v6 = ipaddr.IPv6.parse(text);
  } catch {
    return undefined;
  }
  if (v6.isIPv4MappedAddress()) {
    const [a, b, c, d] = v6.toIPv4Address().octets as [number, number, number, number];
    return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  }
  return Uint16Array.from(v6.parts);
}

/** A dotted quad as a number, by hand: this runs per request. No leading zeros, each part 0-255. */
function parseIpv4(text: string): number | undefined {
  let value = 0;
  let part = -1;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || parts === 4) return undefined;
      value = value * 256 + part;
      parts++;
      part = -1;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return undefined;
      part = (part === -1 ? 0 : part * 10) + (c - 0x30);
      digits++;
      if (digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/**
 * The matcher for an address or CIDR block, or why it is not one.
 * @example cidrMatcher('10.0.0.0/8') is a function; cidrMatcher('10.0.0.0/33') is a reason string
 */
export function cidrMatcher(text: string): AddressMatcher | string {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  let address = parseAddress(addressText);
  if (address === undefined) return `${JSON.stringify(text)} is not an IPv4 or IPv6 address or CIDR block`;
  const isV4Text = IPV4.test(addressText);
  const max = isV4Text ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) return `${JSON.stringify(text)} has a prefix length outside 0-${max}`;
    prefix = Number(prefixText);
  }
  if (!isV4Text && typeof address === 'number') {
    // An IPv4-mapped block (::ffff:a.b.c.d/n): below /96 it reaches past the mapped range, so keep it IPv6.
    if (prefix < 96) address = mappedParts(address);
    else prefix -= 96;
  }
  if (typeof address === 'number') {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    const net = (address & mask) >>> 0;
    return (a) => typeof a === 'number' && ((a & mask) >>> 0) === net;
  }
  const parts = address;
  return (a) => typeof a !== 'number' && partsMatch(parts, a, prefix);
}

function mappedParts(v4: number): Uint16Array {
  return Uint16Array.of(0, 0, 0, 0, 0, 0xffff, v4 >>> 16, v4 & 0xffff);
}

function partsMatch(net: Uint16Array, a: Uint16Array, prefix: number): boolean {
  let bits = prefix;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((net[i]! & mask) !== (a[i]! & mask)) return false;
  }
  return true;
}
