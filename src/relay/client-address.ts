/**
 * Who a client is, for the per-client limits: its address, IPv6 taken per network prefix (a /64 by
 * default: one host gets 2^64 addresses, so counting them one by one would count nothing), and, only
 * behind a proxy the operator trusts, the address that proxy says it forwards for. Pure functions and a
 * BlockList: no I/O, tested directly.
 */
import net from 'node:net';

/** `::ffff:192.0.2.1` (an IPv4 client of a dual-stack listener) is 192.0.2.1. */
function unmapped(address: string): string {
  const match = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return match?.[1] ?? address;
}

/** Drops an IPv6 zone (`fe80::1%eth0`): the zone names an interface, not another host. */
function withoutZone(address: string): string {
  const percent = address.indexOf('%');
  return percent === -1 ? address : address.slice(0, percent);
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, an IPv4 tail converted). */
export function ipv6Groups(address: string): number[] | undefined {
  const text = withoutZone(address);
  if (net.isIPv6(text) === false) return undefined;
  let head = text;
  const tail: number[] = [];
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(head);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    head = head.slice(0, dotted.index);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const gap = head.indexOf('::');
  let groups: number[];
  if (gap === -1) groups = [...parse(head), ...tail];
  else {
    const left = parse(head.slice(0, gap));
    const right = [...parse(head.slice(gap + 2)), ...tail];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

/**
 * The key a client is counted under: an IPv4 address as it is, an IPv6 address as its network of
 * `ipv6PrefixLength` bits (`2001:db8:1:2:0:0:0:0/64`). Anything else (a unix socket, no address) is one key.
 */
export function clientKey(address: string | undefined, ipv6PrefixLength: number): string {
  if (address === undefined || address === '') return 'unknown';
  const plain = unmapped(address);
  if (net.isIPv4(plain)) return plain;
  const groups = ipv6Groups(plain);
  if (groups === undefined) return 'unknown';
  const masked = groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, ipv6PrefixLength - i * 16));
    return bits === 16 ? group : group & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${masked.map((group) => group.toString(16)).join(':')}/${ipv6PrefixLength}`;
}

/** The trusted proxies as a BlockList; throws a RangeError naming an entry that is not a CIDR or an address. */
export function parseTrustedProxies(entries: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
    const max = family === 'ipv4' ? 32 : 128;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (family === undefined || extra !== undefined || !(bits >= 0 && bits <= max)) {
      throw new RangeError(`trustProxy: ${JSON.stringify(entry)} is not an address or a CIDR such as 10.0.0.0/8 or fd00::/8`);
    }
    list.addSubnet(address, bits, family);
  }
  return list;
}

export function isTrusted(list: net.BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = withoutZone(unmapped(address));
  if (net.isIPv4(plain)) return list.check(plain, 'ipv4');
  return net.isIPv6(plain) && list.check(plain, 'ipv6');
}

/** One `X-Forwarded-For` element or `Forwarded: for=` value as an address: brackets, quotes and a port dropped. */
export function forwardedAddress(value: string): string | undefined {
  let text = value.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1).trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1] !== undefined) text = bracketed[1];
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const plain = unmapped(withoutZone(text));
  return net.isIP(plain) === 0 ? undefined : plain;
}

/** The `for=` values of a `Forwarded` header (RFC 7239), in order; an element without one is undefined. */
function forwardedFor(header: string): (string | undefined)[] {
  const elements: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of header) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      elements.push(current);
      current = '';
    } else current += char;
  }
  elements.push(current);
  return elements.map((element) => {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === 'for') return forwardedAddress(pair.slice(eq + 1));
    }
    return undefined;
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The client a request comes from. From a trusted proxy, the hops its `X-Forwarded-For` lists (or, when it
 * sends none, its `Forwarded` header) are read from the right: trusted proxies are skipped and the first
 * address that is not one is the client. A hop that is not an address stops the walk at the last trusted
 * address, so a garbled header can only make the proxy itself the client, never a name of the sender's
 * choosing. From any other peer the headers are ignored.
 */
export function clientAddress(
  peer: string | undefined,
  headers: { 'x-forwarded-for'?: string | string[] | undefined; forwarded?: string | string[] | undefined },
  trusted: net.BlockList,
): string | undefined {
  if (!isTrusted(trusted, peer)) return peer;
  const xff = headerText(headers['x-forwarded-for']);
  const forwarded = headerText(headers.forwarded);
  const hops = xff !== undefined ? xff.split(',').map(forwardedAddress) : forwarded !== undefined ? forwardedFor(forwarded) : [];
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === undefined) return client;
    client = hop;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return client;
}
