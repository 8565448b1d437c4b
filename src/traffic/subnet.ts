// destinationSubnets of TLS and TCP matches: is the address the app connected to in one of the
// CIDR blocks (a bare address is a /32 or /128)?
import ipaddr from 'ipaddr.js';

export type SubnetMatcher = (address: string) => boolean;

/** A matcher for a list of CIDRs; entries that do not parse match nothing. */
export function subnetMatcher(cidrs: readonly string[]): SubnetMatcher {
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const c of cidrs) {
    try {
      ranges.push(c.includes('/') ? ipaddr.parseCIDR(c) : (() => {
        const a = ipaddr.parse(c);
        return [a, a.kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number];
      })());
    } catch {
      // validation refuses these; one that slips through matches nothing
    }
  }
  return (address) => {
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      a = ipaddr.process(address);
    } catch {
      return false;
    }
    return ranges.some(([net, bits]) => net.kind() === a.kind() && a.match([net, bits] as never));
  };
}
