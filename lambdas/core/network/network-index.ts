/**
 * The model, indexed once for many evaluations: addresses to interfaces, subnets to their ACL and route table,
 * CIDRs parsed, ACL entries sorted. Duplicates are resolved by id so the input's order never matters.
 */
import { anyCidr, ipKey, type ParsedCidr, parseCidr, parseIp } from './ip.ts';
import { protocolName } from './protocol.ts';
import type {
  AclRuleView,
  Instance,
  NetworkAcl,
  NetworkAclEntry,
  NetworkInterface,
  NetworkModel,
  Route,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
  SecurityGroupRuleView,
  Subnet,
} from './types.ts';

export interface CompiledSgRule {
  groupId: string;
  rule: SecurityGroupRule;
  /** Parsed block for `cidr` peers. */
  cidr?: ParsedCidr;
  view: SecurityGroupRuleView;
}

export interface CompiledGroup {
  group: SecurityGroup;
  /** Rules in a canonical order, so the rule reported as deciding does not depend on the input order. */
  ingress: CompiledSgRule[];
  egress: CompiledSgRule[];
}

export interface CompiledAclEntry {
  entry: NetworkAclEntry;
  cidr: ParsedCidr;
  view: AclRuleView;
}

export interface CompiledAcl {
  acl: NetworkAcl;
  /** Entries by ascending rule number: the order in which EC2 evaluates them. */
  inbound: CompiledAclEntry[];
  outbound: CompiledAclEntry[];
}

export interface CompiledRoute {
  route: Route;
  /** The blocks the route covers: one for a CIDR route, the list's entries for a prefix-list route. */
  cidrs: ParsedCidr[];
  /** A prefix-list route whose list is not in the model. */
  unresolved: boolean;
  destinationText: string;
}

export interface CompiledRouteTable {
  table: RouteTable;
  routes: CompiledRoute[];
}

/** The model, indexed. Build it once with {@link buildNetworkIndex} and pass it to many evaluations. */
export interface NetworkIndex {
  readonly kind: 'network-index';
  interfacesById: Map<string, NetworkInterface>;
  /** Every private IPv4 and IPv6 address, keyed by {@link ipKey}. */
  interfaceByIp: Map<string, NetworkInterface>;
  instancesById: Map<string, Instance>;
  /** The interface at the lowest device index of each instance, from the interfaces' own attachments. */
  primaryInterfaceByInstance: Map<string, NetworkInterface>;
  groupsById: Map<string, CompiledGroup>;
  subnetsById: Map<string, Subnet>;
  aclsById: Map<string, CompiledAcl>;
  aclBySubnet: Map<string, CompiledAcl>;
  defaultAclByVpc: Map<string, CompiledAcl>;
  routeTableBySubnet: Map<string, CompiledRouteTable>;
  mainRouteTableByVpc: Map<string, CompiledRouteTable>;
  /** Parsed entries of the prefix lists the model carries. */
  prefixLists: Map<string, ParsedCidr[]>;
  /** Problems with the model itself (duplicate addresses, unparseable blocks), sorted. */
  warnings: string[];
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Adds `value` under `key`, keeping the smallest id when two claim the same key. */
function claim<T extends { id: string }>(
  map: Map<string, T>,
  key: string,
  value: T,
  warnings: string[],
  what: string,
): void {
  const existing = map.get(key);
  if (existing === undefined) {
    map.set(key, value);
    return;
  }
  if (existing.id === value.id) return;
  const [keep, drop] = byId(existing, value) <= 0 ? [existing, value] : [value, existing];
  map.set(key, keep);
  warnings.push(`${what} is claimed by both ${keep.id} and ${drop.id}; using ${keep.id}`);
}

function peerText(rule: SecurityGroupRule): string {
  switch (rule.peer.kind) {
    case 'cidr':
      return rule.peer.cidr;
    case 'security-group':
      return rule.peer.groupId;
    case 'prefix-list':
      return rule.peer.prefixListId;
  }
}

function compileRules(
  group: SecurityGroup,
  rules: SecurityGroupRule[],
  warnings: string[],
): CompiledSgRule[] {
  const compiled: { key: string; rule: CompiledSgRule }[] = [];
  for (const rule of rules) {
    const view: SecurityGroupRuleView = {
      groupId: group.id,
      protocol: protocolName(rule.protocol),
      ...(rule.ports ? { ports: rule.ports } : {}),
      peer: peerText(rule),
      ...(rule.description ? { description: rule.description } : {}),
    };
    let cidr: ParsedCidr | undefined;
    if (rule.peer.kind === 'cidr') {
      cidr = parseCidr(rule.peer.cidr);
      if (!cidr) {
        warnings.push(`${group.id} has a rule for ${rule.peer.cidr}, which is not an address block; ignored`);
        continue;
      }
    }
    const key = JSON.stringify([
      rule.protocol,
      rule.ports?.from,
      rule.ports?.to,
      view.peer,
      rule.description,
    ]);
    compiled.push({ key, rule: { groupId: group.id, rule, ...(cidr ? { cidr } : {}), view } });
  }
  compiled.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return compiled.map((entry) => entry.rule);
}

/** `*` for the entries EC2 adds at the end of every ACL (32767 for IPv4, 32768 for IPv6). */
export function aclRuleView(entry: NetworkAclEntry): AclRuleView {
  return {
    ruleNumber: entry.ruleNumber >= 32767 ? '*' : entry.ruleNumber,
    action: entry.action,
    protocol: protocolName(entry.protocol),
    cidr: entry.cidr,
    ...(entry.ports ? { ports: entry.ports } : {}),
  };
}

/** The deny every ACL ends with, for traffic no entry matches. */
export function implicitDeny(family: 4 | 6): AclRuleView {
  return { ruleNumber: '*', action: 'deny', protocol: 'all', cidr: anyCidr(family) };
}

function compileAcl(acl: NetworkAcl, warnings: string[]): CompiledAcl {
  const inbound: CompiledAclEntry[] = [];
  const outbound: CompiledAclEntry[] = [];
  for (const entry of acl.entries) {
    const cidr = parseCidr(entry.cidr);
    if (!cidr) {
      warnings.push(
        `${acl.id} rule ${entry.ruleNumber} names ${entry.cidr}, which is not an address block; ignored`,
      );
      continue;
    }
    (entry.egress ? outbound : inbound).push({ entry, cidr, view: aclRuleView(entry) });
  }
  // Rule numbers are unique per direction in EC2; the family and action break ties in hand-made input.
  const order = (a: CompiledAclEntry, b: CompiledAclEntry): number =>
    a.entry.ruleNumber - b.entry.ruleNumber ||
    a.cidr.family - b.cidr.family ||
    (a.entry.action === b.entry.action ? 0 : a.entry.action === 'deny' ? -1 : 1);
  inbound.sort(order);
  outbound.sort(order);
  return { acl, inbound, outbound };
}

function compileRouteTable(
  table: RouteTable,
  prefixLists: Map<string, ParsedCidr[]>,
  warnings: string[],
): CompiledRouteTable {
  const routes: CompiledRoute[] = [];
  for (const route of table.routes) {
    if (route.destination.kind === 'cidr') {
      const cidr = parseCidr(route.destination.cidr);
      if (!cidr) {
        warnings.push(
          `${table.id} has a route to ${route.destination.cidr}, which is not an address block; ignored`,
        );
        continue;
      }
      routes.push({ route, cidrs: [cidr], unresolved: false, destinationText: cidr.text });
    } else {
      const cidrs = prefixLists.get(route.destination.prefixListId);
      routes.push({
        route,
        cidrs: cidrs ?? [],
        unresolved: cidrs === undefined,
        destinationText: route.destination.prefixListId,
      });
    }
  }
  return { table, routes };
}

/** Indexes a model for evaluation. Pure; linear in the size of the model. */
export function buildNetworkIndex(model: NetworkModel): NetworkIndex {
  const warnings: string[] = [];

  const prefixLists = new Map<string, ParsedCidr[]>();
  for (const list of [...(model.prefixLists ?? [])].sort(byId)) {
    if (prefixLists.has(list.id)) continue;
    const cidrs: ParsedCidr[] = [];
    for (const text of list.cidrs) {
      const cidr = parseCidr(text);
      if (cidr) cidrs.push(cidr);
      else warnings.push(`prefix list ${list.id} holds ${text}, which is not an address block; ignored`);
    }
    prefixLists.set(list.id, cidrs);
  }

  const interfacesById = new Map<string, NetworkInterface>();
  const interfaceByIp = new Map<string, NetworkInterface>();
  for (const eni of model.interfaces) {
    claim(interfacesById, eni.id, eni, warnings, `interface id ${eni.id}`);
  }
  for (const eni of interfacesById.values()) {
    for (const address of [...eni.privateIps, ...eni.ipv6s]) {
      const ip = parseIp(address);
      if (ip) claim(interfaceByIp, ipKey(ip), eni, warnings, `address ${address}`);
    }
  }

  // For instances whose description lists no interfaces (a trimmed describe-instances).
  const primaryInterfaceByInstance = new Map<string, NetworkInterface>();
  for (const eni of interfacesById.values()) {
    if (!eni.instanceId) continue;
    const current = primaryInterfaceByInstance.get(eni.instanceId);
    const rank = (e: NetworkInterface): number => e.deviceIndex ?? Number.MAX_SAFE_INTEGER;
    if (!current || rank(eni) < rank(current) || (rank(eni) === rank(current) && eni.id < current.id)) {
      primaryInterfaceByInstance.set(eni.instanceId, eni);
    }
  }

  const instancesById = new Map<string, Instance>();
  for (const instance of model.instances) claim(instancesById, instance.id, instance, warnings, instance.id);

  const groupsById = new Map<string, CompiledGroup>();
  for (const group of [...model.securityGroups].sort(byId)) {
    if (groupsById.has(group.id)) continue;
    groupsById.set(group.id, {
      group,
      ingress: compileRules(group, group.ingress, warnings),
      egress: compileRules(group, group.egress, warnings),
    });
  }

  const subnetsById = new Map<string, Subnet>();
  for (const subnet of model.subnets)
    claim(subnetsById, subnet.id, subnet, warnings, `subnet id ${subnet.id}`);

  const aclsById = new Map<string, CompiledAcl>();
  const aclBySubnet = new Map<string, CompiledAcl>();
  const defaultAclByVpc = new Map<string, CompiledAcl>();
  for (const acl of [...model.networkAcls].sort(byId)) {
    if (aclsById.has(acl.id)) continue;
    const compiled = compileAcl(acl, warnings);
    aclsById.set(acl.id, compiled);
  }
  const aclId = (a: CompiledAcl): { id: string } => ({ id: a.acl.id });
  for (const compiled of aclsById.values()) {
    for (const subnetId of compiled.acl.subnetIds) {
      const existing = aclBySubnet.get(subnetId);
      if (!existing || byId(aclId(compiled), aclId(existing)) < 0) {
        if (existing)
          warnings.push(`${subnetId} is associated with both ${existing.acl.id} and ${compiled.acl.id}`);
        aclBySubnet.set(subnetId, compiled);
      }
    }
    if (compiled.acl.isDefault && !defaultAclByVpc.has(compiled.acl.vpcId)) {
      defaultAclByVpc.set(compiled.acl.vpcId, compiled);
    }
  }

  const routeTableBySubnet = new Map<string, CompiledRouteTable>();
  const mainRouteTableByVpc = new Map<string, CompiledRouteTable>();
  const seenTables = new Set<string>();
  for (const table of [...model.routeTables].sort(byId)) {
    if (seenTables.has(table.id)) continue;
    seenTables.add(table.id);
    const compiled = compileRouteTable(table, prefixLists, warnings);
    for (const subnetId of table.subnetIds) {
      if (!routeTableBySubnet.has(subnetId)) routeTableBySubnet.set(subnetId, compiled);
      else warnings.push(`${subnetId} is associated with more than one route table; using the first by id`);
    }
    if (table.main && !mainRouteTableByVpc.has(table.vpcId)) mainRouteTableByVpc.set(table.vpcId, compiled);
  }

  warnings.sort();
  return {
    kind: 'network-index',
    interfacesById,
    interfaceByIp,
    instancesById,
    primaryInterfaceByInstance,
    groupsById,
    subnetsById,
    aclsById,
    aclBySubnet,
    defaultAclByVpc,
    routeTableBySubnet,
    mainRouteTableByVpc,
    prefixLists,
    warnings,
  };
}
