/**
 * Can traffic from nginx's host reach the upstream? Follows the request and its replies through security
 * groups (stateful), network ACLs (stateless, both subnets, both directions), route tables (both ways) and,
 * when their rulesets are given, the two hosts' firewalls; names every component that blocks, the rule that
 * decides, and the rule that would fix it. Configuration only: nothing is sent on the network.
 */

import { readHostFirewall } from './host-firewall.ts';
import { formatIp, hostCidr, ipKey, type ParsedIp, parseIp } from './ip.ts';
import { type AclDecision, aclForSubnet, evaluateAcl, freeRuleNumberBefore } from './network-acls.ts';
import {
  buildNetworkIndex,
  type CompiledAcl,
  type CompiledRouteTable,
  type NetworkIndex,
} from './network-index.ts';
import { formatPorts, formatProtocolPorts } from './protocol.ts';
import { createRouteFlag, lookupRoute, routeTableForSubnet } from './routes.ts';
import { evaluateSecurityGroups, type SecurityGroupDecision } from './security-groups.ts';
import {
  type AclRuleView,
  type BlockedBy,
  type Endpoint,
  type NetworkInterface,
  type NetworkModel,
  type PathStep,
  type PortRange,
  PROTOCOL_NUMBERS,
  type ReachabilityQuery,
  type ReachabilityResult,
  type Subnet,
} from './types.ts';

/** The question itself is malformed (not an address, a port out of range). */
export class ReachabilityQueryError extends Error {
  override name = 'ReachabilityQueryError';
}

/** Ports Linux, Windows and load balancers pick client ports from, together (AWS's advice for ACLs). */
export const DEFAULT_EPHEMERAL_PORTS: PortRange = { from: 1024, to: 65535 };

/** Linux's default `net.ipv4.ip_local_port_range`. */
const LINUX_EPHEMERAL_PORTS: PortRange = { from: 32768, to: 60999 };

interface Side {
  endpoint: Endpoint;
  ip?: ParsedIp;
  eni?: NetworkInterface;
  subnet?: Subnet;
}

function isIndex(input: NetworkModel | NetworkIndex): input is NetworkIndex {
  return (input as NetworkIndex).kind === 'network-index';
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function endpointOf(
  input: string,
  index: NetworkIndex,
  eni: NetworkInterface | undefined,
  ip?: ParsedIp,
): Endpoint {
  const instance = eni?.instanceId ? index.instancesById.get(eni.instanceId) : undefined;
  return {
    input,
    ...(ip ? { ip: formatIp(ip) } : {}),
    ...(eni
      ? { interfaceId: eni.id, subnetId: eni.subnetId, vpcId: eni.vpcId, groupIds: [...eni.groupIds] }
      : {}),
    ...(eni?.instanceId ? { instanceId: eni.instanceId } : {}),
    ...(instance?.name ? { instanceName: instance.name } : {}),
  };
}

/** An address of `eni` in the given family: the primary private IPv4, or the first IPv6. */
function addressOf(eni: NetworkInterface, family: 4 | 6, preferred?: string): ParsedIp | undefined {
  const candidates = family === 4 ? [preferred, ...eni.privateIps] : eni.ipv6s;
  for (const candidate of candidates) {
    const ip = candidate === undefined ? undefined : parseIp(candidate);
    if (ip?.family === family) return ip;
  }
  return undefined;
}

function describe(side: Side): string {
  const ip = side.ip ? formatIp(side.ip) : side.endpoint.input;
  const parts = [side.endpoint.instanceId, side.endpoint.interfaceId].filter(Boolean);
  return parts.length > 0 ? `${ip} (${parts.join(', ')})` : ip;
}

function aclRuleText(view: AclRuleView): string {
  return view.ruleNumber === '*' ? 'the final * rule' : `rule ${view.ruleNumber}`;
}

function aclEntryText(view: AclRuleView): string {
  const what = view.protocol === 'all' ? 'all traffic' : `${view.protocol} ${formatPorts(view.ports)}`;
  return `${aclRuleText(view)} (${view.action} ${what} ${view.cidr})`;
}

function rangesText(ranges: readonly PortRange[]): string {
  return ranges.map((r) => formatPorts(r)).join(', ');
}

function covers(ranges: readonly PortRange[], wanted: PortRange): boolean {
  return ranges.some((r) => r.from <= wanted.from && r.to >= wanted.to);
}

/**
 * Evaluates whether `query.from` can open a connection to `query.to` (and get the replies back).
 * Pass a {@link NetworkIndex} (from {@link buildNetworkIndex}) to evaluate many queries against one model.
 * @throws {ReachabilityQueryError} when the query is malformed.
 */
export function evaluateReachability(
  input: NetworkModel | NetworkIndex,
  query: ReachabilityQuery,
): ReachabilityResult {
  const protocolName = query.protocol ?? 'tcp';
  if (protocolName !== 'tcp' && protocolName !== 'udp') {
    throw new ReachabilityQueryError(`protocol ${String(protocolName)} is not tcp or udp`);
  }
  const protocol = PROTOCOL_NUMBERS[protocolName];
  const port = query.to.port;
  if (!validPort(port)) throw new ReachabilityQueryError(`port ${port} is not between 1 and 65535`);
  const destIp = parseIp(query.to.ip);
  if (!destIp) throw new ReachabilityQueryError(`${query.to.ip} is not an IPv4 or IPv6 address`);
  const ephemeral = query.ephemeralPorts ?? DEFAULT_EPHEMERAL_PORTS;
  const clientPortsKnown = query.ephemeralPorts !== undefined;
  if (!validPort(ephemeral.from) || !validPort(ephemeral.to) || ephemeral.from > ephemeral.to) {
    throw new ReachabilityQueryError(
      `ephemeral ports ${ephemeral.from}-${ephemeral.to} are not a port range`,
    );
  }
  const from = query.from.trim();
  if (from === '') throw new ReachabilityQueryError('from is empty: give an instance id or an IP address');

  const index = isIndex(input) ? input : buildNetworkIndex(input);
  const notes: string[] = index.warnings.map((w) => `inventory: ${w}`);
  const steps: PathStep[] = [];
  const blockedBy: BlockedBy[] = [];
  const ruledOut: string[] = [];
  const requestPorts: PortRange = { from: port, to: port };
  const what = `${protocolName} ${port}`;

  // ------------------------------------------------------------ resolve both ends
  const destEni = index.interfaceByIp.get(ipKey(destIp));
  const dest: Side = {
    endpoint: endpointOf(query.to.ip, index, destEni, destIp),
    ip: destIp,
    ...(destEni ? { eni: destEni } : {}),
  };
  if (!destEni) notes.push(`${formatIp(destIp)} is not an address of any interface in the inventory`);

  const source: Side = { endpoint: { input: from } };
  if (/^i-[0-9a-z]+$/i.test(from)) {
    const instance = index.instancesById.get(from);
    const eni = instance
      ? (index.interfacesById.get(instance.interfaceIds[0] ?? '') ??
        index.primaryInterfaceByInstance.get(from))
      : undefined;
    if (!instance) notes.push(`instance ${from} is not in the inventory`);
    else if (!eni) notes.push(`instance ${from} has no network interface in the inventory`);
    else {
      source.eni = eni;
      const ip = addressOf(eni, destIp.family, instance.primaryPrivateIp);
      if (ip) source.ip = ip;
      else
        notes.push(`instance ${from} has no IPv${destIp.family} address to reach ${formatIp(destIp)} from`);
    }
    if (instance?.state && instance.state !== 'running') notes.push(`instance ${from} is ${instance.state}`);
  } else if (/^eni-[0-9a-z]+$/i.test(from)) {
    const eni = index.interfacesById.get(from);
    if (!eni) notes.push(`interface ${from} is not in the inventory`);
    else {
      source.eni = eni;
      const ip = addressOf(eni, destIp.family);
      if (ip) source.ip = ip;
      else notes.push(`interface ${from} has no IPv${destIp.family} address`);
    }
  } else {
    const ip = parseIp(from);
    if (!ip) {
      throw new ReachabilityQueryError(
        `from ${from} is neither an instance id (i-…), an interface id nor an IP address`,
      );
    }
    if (ip.family !== destIp.family) {
      throw new ReachabilityQueryError(`${from} and ${query.to.ip} are of different address families`);
    }
    source.ip = ip;
    const eni = index.interfaceByIp.get(ipKey(ip));
    if (eni) source.eni = eni;
    else notes.push(`${formatIp(ip)} is not an address of any interface in the inventory`);
  }
  source.endpoint = endpointOf(from, index, source.eni, source.ip);
  for (const side of [source, dest]) {
    if (!side.eni) continue;
    const subnet = index.subnetsById.get(side.eni.subnetId);
    if (subnet) side.subnet = subnet;
    else notes.push(`subnet ${side.eni.subnetId} of ${side.eni.id} is not in the inventory`);
  }

  const result = (): ReachabilityResult => {
    const unresolved =
      !source.eni ||
      !dest.eni ||
      !source.ip ||
      !source.subnet ||
      (!dest.subnet && !sameInstance(source, dest));
    const uncertain = steps.some((s) => s.decision === 'unknown');
    return {
      verdict: blockedBy.length > 0 ? 'blocked' : unresolved || uncertain ? 'unknown' : 'reachable',
      blockedBy,
      path: { protocol: protocolName, port, from: source.endpoint, to: dest.endpoint, steps },
      ruledOut,
      notes,
    };
  };

  // ------------------------------------------------------------ host firewall: source
  const hostFirewall = (text: string | undefined, role: 'source' | 'destination'): void => {
    if (text === undefined) return;
    const peer = role === 'source' ? dest.ip : source.ip;
    const analysis = readHostFirewall(text, {
      port,
      proto: protocolName,
      direction: role === 'source' ? 'output' : 'input',
      ...(peer ? { peerIp: formatIp(peer) } : {}),
      ...(query.ephemeralPorts ? { ephemeralPorts: query.ephemeralPorts } : {}),
    });
    const direction = role === 'source' ? 'output' : 'input';
    const host = role === 'source' ? 'source host' : 'destination host';
    for (const block of analysis.blocks) {
      const detail = `${block.tool} ${block.table} ${block.chain} line ${block.lineNumber} \`${block.line}\` ${
        block.action === 'policy-drop' ? 'drops it by policy' : `${block.action}s the ${block.packet}`
      }`;
      steps.push({
        kind: 'host-firewall',
        id: 'host',
        direction,
        decision: block.certain ? 'deny' : 'unknown',
        detail,
      });
      if (!block.certain) {
        notes.push(`${host} firewall may block ${what}: ${detail} (${block.caveats.join('; ')})`);
        continue;
      }
      blockedBy.push({
        kind: 'host-firewall',
        id: 'host',
        direction,
        rule: {
          kind: 'host-firewall',
          tool: block.tool,
          table: block.table,
          chain: block.chain,
          line: block.line,
        },
        reason: `the ${host}'s firewall: ${detail}`,
        fix: block.fix,
      });
    }
    for (const item of analysis.notUnderstood) {
      notes.push(`${host} firewall line ${item.lineNumber} \`${item.line}\`: ${item.reason}`);
    }
    if (analysis.blocks.length === 0) {
      steps.push({
        kind: 'host-firewall',
        id: 'host',
        direction,
        decision: 'allow',
        detail: analysis.formats.length > 0 ? analysis.passed.join('; ') : 'no rules',
      });
      ruledOut.push(
        `${host} firewall (${analysis.formats.join(', ') || 'empty ruleset'}) lets ${what} through`,
      );
    }
  };

  // Without an address of the destination's family the source cannot send at all; nothing else to check.
  if (!source.ip) return result();

  if (sameInstance(source, dest)) {
    notes.push(
      source.eni!.id === dest.eni!.id
        ? 'both ends are the same interface: security groups, network ACLs and routes do not apply'
        : 'both ends are on the same instance: the kernel delivers locally, so only the host firewall applies',
    );
    // One host: the connection leaves through its output chain and arrives through its input chain.
    hostFirewall(query.hostFirewall?.source, 'source');
    hostFirewall(query.hostFirewall?.destination, 'destination');
    return result();
  }

  hostFirewall(query.hostFirewall?.source, 'source');

  // ------------------------------------------------------------ security groups
  const securityGroups = (direction: 'egress' | 'ingress'): void => {
    const self = direction === 'egress' ? source : dest;
    const other = direction === 'egress' ? dest : source;
    if (!self.eni || !other.ip) return;
    const decision = evaluateSecurityGroups(index, self.eni.groupIds, direction, {
      protocol,
      port,
      peer: other.ip,
      ...(other.eni ? { peerGroupIds: new Set(other.eni.groupIds) } : {}),
    });
    const dirWord = direction === 'egress' ? 'outbound' : 'inbound';
    const groups = self.eni.groupIds.join(', ') || '(none)';
    const toFrom = direction === 'egress' ? 'to' : 'from';
    const id = self.eni.groupIds[0] ?? self.eni.id;
    if (decision.decision === 'allow') {
      const rule = decision.allowedBy!.view;
      const detail = `${rule.groupId} allows ${formatProtocolPorts(decision.allowedBy!.rule.protocol, rule.ports)} ${toFrom} ${rule.peer}`;
      steps.push({ kind: 'security-group', id: rule.groupId, direction: dirWord, decision: 'allow', detail });
      ruledOut.push(`security groups ${dirWord} of ${self.eni.id} (${groups}): ${detail}`);
      return;
    }
    if (decision.decision === 'unknown') {
      const detail = `no rule of ${groups} allows ${what} ${toFrom} ${formatIp(other.ip)}; ${decision.unresolved.join('; ')}`;
      steps.push({ kind: 'security-group', id, direction: dirWord, decision: 'unknown', detail });
      notes.push(`security groups ${dirWord} of ${self.eni.id}: ${detail}`);
      return;
    }
    const detail = `no ${dirWord} rule of ${groups} allows ${what} ${toFrom} ${describe(other)}`;
    steps.push({ kind: 'security-group', id, direction: dirWord, decision: 'deny', detail });
    blockedBy.push({
      kind: 'security-group',
      id,
      direction: dirWord,
      rule: { kind: 'security-group', groupIds: [...self.eni.groupIds], nearMisses: decision.nearMisses },
      reason: `${detail}${nearMissText(decision)}`,
      fix: securityGroupFix(direction, id, self, other, protocolName, port),
    });
  };

  // ------------------------------------------------------------ network ACLs
  const networkAcl = (
    side: Side,
    direction: 'inbound' | 'outbound',
    peer: Side,
    ports: PortRange,
    label: 'outbound' | 'inbound' | 'outbound-return' | 'inbound-return',
  ): void => {
    if (!side.subnet || !peer.ip) return;
    const acl = aclForSubnet(index, side.subnet);
    const leg = label.endsWith('return') ? 'replies' : what;
    const verb =
      direction === 'outbound' ? `leaving ${side.subnet.id} to` : `entering ${side.subnet.id} from`;
    if (!acl) {
      const detail = `no network ACL is associated with ${side.subnet.id} and ${side.subnet.vpcId} has no default ACL in the inventory`;
      steps.push({ kind: 'network-acl', id: side.subnet.id, direction: label, decision: 'unknown', detail });
      notes.push(detail);
      return;
    }
    const decision = evaluateAcl(acl, direction, { protocol, ports, peer: peer.ip });
    const portsText = ports.from === ports.to ? '' : ` on ports ${formatPorts(ports)}`;
    const which = index.aclBySubnet.has(side.subnet.id)
      ? acl.acl.id
      : `${acl.acl.id} (the VPC's default ACL)`;
    if (decision.decision === 'allow') {
      const detail = `${which} ${aclEntryText(decision.entry)} lets ${leg} ${verb} ${formatIp(peer.ip)}${portsText}`;
      steps.push({ kind: 'network-acl', id: acl.acl.id, direction: label, decision: 'allow', detail });
      ruledOut.push(`network ACL ${label}: ${detail}`);
      return;
    }
    const partial = decision.allowedPorts.length > 0;
    const detail = `${which} ${aclEntryText(decision.entry)} denies ${leg} ${verb} ${describe(peer)}${
      partial
        ? ` on ports ${rangesText(decision.deniedPorts)} (allows ${rangesText(decision.allowedPorts)})`
        : portsText
    }`;
    if (partial && !clientPortsKnown) {
      // Which of these ports replies use depends on the client's OS and settings; without them, say so.
      const linux = covers(decision.allowedPorts, LINUX_EPHEMERAL_PORTS)
        ? `; Linux's default client ports ${formatPorts(LINUX_EPHEMERAL_PORTS)} are allowed`
        : covers(decision.deniedPorts, LINUX_EPHEMERAL_PORTS)
          ? `; Linux's default client ports ${formatPorts(LINUX_EPHEMERAL_PORTS)} are denied`
          : '';
      steps.push({ kind: 'network-acl', id: acl.acl.id, direction: label, decision: 'unknown', detail });
      notes.push(
        `${detail}${linux}: whether replies pass depends on the nginx host's client ports (net.ipv4.ip_local_port_range); give them as the ephemeral port range for a definite answer`,
      );
      return;
    }
    steps.push({ kind: 'network-acl', id: acl.acl.id, direction: label, decision: 'deny', detail });
    blockedBy.push({
      kind: 'network-acl',
      id: acl.acl.id,
      direction: label,
      rule: {
        kind: 'network-acl',
        entry: decision.entry,
        ...(label.endsWith('return') ? { deniedPorts: decision.deniedPorts } : {}),
      },
      reason: detail,
      fix: aclFix(acl, direction, decision, peer, index, protocolName, ports),
    });
  };

  // ------------------------------------------------------------ routes
  const route = (side: Side, peer: Side, label: 'request' | 'return'): void => {
    if (!side.subnet || !peer.ip) return;
    const table = routeTableForSubnet(index, side.subnet);
    if (!table) {
      const detail = `${side.subnet.id} has no route table and ${side.subnet.vpcId} no main table in the inventory`;
      steps.push({ kind: 'route-table', id: side.subnet.id, direction: label, decision: 'unknown', detail });
      notes.push(detail);
      return;
    }
    const tableName = index.routeTableBySubnet.has(side.subnet.id)
      ? table.table.id
      : `${table.table.id} (main)`;
    const lookup = lookupRoute(table, peer.ip);
    for (const list of lookup.unresolvedPrefixLists) {
      notes.push(`${table.table.id} routes prefix list ${list}, whose entries were not read`);
    }
    const peerText = describe(peer);
    const sameVpc = peer.eni !== undefined && peer.eni.vpcId === side.subnet.vpcId;
    const deny = (
      reason: string,
      matched?: { destination: string; target: string; state: 'active' | 'blackhole' },
    ) => {
      steps.push({
        kind: 'route-table',
        id: table.table.id,
        direction: label,
        decision: 'deny',
        detail: reason,
      });
      blockedBy.push({
        kind: 'route-table',
        id: table.table.id,
        direction: label,
        rule: { kind: 'route-table', ...(matched ? { route: matched } : {}) },
        reason,
        fix: routeFix(table, side, peer, matched, index),
      });
    };
    if (!lookup.route) {
      deny(`${tableName} has no route to ${peerText}`);
      return;
    }
    const r = lookup.route.route;
    const matched = { destination: lookup.route.destinationText, target: r.target.id, state: r.state };
    const via = `${r.target.id} (route ${matched.destination})`;
    if (r.state === 'blackhole') {
      deny(`${tableName} sends ${peerText} to ${via}, a blackhole: the target no longer exists`, matched);
      return;
    }
    const allow = (extra?: string): void => {
      const detail = `${tableName} sends ${peerText} to ${via}${extra ? `; ${extra}` : ''}`;
      steps.push({ kind: 'route-table', id: table.table.id, direction: label, decision: 'allow', detail });
      ruledOut.push(`route ${label === 'request' ? 'to the upstream' : 'back to nginx'}: ${detail}`);
    };
    const unknown = (why: string): void => {
      const detail = `${tableName} sends ${peerText} to ${via}; ${why}`;
      steps.push({ kind: 'route-table', id: table.table.id, direction: label, decision: 'unknown', detail });
      notes.push(detail);
    };
    switch (r.target.kind) {
      case 'local':
        if (peer.eni && !sameVpc) {
          deny(
            `${tableName} keeps ${peerText} inside ${side.subnet.vpcId} (local route ${matched.destination}), but it is in ${peer.eni.vpcId}: the VPCs' address ranges overlap`,
            matched,
          );
        } else allow();
        return;
      case 'vpc-peering':
      case 'transit-gateway':
      case 'virtual-private-gateway':
      case 'local-gateway':
      case 'core-network':
        if (sameVpc) unknown(`traffic inside ${side.subnet.vpcId} leaves through ${r.target.id}`);
        else if (r.target.kind === 'vpc-peering')
          allow(`the peering connection's state is not part of the inventory`);
        else allow(`${r.target.id}'s own route tables are not part of the inventory`);
        return;
      case 'network-interface':
      case 'instance':
      case 'vpc-endpoint':
        unknown(`through the appliance ${r.target.id}, whose own filtering is not evaluated`);
        return;
      case 'internet-gateway':
      case 'nat-gateway':
      case 'egress-only-internet-gateway':
      case 'carrier-gateway':
        if (peer.eni) {
          deny(
            `${tableName} sends ${peerText}, a private address in ${peer.eni.vpcId}, to ${via}, which does not reach private addresses of another VPC`,
            matched,
          );
        } else allow('leaves the VPC for an address outside the inventory');
        return;
      default:
        unknown(`the target ${r.target.id} is of a kind gatewatch does not evaluate`);
    }
  };

  // ------------------------------------------------------------ the path, in the order packets take it
  const sameSubnet = source.subnet !== undefined && source.subnet.id === dest.subnet?.id;
  securityGroups('egress');
  if (sameSubnet) {
    ruledOut.push(`network ACLs and routes: both ends are in ${source.subnet!.id}, where neither applies`);
    steps.push({
      kind: 'network-acl',
      id: source.subnet!.id,
      direction: 'both',
      decision: 'not-applicable',
      detail: `both ends are in ${source.subnet!.id}: traffic inside a subnet does not pass its network ACL`,
    });
  } else {
    networkAcl(source, 'outbound', dest, requestPorts, 'outbound');
    route(source, dest, 'request');
    networkAcl(dest, 'inbound', source, requestPorts, 'inbound');
  }
  securityGroups('ingress');
  hostFirewall(query.hostFirewall?.destination, 'destination');
  if (!sameSubnet) {
    route(dest, source, 'return');
    networkAcl(dest, 'outbound', source, ephemeral, 'outbound-return');
    networkAcl(source, 'inbound', dest, ephemeral, 'inbound-return');
  }
  if (!dest.eni && source.eni) notes.push('only the source side was checked');
  if (!source.eni && dest.eni && source.ip) notes.push('only the destination side was checked');
  return result();
}

function sameInstance(a: Side, b: Side): boolean {
  return (
    a.eni !== undefined &&
    (a.eni.id === b.eni?.id || (a.eni.instanceId !== undefined && a.eni.instanceId === b.eni?.instanceId))
  );
}

function nearMissText(decision: SecurityGroupDecision): string {
  if (decision.nearMisses.length === 0) return '';
  const parts = decision.nearMisses.map(
    (r) => `${r.groupId} ${r.protocol}${r.ports ? ` ${formatPorts(r.ports)}` : ''} ${r.peer}`,
  );
  return ` (closest: ${parts.join('; ')})`;
}

function securityGroupFix(
  direction: 'egress' | 'ingress',
  groupId: string,
  self: Side,
  other: Side,
  protocol: 'tcp' | 'udp',
  port: number,
): string {
  const otherGroup = other.eni?.groupIds[0];
  // Group references are the durable fix inside a VPC; across VPCs (peering) an address block is safer.
  const byGroup = otherGroup !== undefined && other.eni?.vpcId === self.eni?.vpcId;
  const ip = other.ip!;
  const peerText = byGroup ? otherGroup : hostCidr(ip);
  const range = byGroup
    ? `UserIdGroupPairs=[{GroupId=${otherGroup}}]`
    : ip.family === 4
      ? `IpRanges=[{CidrIp=${peerText}}]`
      : `Ipv6Ranges=[{CidrIpv6=${peerText}}]`;
  const permissions = `'IpProtocol=${protocol},FromPort=${port},ToPort=${port},${range}'`;
  if (direction === 'ingress') {
    const shorthand = byGroup
      ? `--protocol ${protocol} --port ${port} --source-group ${otherGroup}`
      : ip.family === 4
        ? `--protocol ${protocol} --port ${port} --cidr ${peerText}`
        : `--ip-permissions ${permissions}`;
    return `add to ${groupId} an inbound rule ${protocol} ${port} from ${peerText}: aws ec2 authorize-security-group-ingress --group-id ${groupId} ${shorthand}`;
  }
  return `add to ${groupId} an outbound rule ${protocol} ${port} to ${peerText}: aws ec2 authorize-security-group-egress --group-id ${groupId} --ip-permissions ${permissions}`;
}

function aclFix(
  acl: CompiledAcl,
  direction: 'inbound' | 'outbound',
  decision: AclDecision,
  peer: Side,
  index: NetworkIndex,
  protocol: 'tcp' | 'udp',
  ports: PortRange,
): string {
  const deciding = decision.entry.ruleNumber === '*' ? 32767 : decision.entry.ruleNumber;
  const number = freeRuleNumberBefore(acl, direction, deciding);
  const peerSubnet = peer.eni ? index.subnetsById.get(peer.eni.subnetId) : undefined;
  const ip = peer.ip!;
  const block =
    ip.family === 4
      ? (peerSubnet?.cidr ?? hostCidr(ip))
      : (peerSubnet?.ipv6Cidrs.find((c) => parseIp(c.split('/')[0] ?? '')?.family === 6) ?? hostCidr(ip));
  const toFrom = direction === 'inbound' ? 'from' : 'to';
  const before = decision.entry.ruleNumber === '*' ? '' : ` (before the deny ${aclRuleText(decision.entry)})`;
  if (number === undefined) {
    return `${acl.acl.id} has no free rule number below ${deciding}: renumber its ${direction} rules, then allow ${protocol} ${formatPorts(ports)} ${toFrom} ${block}`;
  }
  const flag = direction === 'inbound' ? '--ingress' : '--egress';
  const cidrFlag = ip.family === 4 ? '--cidr-block' : '--ipv6-cidr-block';
  return `add to ${acl.acl.id} an ${direction} rule ${number} allow ${protocol} ${formatPorts(ports)} ${toFrom} ${block}${before}: aws ec2 create-network-acl-entry --network-acl-id ${acl.acl.id} ${flag} --rule-number ${number} --protocol ${protocol} --port-range From=${ports.from},To=${ports.to} ${cidrFlag} ${block} --rule-action allow`;
}

function routeFix(
  table: CompiledRouteTable,
  side: Side,
  peer: Side,
  matched: { destination: string; target: string; state: 'active' | 'blackhole' } | undefined,
  index: NetworkIndex,
): string {
  const ip = peer.ip!;
  const peerSubnet = peer.eni ? index.subnetsById.get(peer.eni.subnetId) : undefined;
  const destination = ip.family === 4 ? (peerSubnet?.cidr ?? hostCidr(ip)) : hostCidr(ip);
  const destFlag = ip.family === 4 ? '--destination-cidr-block' : '--destination-ipv6-cidr-block';
  // The other side's table often already names the peering connection or transit gateway that joins them.
  const hint = (() => {
    if (!peer.subnet || !side.ip) return undefined;
    const back = routeTableForSubnet(index, peer.subnet);
    const r = back ? lookupRoute(back, side.ip).route?.route : undefined;
    return r && r.state === 'active' && ['vpc-peering', 'transit-gateway'].includes(r.target.kind)
      ? r.target
      : undefined;
  })();
  const flag = hint ? createRouteFlag(hint.kind) : undefined;
  const targetText = hint ? hint.id : 'the peering connection or transit gateway that joins the two VPCs';
  const command = (verb: 'create-route' | 'replace-route', dest: string): string =>
    `aws ec2 ${verb} --route-table-id ${table.table.id} ${destFlag} ${dest} ${flag ?? '--vpc-peering-connection-id'} ${hint?.id ?? '<pcx-id>'}`;
  if (matched?.state === 'blackhole') {
    return `replace the blackhole route ${matched.destination} in ${table.table.id} with a live target (${targetText}): ${command('replace-route', matched.destination)}`;
  }
  if (peer.eni && peer.eni.vpcId === side.subnet?.vpcId) {
    return `${table.table.id} must route ${side.subnet.vpcId}'s own addresses locally: remove the route that overrides the local route`;
  }
  return `add to ${table.table.id} a route to ${destination} via ${targetText}: ${command('create-route', destination)}`;
}
