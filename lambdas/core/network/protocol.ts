import { type PortRange, PROTOCOL_NUMBERS, type ProtocolNumber } from './types.ts';

const NAMES: Record<number, string> = { [-1]: 'all', 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

/**
 * Reads a protocol as EC2 writes it (`-1`, `tcp`, `6`, `icmpv6`, `50`); `undefined` when it is none.
 * Security groups carry names, network ACLs numbers, and emulators sometimes echo whichever was sent.
 */
export function parseProtocol(value: string | number | undefined): ProtocolNumber | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim().toLowerCase();
  if (text === '-1' || text === 'all') return PROTOCOL_NUMBERS.all;
  if (Object.hasOwn(PROTOCOL_NUMBERS, text)) return PROTOCOL_NUMBERS[text as keyof typeof PROTOCOL_NUMBERS];
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return Number(text);
  return undefined;
}

/** `tcp`, `udp`, `all`, or the number for protocols without a common name. */
export function protocolName(protocol: ProtocolNumber): string {
  return NAMES[protocol] ?? String(protocol);
}

/** TCP and UDP are the protocols whose rules carry port ranges. */
export function hasPorts(protocol: ProtocolNumber): boolean {
  return protocol === PROTOCOL_NUMBERS.tcp || protocol === PROTOCOL_NUMBERS.udp;
}

/** True when traffic of `protocol` to `port` falls under a rule for `ruleProtocol` and `ports`. */
export function protocolAndPortMatch(
  ruleProtocol: ProtocolNumber,
  ports: PortRange | undefined,
  protocol: ProtocolNumber,
  port: number,
): boolean {
  if (ruleProtocol === PROTOCOL_NUMBERS.all) return true;
  if (ruleProtocol !== protocol) return false;
  if (!hasPorts(ruleProtocol) || ports === undefined) return true;
  return port >= ports.from && port <= ports.to;
}

/** `3000`, `3000-3010`, or `all ports`. */
export function formatPorts(ports: PortRange | undefined): string {
  if (ports === undefined || (ports.from <= 0 && ports.to >= 65535)) return 'all ports';
  return ports.from === ports.to ? String(ports.from) : `${ports.from}-${ports.to}`;
}

/** `tcp 3000`, `tcp 3000-3010`, `all traffic`, `icmp`. */
export function formatProtocolPorts(protocol: ProtocolNumber, ports: PortRange | undefined): string {
  if (protocol === PROTOCOL_NUMBERS.all) return 'all traffic';
  if (!hasPorts(protocol)) return protocolName(protocol);
  return `${protocolName(protocol)} ${formatPorts(ports)}`;
}
