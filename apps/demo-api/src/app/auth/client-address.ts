import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address a client is throttled under. IPv4 as is; an IPv4-mapped IPv6 address
 * (`::ffff:1.2.3.4`) as its IPv4 address; any other IPv6 address reduced to its /64
 * prefix, since one subscriber usually holds a whole /64 (RFC 6177) and could otherwise
 * count every guess as a new client. Anything else (no address) is kept as given.
 */
export function throttleAddress(ip: string | undefined): string {
  if (!ip) return '';
  const zone = ip.indexOf('%');
  const address = (zone < 0 ? ip : ip.slice(0, zone)).trim().toLowerCase();
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const tailStart = text.lastIndexOf(':') + 1;
  const tail = text.slice(tailStart);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, tailStart)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head, rest] = text.split('::');
  if (rest === undefined) return parse(head);
  const left = parse(head);
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
