/**
 * Security groups are stateful allow-lists: a connection passes when any group on the interface has a rule
 * that allows it (egress on the connecting side, ingress on the accepting side); replies follow on their own.
 */
import { cidrContains, type ParsedIp } from './ip.ts';
import type { CompiledSgRule, NetworkIndex } from './network-index.ts';
import { hasPorts, protocolAndPortMatch } from './protocol.ts';
import type { ProtocolNumber, SecurityGroupRuleView } from './types.ts';

export interface SecurityGroupTraffic {
  protocol: ProtocolNumber;
  port: number;
  /** The other end: the destination for egress, the source for ingress. */
  peer: ParsedIp;
  /** The other end's groups, when it is an interface in the model (for rules that reference a group). */
  peerGroupIds?: ReadonlySet<string>;
}

export interface SecurityGroupDecision {
  decision: 'allow' | 'deny' | 'unknown';
  allowedBy?: CompiledSgRule;
  /** Rules with the right peer but the wrong port, or the right port but the wrong peer (at most 3). */
  nearMisses: SecurityGroupRuleView[];
  /** Why the answer is `unknown`: groups or prefix lists missing from the model. */
  unresolved: string[];
}

const NEAR_MISSES = 3;

function peerMatch(
  index: NetworkIndex,
  rule: CompiledSgRule,
  traffic: SecurityGroupTraffic,
): boolean | 'unknown-prefix-list' {
  const { peer } = rule.rule;
  switch (peer.kind) {
    case 'cidr':
      return rule.cidr !== undefined && cidrContains(rule.cidr, traffic.peer);
    case 'security-group':
      // A group reference matches the private addresses of interfaces carrying that group.
      return traffic.peerGroupIds?.has(peer.groupId) === true;
    case 'prefix-list': {
      const cidrs = index.prefixLists.get(peer.prefixListId);
      if (cidrs === undefined) return 'unknown-prefix-list';
      return cidrs.some((cidr) => cidrContains(cidr, traffic.peer));
    }
  }
}

/** Decides whether the groups `groupIds` let `traffic` out (`egress`) or in (`ingress`). */
export function evaluateSecurityGroups(
  index: NetworkIndex,
  groupIds: readonly string[],
  direction: 'ingress' | 'egress',
  traffic: SecurityGroupTraffic,
): SecurityGroupDecision {
  const nearMisses: SecurityGroupRuleView[] = [];
  const unresolved = new Set<string>();
  // Sorted so the reported allowing rule is the same whatever the order of the interface's groups.
  for (const groupId of [...groupIds].sort()) {
    const group = index.groupsById.get(groupId);
    if (!group) {
      unresolved.add(`${groupId} is not in the inventory`);
      continue;
    }
    for (const rule of group[direction]) {
      const portOk = protocolAndPortMatch(
        rule.rule.protocol,
        rule.rule.ports,
        traffic.protocol,
        traffic.port,
      );
      const peerOk = peerMatch(index, rule, traffic);
      if (portOk && peerOk === true) {
        return { decision: 'allow', allowedBy: rule, nearMisses: [], unresolved: [] };
      }
      if (portOk && peerOk === 'unknown-prefix-list' && rule.rule.peer.kind === 'prefix-list') {
        unresolved.add(
          `${groupId} refers to prefix list ${rule.rule.peer.prefixListId}, whose entries were not read`,
        );
        continue;
      }
      const sameProtocol = rule.rule.protocol === traffic.protocol && hasPorts(traffic.protocol);
      if (
        nearMisses.length < NEAR_MISSES &&
        ((portOk && peerOk === false) || (sameProtocol && peerOk === true))
      ) {
        nearMisses.push(rule.view);
      }
    }
  }
  return {
    decision: unresolved.size > 0 ? 'unknown' : 'deny',
    nearMisses,
    unresolved: [...unresolved].sort(),
  };
}
