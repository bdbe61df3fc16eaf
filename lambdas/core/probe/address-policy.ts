/**
 * Where a probe may connect. A probe URL comes from configuration, but a redirect or a DNS answer can point
 * it anywhere, including the instance metadata service: every address the prober is about to connect to
 * is classified here first. Pure functions over IP text; no `node:net`.
 */

/** What an address is, for the policy. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

export interface AddressPolicy {
  /** Private ranges (RFC 1918, CGNAT, IPv6 ULA) and loopback. */
  allowPrivate: boolean;
  /** Link-local ranges and cloud metadata endpoints (169.254.169.254, fd00:ec2::254, …). */
  allowLinkLocal: boolean;
}

export type AddressDecision =
  | { allowed: true; addressClass: AddressClass }
  | { allowed: false; addressClass: AddressClass; reason: string };

/** Where gatewatch runs: on an operator's host (`local`) or as the probe Lambda (`aws`). */
export type ProbeMode = 'local' | 'aws';

/**
 * The default policy: locally a probe of 127.0.0.1 or a LAN address is the normal case; in AWS the Lambda
 * must not be turned into a way into the VPC or the metadata service, so both are refused unless the
 * configuration allows them. Link-local stays refused locally too: gatewatch may run on an EC2 host.
 */
export function addressPolicyFor(mode: ProbeMode, overrides: Partial<AddressPolicy> = {}): AddressPolicy {
  const base: AddressPolicy =
    mode === 'aws'
      ? { allowPrivate: false, allowLinkLocal: false }
      : { allowPrivate: true, allowLinkLocal: false };
  return {
    allowPrivate: overrides.allowPrivate ?? base.allowPrivate,
    allowLinkLocal: overrides.allowLinkLocal ?? base.allowLinkLocal,
  };
}

interface ParsedIp {
  family: 4 | 6;
  bytes: number[];
}

/** Parses a dotted-quad IPv4 address (no shorthand forms: those never come out of a resolver). */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes.push(value);
  }
  return bytes;
}

/** Parses an IPv6 address (with `::`, an embedded IPv4 tail, optional brackets and `%zone`) to 16 bytes. */
export function parseIPv6(text: string): number[] | undefined {
  let value = text;
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  const zone = value.indexOf('%');
  if (zone !== -1) value = value.slice(0, zone);
  if (!/^[0-9A-Fa-f:.]+$/.test(value)) return undefined;

  let tail: number[] = [];
  const lastColon = value.lastIndexOf(':');
  if (value.includes('.')) {
    const v4 = parseIPv4(value.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    value = value.slice(0, lastColon + 1);
    // Keep a trailing "::" intact; otherwise drop the single ':' that separated the IPv4 tail.
    if (value.endsWith(':') && !value.endsWith('::')) value = value.slice(0, -1);
  }

  const halves = value.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const group of groups) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
      const n = Number.parseInt(group, 16);
      out.push(n >> 8, n & 0xff);
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1) {
    return known === 16 ? [...head, ...tail] : undefined;
  }
  if (known > 14) return undefined; // "::" stands for at least one group
  return [...head, ...new Array<number>(16 - known).fill(0), ...rest, ...tail];
}

/** Parses either family; `undefined` for anything that is not an IP literal (a host name). */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

/** True when `text` is an IPv4 or IPv6 literal rather than a host name. */
export function isIpLiteral(text: string): boolean {
  return parseIp(text) !== undefined;
}

// Cloud metadata and instance services reachable on link-local addresses (AWS IMDS, ECS task metadata,
// Amazon Time Sync, the VPC DNS resolver on Nitro).
const IPV4_METADATA = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '169.254.170.23',
  '169.254.169.123',
  '169.254.169.253',
]);

function inV4(bytes: number[], prefix: [number, number, number, number], bits: number): boolean {
  let remaining = bits;
  for (let i = 0; i < 4 && remaining > 0; i++) {
    const take = Math.min(8, remaining);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i]! & mask) !== (prefix[i]! & mask)) return false;
    remaining -= take;
  }
  return true;
}

function classifyV4(bytes: number[]): AddressClass {
  const text = bytes.join('.');
  if (inV4(bytes, [0, 0, 0, 0], 8)) return 'unspecified';
  if (inV4(bytes, [127, 0, 0, 0], 8)) return 'loopback';
  if (IPV4_METADATA.has(text)) return 'metadata';
  if (inV4(bytes, [169, 254, 0, 0], 16)) return 'link-local';
  if (
    inV4(bytes, [10, 0, 0, 0], 8) ||
    inV4(bytes, [172, 16, 0, 0], 12) ||
    inV4(bytes, [192, 168, 0, 0], 16) ||
    inV4(bytes, [100, 64, 0, 0], 10) || // carrier-grade NAT
    inV4(bytes, [198, 18, 0, 0], 15) // benchmarking networks
  ) {
    return 'private';
  }
  if (inV4(bytes, [224, 0, 0, 0], 4)) return 'multicast';
  if (
    inV4(bytes, [240, 0, 0, 0], 4) || // reserved, includes 255.255.255.255
    inV4(bytes, [192, 0, 0, 0], 24) || // IETF protocol assignments
    inV4(bytes, [192, 0, 2, 0], 24) ||
    inV4(bytes, [198, 51, 100, 0], 24) ||
    inV4(bytes, [203, 0, 113, 0], 24)
  ) {
    return 'reserved';
  }
  return 'public';
}

function startsWith(bytes: number[], prefix: number[], bits: number): boolean {
  let remaining = bits;
  for (let i = 0; remaining > 0; i++) {
    const take = Math.min(8, remaining);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i]! & mask) !== ((prefix[i] ?? 0) & mask)) return false;
    remaining -= take;
  }
  return true;
}

function classifyV6(bytes: number[]): AddressClass {
  const zeroPrefix = (count: number) => bytes.slice(0, count).every((b) => b === 0);
  if (zeroPrefix(16)) return 'unspecified';
  if (zeroPrefix(15) && bytes[15] === 1) return 'loopback';
  // Addresses that carry an IPv4 address are judged by that address: ::ffff:a.b.c.d (mapped),
  // ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64) and 2002:AABB:CCDD:: (6to4).
  if (zeroPrefix(10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyV4(bytes.slice(12));
  if (zeroPrefix(12)) return classifyV4(bytes.slice(12));
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b], 96)) return classifyV4(bytes.slice(12));
  if (bytes[0] === 0x20 && bytes[1] === 0x02) {
    const inner = classifyV4(bytes.slice(2, 6));
    return inner === 'public' ? 'public' : inner;
  }
  if (startsWith(bytes, [0xfd, 0x00, 0x0e, 0xc2], 32)) return 'metadata'; // fd00:ec2::/32, AWS IMDS and friends
  if (startsWith(bytes, [0xfe, 0x80], 10)) return 'link-local';
  if (startsWith(bytes, [0xfc], 7)) return 'private'; // unique local
  if (startsWith(bytes, [0xfe, 0xc0], 10)) return 'private'; // deprecated site-local
  if (bytes[0] === 0xff) return 'multicast';
  if (startsWith(bytes, [0x01, 0x00], 64)) return 'reserved'; // discard prefix
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return 'reserved'; // documentation
  return 'public';
}

/** Classifies an IP literal; throws `InvalidAddressError` for anything else. */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseIp(ip);
  if (!parsed) throw new InvalidAddressError(ip);
  return parsed.family === 4 ? classifyV4(parsed.bytes) : classifyV6(parsed.bytes);
}

/** Thrown when something that should be a resolved IP address is not one. */
export class InvalidAddressError extends Error {
  override name = 'InvalidAddressError';
  constructor(value: string) {
    super(`not an IP address: ${JSON.stringify(value)}`);
  }
}

const CLASS_WORDS: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private-range address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

/** Decides whether a probe may connect to `ip`; the reason says which setting would allow it. */
export function checkAddress(ip: string, policy: AddressPolicy): AddressDecision {
  const addressClass = classifyAddress(ip);
  const refuse = (reason: string): AddressDecision => ({ allowed: false, addressClass, reason });
  switch (addressClass) {
    case 'public':
      return { allowed: true, addressClass };
    case 'loopback':
    case 'private':
      return policy.allowPrivate
        ? { allowed: true, addressClass }
        : refuse(`${ip} is ${CLASS_WORDS[addressClass]}; set probe.allowPrivate: true to probe it`);
    case 'link-local':
    case 'metadata':
      return policy.allowLinkLocal
        ? { allowed: true, addressClass }
        : refuse(`${ip} is ${CLASS_WORDS[addressClass]}; set probe.allowLinkLocal: true to probe it`);
    default:
      return refuse(`${ip} is ${CLASS_WORDS[addressClass]} and is never probed`);
  }
}
