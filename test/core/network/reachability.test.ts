import { describe, expect, it } from 'vitest';
import { buildNetworkIndex } from '../../../lambdas/core/network/network-index.ts';
import { evaluateReachability, ReachabilityQueryError } from '../../../lambdas/core/network/reachability.ts';
import type { ReachabilityQuery, ReachabilityResult } from '../../../lambdas/core/network/types.ts';
import { ID, loadSnapshotFixture } from './fixtures.ts';

interface Case {
  name: string;
  fixture: string;
  query: Partial<ReachabilityQuery> & { to: ReachabilityQuery['to'] };
  verdict: ReachabilityResult['verdict'];
  /** kind, id, direction and (ACLs) the deciding rule number of each block, in path order. */
  blocked?: { kind: string; id: string; direction: string; ruleNumber?: number | '*' }[];
  fix?: string[];
  reason?: string[];
  notes?: string[];
}

const APP_3000 = { ip: '10.0.2.20', port: 3000 };
const PEER_3000 = { ip: '10.1.3.30', port: 3000 };

const CASES: Case[] = [
  // ---------------------------------------------------------------- security groups
  {
    name: 'reaches the upstream when its group accepts the port from the source group',
    fixture: 'base',
    query: { to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'blocks at the destination group when no inbound rule allows the port, and fixes it with a group reference',
    fixture: 'sg-ingress-missing',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
    fix: [
      `add to ${ID.appSg} an inbound rule tcp 3000 from ${ID.webSg}: aws ec2 authorize-security-group-ingress --group-id ${ID.appSg} --protocol tcp --port 3000 --source-group ${ID.webSg}`,
    ],
    reason: [`closest: ${ID.appSg} tcp 22 ${ID.webSg}`],
  },
  {
    name: 'blocks at the source group when its outbound rules do not cover the upstream port',
    fixture: 'sg-egress-restricted',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.webSg, direction: 'outbound' }],
    fix: [
      `add to ${ID.webSg} an outbound rule tcp 3000 to ${ID.appSg}: aws ec2 authorize-security-group-egress --group-id ${ID.webSg} --ip-permissions 'IpProtocol=tcp,FromPort=3000,ToPort=3000,UserIdGroupPairs=[{GroupId=${ID.appSg}}]'`,
    ],
  },
  {
    name: 'lets any group of the interface allow the traffic',
    fixture: 'sg-second-group-allows',
    query: { to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'accepts the first port of a rule range',
    fixture: 'sg-port-range',
    query: { to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'accepts the last port of a rule range',
    fixture: 'sg-port-range',
    query: { to: { ip: '10.0.2.20', port: 3010 } },
    verdict: 'reachable',
  },
  {
    name: 'blocks the port just past a rule range',
    fixture: 'sg-port-range',
    query: { to: { ip: '10.0.2.20', port: 3011 } },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
  },
  {
    name: 'treats protocol -1 as every protocol and port (tcp)',
    fixture: 'sg-protocol-all',
    query: { to: { ip: '10.0.2.20', port: 5432 } },
    verdict: 'reachable',
  },
  {
    name: 'treats protocol -1 as every protocol and port (udp)',
    fixture: 'sg-protocol-all',
    query: { to: { ip: '10.0.2.20', port: 53 }, protocol: 'udp' },
    verdict: 'reachable',
  },
  {
    name: 'does not let a udp rule admit tcp',
    fixture: 'sg-protocol-udp-only',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
  },
  {
    name: 'lets a udp rule admit udp',
    fixture: 'sg-protocol-udp-only',
    query: { to: APP_3000, protocol: 'udp' },
    verdict: 'reachable',
  },
  {
    name: 'reads a numeric protocol ("6") as tcp',
    fixture: 'sg-protocol-number',
    query: { to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'matches the source address against the rule block (secondary IP outside a /32)',
    fixture: 'sg-protocol-number',
    query: { from: '10.0.1.11', to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
    fix: [`add to ${ID.appSg} an inbound rule tcp 3000 from ${ID.webSg}`],
  },
  {
    name: 'does not let icmp or protocol 50 rules admit tcp',
    fixture: 'sg-protocol-icmp-and-esp',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
  },
  {
    name: 'blocks a source outside the rule CIDR and names the rule that came close',
    fixture: 'sg-cidr-other',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
    reason: [`closest: ${ID.appSg} tcp 3000 10.0.9.0/24`],
  },
  {
    name: 'reaches an IPv6 upstream through IPv6 rules, using the instance IPv6 address',
    fixture: 'ipv6',
    query: { to: { ip: '2600:1f18:4a3:6e02::20', port: 3000 } },
    verdict: 'reachable',
  },
  {
    name: 'does not let an IPv6 rule admit IPv4 traffic',
    fixture: 'ipv6',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.appSg, direction: 'inbound' }],
  },
  {
    name: 'admits a source listed in a referenced prefix list',
    fixture: 'prefix-list',
    query: { to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'answers unknown when a rule refers to a prefix list whose entries were not read',
    fixture: 'prefix-list-unread',
    query: { to: APP_3000 },
    verdict: 'unknown',
    notes: ['pl-0a1a1a1a1a1a1a1a1, whose entries were not read'],
  },
  // ---------------------------------------------------------------- network ACLs
  {
    name: 'lets a lower-numbered deny decide before a later allow, and fixes it below that number',
    fixture: 'acl-deny-before-allow',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'network-acl', id: ID.appAcl, direction: 'inbound', ruleNumber: 90 }],
    fix: [
      `add to ${ID.appAcl} an inbound rule 10 allow tcp 3000 from 10.0.1.0/24 (before the deny rule 90): aws ec2 create-network-acl-entry --network-acl-id ${ID.appAcl} --ingress --rule-number 10 --protocol tcp --port-range From=3000,To=3000 --cidr-block 10.0.1.0/24 --rule-action allow`,
    ],
  },
  {
    name: 'lets a lower-numbered allow decide before a later deny',
    fixture: 'acl-allow-before-deny',
    query: { to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'checks the source subnet ACL outbound',
    fixture: 'acl-source-outbound-deny',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'network-acl', id: ID.webAcl, direction: 'outbound', ruleNumber: 100 }],
  },
  {
    name: 'blocks replies the destination ACL does not let out on ephemeral ports',
    fixture: 'acl-return-dest-outbound',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'network-acl', id: ID.appAcl, direction: 'outbound-return', ruleNumber: '*' }],
    fix: [
      `add to ${ID.appAcl} an outbound rule 110 allow tcp 1024-65535 to 10.0.1.0/24: aws ec2 create-network-acl-entry --network-acl-id ${ID.appAcl} --egress --rule-number 110 --protocol tcp --port-range From=1024,To=65535 --cidr-block 10.0.1.0/24 --rule-action allow`,
    ],
  },
  {
    name: 'blocks replies the source ACL does not let in on ephemeral ports',
    fixture: 'acl-return-source-inbound',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'network-acl', id: ID.webAcl, direction: 'inbound-return', ruleNumber: '*' }],
    fix: [`add to ${ID.webAcl} an inbound rule 120 allow tcp 1024-65535 from 10.0.2.0/24`],
  },
  {
    name: "answers unknown when replies are allowed on only part of 1024-65535 and the client's ports are not given",
    fixture: 'acl-return-partial',
    query: { to: APP_3000 },
    verdict: 'unknown',
    notes: [
      'on ports 1024-32767 (allows 32768-65535)',
      "Linux's default client ports 32768-60999 are allowed",
      'net.ipv4.ip_local_port_range',
    ],
  },
  {
    name: 'blocks replies when part of the given client port range is denied, naming the denied ports',
    fixture: 'acl-return-partial',
    query: { to: APP_3000, ephemeralPorts: { from: 1024, to: 65535 } },
    verdict: 'blocked',
    blocked: [{ kind: 'network-acl', id: ID.appAcl, direction: 'outbound-return', ruleNumber: '*' }],
    reason: ['on ports 1024-32767 (allows 32768-65535)'],
  },
  {
    name: "passes replies when the client's own port range is allowed",
    fixture: 'acl-return-partial',
    query: { to: APP_3000, ephemeralPorts: { from: 32768, to: 60999 } },
    verdict: 'reachable',
  },
  {
    name: "applies the VPC's default ACL to a subnet without an association",
    fixture: 'acl-default-for-unassociated',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'network-acl', id: ID.defaultAcl, direction: 'inbound', ruleNumber: 50 }],
    reason: ["(the VPC's default ACL) rule 50"],
  },
  {
    name: 'does not apply network ACLs to traffic inside one subnet',
    fixture: 'same-subnet',
    query: { to: { ip: '10.0.1.20', port: 3000 } },
    verdict: 'reachable',
  },
  {
    name: 'denies by the final * rule when no entry matches',
    fixture: 'acl-no-entries',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [
      { kind: 'network-acl', id: ID.appAcl, direction: 'inbound', ruleNumber: '*' },
      { kind: 'network-acl', id: ID.appAcl, direction: 'outbound-return', ruleNumber: '*' },
    ],
  },
  {
    name: 'does not let IPv4 entries admit IPv6 traffic',
    fixture: 'ipv6-acl-ipv4-only',
    query: { to: { ip: '2600:1f18:4a3:6e02::20', port: 3000 } },
    verdict: 'blocked',
    blocked: [
      { kind: 'network-acl', id: ID.defaultAcl, direction: 'outbound', ruleNumber: '*' },
      { kind: 'network-acl', id: ID.defaultAcl, direction: 'inbound', ruleNumber: '*' },
      { kind: 'network-acl', id: ID.defaultAcl, direction: 'outbound-return', ruleNumber: '*' },
      { kind: 'network-acl', id: ID.defaultAcl, direction: 'inbound-return', ruleNumber: '*' },
    ],
    fix: [`--ipv6-cidr-block 2600:1f18:4a3:6e02::/64`],
  },
  // ---------------------------------------------------------------- routes
  {
    name: 'reaches a peered VPC when both tables route through the peering connection',
    fixture: 'route-peering',
    query: { to: PEER_3000 },
    verdict: 'reachable',
  },
  {
    name: 'blocks when the source table has no route, and proposes the peering the other side uses',
    fixture: 'route-missing',
    query: { to: PEER_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'route-table', id: ID.mainRtb, direction: 'request' }],
    fix: [
      `add to ${ID.mainRtb} a route to 10.1.3.0/24 via ${ID.pcx}: aws ec2 create-route --route-table-id ${ID.mainRtb} --destination-cidr-block 10.1.3.0/24 --vpc-peering-connection-id ${ID.pcx}`,
    ],
  },
  {
    name: 'blocks on a blackhole route',
    fixture: 'route-blackhole',
    query: { to: PEER_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'route-table', id: ID.mainRtb, direction: 'request' }],
    reason: ['a blackhole'],
    fix: [`aws ec2 replace-route --route-table-id ${ID.mainRtb} --destination-cidr-block 10.1.0.0/16`],
  },
  {
    name: 'picks the longest prefix: a /24 blackhole beats an active /16',
    fixture: 'route-longest-prefix-blackhole',
    query: { to: PEER_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'route-table', id: ID.mainRtb, direction: 'request' }],
    reason: ['(route 10.1.3.0/24), a blackhole'],
  },
  {
    name: 'picks the longest prefix: an active /24 beats a /16 blackhole',
    fixture: 'route-longest-prefix-active',
    query: { to: PEER_3000 },
    verdict: 'reachable',
  },
  {
    name: 'blocks when the destination table has no route back',
    fixture: 'route-return-missing',
    query: { to: PEER_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'route-table', id: ID.peerRtb, direction: 'return' }],
  },
  {
    name: "blocks when another VPC's private address is sent to an internet gateway",
    fixture: 'route-igw-for-private',
    query: { to: PEER_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'route-table', id: ID.mainRtb, direction: 'request' }],
    reason: ['which does not reach private addresses of another VPC'],
  },
  {
    name: "uses the subnet's associated table",
    fixture: 'route-association',
    query: { to: PEER_3000 },
    verdict: 'reachable',
  },
  {
    name: 'falls back to the main table for a subnet without an association',
    fixture: 'route-association',
    query: { from: ID.worker, to: PEER_3000 },
    verdict: 'blocked',
    blocked: [{ kind: 'route-table', id: ID.mainRtb, direction: 'request' }],
  },
  // ---------------------------------------------------------------- addresses and results
  {
    name: 'resolves a secondary private IP to its interface and groups',
    fixture: 'base',
    query: { from: '10.0.1.11', to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'resolves an interface id',
    fixture: 'base',
    query: { from: ID.nginxEni, to: APP_3000 },
    verdict: 'reachable',
  },
  {
    name: 'answers unknown for an instance that is not in the inventory',
    fixture: 'base',
    query: { from: 'i-0123456789abcdef0', to: APP_3000 },
    verdict: 'unknown',
    notes: ['instance i-0123456789abcdef0 is not in the inventory'],
  },
  {
    name: 'answers unknown for a destination that is no interface, when the source side lets it out',
    fixture: 'base',
    query: { to: { ip: '10.0.9.9', port: 3000 } },
    verdict: 'unknown',
    notes: [
      '10.0.9.9 is not an address of any interface in the inventory',
      'only the source side was checked',
    ],
  },
  {
    name: 'still names a block on the source side when the destination is unknown',
    fixture: 'sg-egress-restricted',
    query: { to: { ip: '10.0.9.9', port: 3000 } },
    verdict: 'blocked',
    blocked: [{ kind: 'security-group', id: ID.webSg, direction: 'outbound' }],
  },
  {
    name: 'answers unknown when the source has no address of the destination family',
    fixture: 'base',
    query: { to: { ip: '2600:1f18:4a3:6e02::20', port: 3000 } },
    verdict: 'unknown',
    notes: [`instance ${ID.nginx} has no IPv6 address`],
  },
  {
    name: 'names every blocking component, in the order packets meet them',
    fixture: 'multiple-blocks',
    query: { to: APP_3000 },
    verdict: 'blocked',
    blocked: [
      { kind: 'network-acl', id: ID.appAcl, direction: 'inbound', ruleNumber: 90 },
      { kind: 'security-group', id: ID.appSg, direction: 'inbound' },
    ],
  },
  {
    name: 'treats an instance talking to its own address as local',
    fixture: 'base',
    query: { to: { ip: '10.0.1.11', port: 3000 } },
    verdict: 'reachable',
    notes: ['same interface'],
  },
];

describe('evaluateReachability', () => {
  it.each(CASES)('$name', (c) => {
    const model = loadSnapshotFixture(c.fixture);
    const result = evaluateReachability(model, { from: ID.nginx, ...c.query });
    expect(result.verdict).toBe(c.verdict);
    const blocks = result.blockedBy.map((b) => ({
      kind: b.kind,
      id: b.id,
      direction: b.direction,
      ...(b.rule.kind === 'network-acl' ? { ruleNumber: b.rule.entry.ruleNumber } : {}),
    }));
    expect(blocks).toEqual(c.blocked ?? []);
    for (const fix of c.fix ?? []) expect(result.blockedBy.map((b) => b.fix).join('\n')).toContain(fix);
    for (const reason of c.reason ?? [])
      expect(result.blockedBy.map((b) => b.reason).join('\n')).toContain(reason);
    for (const note of c.notes ?? []) expect(result.notes.join('\n')).toContain(note);
  });

  it('describes a reachable path step by step and lists each component as ruled out', () => {
    const result = evaluateReachability(loadSnapshotFixture('base'), { from: ID.nginx, to: APP_3000 });
    expect(result.path.from).toMatchObject({
      ip: '10.0.1.10',
      instanceId: ID.nginx,
      interfaceId: ID.nginxEni,
    });
    expect(result.path.to).toMatchObject({ ip: '10.0.2.20', instanceId: ID.app, subnetId: ID.appSubnet });
    expect(result.path.steps.map((s) => `${s.kind} ${s.direction} ${s.decision}`)).toEqual([
      'security-group outbound allow',
      'network-acl outbound allow',
      'route-table request allow',
      'network-acl inbound allow',
      'security-group inbound allow',
      'route-table return allow',
      'network-acl outbound-return allow',
      'network-acl inbound-return allow',
    ]);
    expect(result.ruledOut).toHaveLength(8);
    expect(result.ruledOut.join('\n')).toContain(`${ID.appSg} allows tcp 3000 from ${ID.webSg}`);
  });

  it('marks network ACLs not applicable inside one subnet', () => {
    const result = evaluateReachability(loadSnapshotFixture('same-subnet'), {
      from: ID.nginx,
      to: { ip: '10.0.1.20', port: 3000 },
    });
    expect(result.path.steps.filter((s) => s.kind === 'network-acl').map((s) => s.decision)).toEqual([
      'not-applicable',
    ]);
  });

  it("finds an instance's primary interface from the interfaces' attachments when the instance lists none", () => {
    const model = loadSnapshotFixture('base');
    const trimmed = { ...model, instances: model.instances.map((i) => ({ ...i, interfaceIds: [] })) };
    const result = evaluateReachability(trimmed, { from: ID.nginx, to: APP_3000 });
    expect(result.verdict).toBe('reachable');
    expect(result.path.from.interfaceId).toBe(ID.nginxEni);
  });

  it('gives the same answer from a prebuilt index as from the model', () => {
    const model = loadSnapshotFixture('multiple-blocks');
    const query = { from: ID.nginx, to: APP_3000 };
    expect(evaluateReachability(buildNetworkIndex(model), query)).toEqual(evaluateReachability(model, query));
  });

  it.each([
    [
      { from: ID.nginx, to: { ip: 'app.internal', port: 3000 } },
      'app.internal is not an IPv4 or IPv6 address',
    ],
    [{ from: ID.nginx, to: { ip: '10.0.2.20', port: 0 } }, 'port 0 is not between 1 and 65535'],
    [{ from: 'nginx-1', to: APP_3000 }, 'neither an instance id'],
    [{ from: '10.0.1.10', to: { ip: '2600:1f18:4a3:6e02::20', port: 3000 } }, 'different address families'],
    [{ from: ID.nginx, to: APP_3000, ephemeralPorts: { from: 5000, to: 4000 } }, 'not a port range'],
  ])('rejects a malformed query (%j)', (query, message) => {
    expect(() => evaluateReachability(loadSnapshotFixture('base'), query)).toThrow(ReachabilityQueryError);
    expect(() => evaluateReachability(loadSnapshotFixture('base'), query)).toThrow(message);
  });
});
