/**
 * Route tables: a subnet uses its associated table, else the VPC's main table; the most specific route
 * containing the destination wins, and a `blackhole` route drops the packet.
 */
import { cidrContains, type ParsedIp } from './ip.ts';
import type { CompiledRoute, CompiledRouteTable, NetworkIndex } from './network-index.ts';
import type { Subnet } from './types.ts';

export interface RouteLookup {
  route?: CompiledRoute;
  /** Prefix-list routes whose entries are unknown: one of them might have been more specific. */
  unresolvedPrefixLists: string[];
}

/** The table a subnet's traffic uses. */
export function routeTableForSubnet(index: NetworkIndex, subnet: Subnet): CompiledRouteTable | undefined {
  return index.routeTableBySubnet.get(subnet.id) ?? index.mainRouteTableByVpc.get(subnet.vpcId);
}

/** Longest prefix match; between equal prefixes a CIDR route beats a prefix-list route, then the lower target id. */
export function lookupRoute(table: CompiledRouteTable, ip: ParsedIp): RouteLookup {
  let best: { route: CompiledRoute; prefix: number } | undefined;
  const unresolved: string[] = [];
  for (const route of table.routes) {
    if (route.unresolved) {
      unresolved.push(route.destinationText);
      continue;
    }
    for (const cidr of route.cidrs) {
      if (!cidrContains(cidr, ip)) continue;
      if (!best || cidr.prefix > best.prefix || (cidr.prefix === best.prefix && better(route, best.route))) {
        best = { route, prefix: cidr.prefix };
      }
    }
  }
  return { ...(best ? { route: best.route } : {}), unresolvedPrefixLists: unresolved.sort() };
}

function better(candidate: CompiledRoute, current: CompiledRoute): boolean {
  const kind = (r: CompiledRoute): number => (r.route.destination.kind === 'cidr' ? 0 : 1);
  if (kind(candidate) !== kind(current)) return kind(candidate) < kind(current);
  if (candidate.route.state !== current.route.state) return candidate.route.state === 'active';
  return candidate.route.target.id < current.route.target.id;
}

/** `pcx-…` → `--vpc-peering-connection-id`: the `aws ec2 create-route` flag for a target. */
export function createRouteFlag(kind: CompiledRoute['route']['target']['kind']): string | undefined {
  switch (kind) {
    case 'vpc-peering':
      return '--vpc-peering-connection-id';
    case 'transit-gateway':
      return '--transit-gateway-id';
    case 'virtual-private-gateway':
    case 'internet-gateway':
      return '--gateway-id';
    case 'network-interface':
      return '--network-interface-id';
    case 'nat-gateway':
      return '--nat-gateway-id';
    case 'local-gateway':
      return '--local-gateway-id';
    case 'vpc-endpoint':
      return '--vpc-endpoint-id';
    default:
      return undefined;
  }
}
