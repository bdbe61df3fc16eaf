/**
 * Network ACLs are stateless and ordered: for each packet the entry with the lowest rule number that matches
 * decides, and a packet no entry matches is denied. The request and its reply are judged separately.
 */
import { cidrContains, type ParsedIp } from './ip.ts';
import { type CompiledAcl, type CompiledAclEntry, implicitDeny, type NetworkIndex } from './network-index.ts';
import { hasPorts, protocolAndPortMatch } from './protocol.ts';
import type { AclRuleView, PortRange, ProtocolNumber, Subnet } from './types.ts';

export interface AclTraffic {
  protocol: ProtocolNumber;
  /** The packet's destination port(s): one port for a request, the ephemeral range for replies. */
  ports: PortRange;
  /** The other end's address: destination for outbound entries, source for inbound. */
  peer: ParsedIp;
}

export interface AclDecision {
  decision: 'allow' | 'deny';
  /** The entry that decides: the allowing entry, or the first entry that denies some of the ports. */
  entry: AclRuleView;
  deniedPorts: PortRange[];
  allowedPorts: PortRange[];
}

/** The ACL guarding a subnet: its explicit association, else the VPC's default ACL. */
export function aclForSubnet(index: NetworkIndex, subnet: Subnet): CompiledAcl | undefined {
  return index.aclBySubnet.get(subnet.id) ?? index.defaultAclByVpc.get(subnet.vpcId);
}

function firstMatch(
  entries: readonly CompiledAclEntry[],
  protocol: ProtocolNumber,
  port: number,
  peer: ParsedIp,
): CompiledAclEntry | undefined {
  for (const entry of entries) {
    if (!cidrContains(entry.cidr, peer)) continue;
    if (protocolAndPortMatch(entry.entry.protocol, entry.entry.ports, protocol, port)) return entry;
  }
  return undefined;
}

/**
 * Judges every port of `traffic.ports`: the range is cut at each entry's port boundaries, and each piece is
 * decided by its own first matching entry.
 */
export function evaluateAcl(
  acl: CompiledAcl,
  direction: 'inbound' | 'outbound',
  traffic: AclTraffic,
): AclDecision {
  const entries = direction === 'inbound' ? acl.inbound : acl.outbound;
  const { from, to } = traffic.ports;
  const cuts = new Set<number>([from]);
  if (hasPorts(traffic.protocol)) {
    for (const { entry } of entries) {
      if (!entry.ports) continue;
      if (entry.ports.from > from && entry.ports.from <= to) cuts.add(entry.ports.from);
      if (entry.ports.to + 1 > from && entry.ports.to + 1 <= to) cuts.add(entry.ports.to + 1);
    }
  }
  const starts = [...cuts].sort((a, b) => a - b);
  const allowedPorts: PortRange[] = [];
  const deniedPorts: PortRange[] = [];
  let allowingEntry: AclRuleView | undefined;
  let denyingEntry: AclRuleView | undefined;
  for (const [i, start] of starts.entries()) {
    const end = i + 1 < starts.length ? starts[i + 1]! - 1 : to;
    const match = firstMatch(entries, traffic.protocol, start, traffic.peer);
    const view = match?.view ?? implicitDeny(traffic.peer.family);
    const ranges = view.action === 'allow' ? allowedPorts : deniedPorts;
    const last = ranges.at(-1);
    if (last && last.to === start - 1) last.to = end;
    else ranges.push({ from: start, to: end });
    if (view.action === 'allow') allowingEntry ??= view;
    else denyingEntry ??= view;
  }
  if (denyingEntry) return { decision: 'deny', entry: denyingEntry, deniedPorts, allowedPorts };
  return { decision: 'allow', entry: allowingEntry!, deniedPorts, allowedPorts };
}

/**
 * A free rule number below `before` in the given direction, for a fix that must be evaluated first:
 * the next multiple of 10 after the last entry below it when that fits, else the highest free number.
 */
export function freeRuleNumberBefore(
  acl: CompiledAcl,
  direction: 'inbound' | 'outbound',
  before: number,
): number | undefined {
  const used = new Set((direction === 'inbound' ? acl.inbound : acl.outbound).map((e) => e.entry.ruleNumber));
  const below = [...used].filter((n) => n < before);
  const highest = below.length > 0 ? Math.max(...below) : 0;
  const tidy = (Math.floor(highest / 10) + 1) * 10;
  if (tidy < before && !used.has(tidy)) return tidy;
  for (let n = before - 1; n >= 1; n--) if (!used.has(n)) return n;
  return undefined;
}
