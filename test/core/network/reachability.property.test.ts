import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateReachability } from '../../../lambdas/core/network/reachability.ts';
import type {
  NetworkAcl,
  NetworkAclEntry,
  NetworkInterface,
  NetworkModel,
  ReachabilityQuery,
  ReachabilityResult,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
} from '../../../lambdas/core/network/types.ts';

// Small worlds: one VPC, three subnets, four interfaces, three groups, two custom ACLs plus the default, and a
// few route tables. Values come from short lists so that rules and traffic often meet.
const VPC = 'vpc-01';
const SUBNETS = [1, 2, 3].map((n) => ({
  id: `subnet-0${n}`,
  vpcId: VPC,
  cidr: `10.0.${n}.0/24`,
  ipv6Cidrs: [],
}));
const GROUP_IDS = ['sg-01', 'sg-02', 'sg-03'];
const PORTS = [22, 80, 3000, 8080];
const CIDRS = [
  '0.0.0.0/0',
  '10.0.0.0/16',
  '10.0.1.0/24',
  '10.0.2.0/24',
  '10.0.3.0/24',
  '10.0.1.10/32',
  '192.168.0.0/16',
];

const portRange = fc.oneof(
  fc.constantFrom(...PORTS).map((p) => ({ from: p, to: p })),
  fc.constantFrom(
    { from: 1, to: 65535 },
    { from: 1024, to: 65535 },
    { from: 3000, to: 3010 },
    { from: 32768, to: 65535 },
  ),
);
const protocol = fc.constantFrom(-1, 6, 6, 6, 17, 1);

const sgRule: fc.Arbitrary<SecurityGroupRule> = fc.record({
  protocol,
  ports: portRange,
  peer: fc.oneof(
    fc.constantFrom(...CIDRS).map((cidr) => ({ kind: 'cidr' as const, cidr })),
    fc.constantFrom(...GROUP_IDS).map((groupId) => ({ kind: 'security-group' as const, groupId })),
  ),
});

const ALL_TO_VPC: SecurityGroupRule = { protocol: -1, peer: { kind: 'cidr', cidr: '10.0.0.0/16' } };

// Biased towards what VPCs really hold (egress open, ingress from the VPC) so reachable paths are common.
const group = (id: string): fc.Arbitrary<SecurityGroup> =>
  fc.record({
    id: fc.constant(id),
    vpcId: fc.constant(VPC),
    ingress: fc.oneof(
      fc.array(sgRule, { maxLength: 4 }),
      fc.array(sgRule, { maxLength: 3 }).map((rules) => [...rules, ALL_TO_VPC]),
    ),
    egress: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constant<SecurityGroupRule[]>([
          { protocol: -1, peer: { kind: 'cidr', cidr: '0.0.0.0/0' } },
        ]),
      },
      { weight: 1, arbitrary: fc.array(sgRule, { maxLength: 3 }) },
    ),
  });

/** Entries with rule numbers unique per direction, from 10 up (so tests can slip rules 1-9 in front). */
const aclEntries: fc.Arbitrary<NetworkAclEntry[]> = fc
  .uniqueArray(
    fc.record({
      ruleNumber: fc.integer({ min: 1, max: 30 }).map((n) => (n >= 10 ? n + 1 : n) * 10),
      egress: fc.boolean(),
      action: fc.constantFrom<'allow' | 'deny'>('allow', 'allow', 'deny'),
      protocol,
      cidr: fc.constantFrom(...CIDRS),
      ports: portRange,
    }),
    { maxLength: 8, selector: (e) => `${e.egress}|${e.ruleNumber}` },
  )
  .chain((entries) => fc.boolean().map((open) => ({ entries, open })))
  .map(({ entries, open }) => [
    ...entries,
    // Most ACLs keep AWS's default "rule 100: allow all" in both directions.
    ...(open
      ? [
          { ruleNumber: 100, egress: false, action: 'allow' as const, protocol: -1, cidr: '0.0.0.0/0' },
          { ruleNumber: 100, egress: true, action: 'allow' as const, protocol: -1, cidr: '0.0.0.0/0' },
        ]
      : []),
    // EC2's final rules, present in every ACL.
    { ruleNumber: 32767, egress: false, action: 'deny' as const, protocol: -1, cidr: '0.0.0.0/0' },
    { ruleNumber: 32767, egress: true, action: 'deny' as const, protocol: -1, cidr: '0.0.0.0/0' },
  ]);

const world: fc.Arbitrary<NetworkModel> = fc
  .record({
    groups: fc.tuple(...GROUP_IDS.map(group)),
    interfaces: fc.array(
      fc.record({ subnet: fc.integer({ min: 0, max: 2 }), groups: fc.subarray(GROUP_IDS, { minLength: 1 }) }),
      { minLength: 4, maxLength: 4 },
    ),
    defaultEntries: aclEntries,
    custom: fc.tuple(aclEntries, aclEntries),
    // For each subnet: 0 = default ACL, 1/2 = custom ACL 1/2.
    aclOf: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2)),
    // For each subnet: associated with its own table (true) or on the main table.
    ownTable: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
    blackholes: fc.subarray(SUBNETS.map((s) => s.cidr)),
  })
  .map(({ groups, interfaces, defaultEntries, custom, aclOf, ownTable, blackholes }) => {
    const enis: NetworkInterface[] = interfaces.map((eni, i) => ({
      id: `eni-0${i}`,
      subnetId: SUBNETS[eni.subnet]!.id,
      vpcId: VPC,
      privateIps: [`10.0.${eni.subnet + 1}.${10 + i}`],
      ipv6s: [],
      groupIds: eni.groups,
      instanceId: `i-0${i}`,
      deviceIndex: 0,
    }));
    const acls: NetworkAcl[] = [
      {
        id: 'acl-00',
        vpcId: VPC,
        isDefault: true,
        entries: defaultEntries,
        subnetIds: SUBNETS.filter((_, i) => aclOf[i] === 0).map((s) => s.id),
      },
      ...custom.map((entries, c) => ({
        id: `acl-0${c + 1}`,
        vpcId: VPC,
        isDefault: false,
        entries,
        subnetIds: SUBNETS.filter((_, i) => aclOf[i] === c + 1).map((s) => s.id),
      })),
    ];
    const routeTables: RouteTable[] = [
      {
        id: 'rtb-00',
        vpcId: VPC,
        main: true,
        subnetIds: [],
        routes: [
          {
            destination: { kind: 'cidr', cidr: '10.0.0.0/16' },
            target: { kind: 'local', id: 'local' },
            state: 'active',
          },
        ],
      },
      ...SUBNETS.filter((_, i) => ownTable[i]).map(
        (subnet): RouteTable => ({
          id: `rtb-${subnet.id}`,
          vpcId: VPC,
          main: false,
          subnetIds: [subnet.id],
          routes: [
            {
              destination: { kind: 'cidr', cidr: '10.0.0.0/16' },
              target: { kind: 'local', id: 'local' },
              state: 'active',
            },
            ...blackholes.map((cidr) => ({
              destination: { kind: 'cidr' as const, cidr },
              target: { kind: 'vpc-peering' as const, id: 'pcx-0dead' },
              state: 'blackhole' as const,
            })),
          ],
        }),
      ),
    ];
    return {
      instances: enis.map((eni) => ({
        id: eni.instanceId!,
        interfaceIds: [eni.id],
        primaryPrivateIp: eni.privateIps[0]!,
      })),
      interfaces: enis,
      securityGroups: groups,
      networkAcls: acls,
      subnets: SUBNETS,
      routeTables,
    };
  });

const query = (model: NetworkModel): fc.Arbitrary<ReachabilityQuery> =>
  fc
    .record({
      from: fc.nat(3),
      to: fc.nat(3),
      byIp: fc.boolean(),
      port: fc.constantFrom(...PORTS),
      protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'tcp', 'udp'),
    })
    .filter((q) => q.from !== q.to)
    .map((q) => {
      const from = model.interfaces[q.from]!;
      return {
        from: q.byIp ? from.privateIps[0]! : from.instanceId!,
        to: { ip: model.interfaces[q.to]!.privateIps[0]!, port: q.port },
        protocol: q.protocol,
      };
    });

const worldAndQuery = world.chain((model) => query(model).map((q) => ({ model, q })));

const blockKeys = (result: ReachabilityResult): string[] =>
  result.blockedBy.map((b) => `${b.kind} ${b.id} ${b.direction}`);

/** Fisher-Yates with a seeded generator, so a failing case replays. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function shuffled(model: NetworkModel, seed: number): NetworkModel {
  let s = seed;
  const next = <T>(items: readonly T[]): T[] => {
    s = (s * 1103515245 + 12345) >>> 0;
    return shuffle(items, s);
  };
  return {
    instances: next(model.instances),
    interfaces: next(model.interfaces),
    securityGroups: next(model.securityGroups).map((g) => ({
      ...g,
      ingress: next(g.ingress),
      egress: next(g.egress),
    })),
    networkAcls: next(model.networkAcls).map((a) => ({
      ...a,
      entries: next(a.entries),
      subnetIds: next(a.subnetIds),
    })),
    subnets: next(model.subnets),
    routeTables: next(model.routeTables).map((t) => ({
      ...t,
      routes: next(t.routes),
      subnetIds: next(t.subnetIds),
    })),
  };
}

describe('evaluateReachability properties', () => {
  it('never adds a block when an allow rule is added (so a reachable path stays reachable)', () => {
    const addition = fc.oneof(
      fc.record({
        kind: fc.constant('sg' as const),
        group: fc.nat(2),
        direction: fc.constantFrom<'ingress' | 'egress'>('ingress', 'egress'),
        rule: sgRule,
      }),
      fc.record({
        kind: fc.constant('acl' as const),
        acl: fc.nat(2),
        egress: fc.boolean(),
        ruleNumber: fc.integer({ min: 1, max: 32766 }),
        protocol,
        cidr: fc.constantFrom(...CIDRS),
        ports: portRange,
      }),
    );
    let reachableBefore = 0;
    fc.assert(
      fc.property(worldAndQuery, addition, ({ model, q }, add) => {
        const before = evaluateReachability(model, q);
        if (before.verdict === 'reachable') reachableBefore++;
        const after = structuredClone(model);
        if (add.kind === 'sg') {
          after.securityGroups[add.group]![add.direction].push(add.rule);
        } else {
          const acl = after.networkAcls[add.acl]!;
          const taken = new Set(acl.entries.filter((e) => e.egress === add.egress).map((e) => e.ruleNumber));
          fc.pre(!taken.has(add.ruleNumber));
          acl.entries.push({
            ruleNumber: add.ruleNumber,
            egress: add.egress,
            action: 'allow',
            protocol: add.protocol,
            cidr: add.cidr,
            ports: add.ports,
          });
        }
        const result = evaluateReachability(after, q);
        for (const key of blockKeys(result)) expect(blockKeys(before)).toContain(key);
        if (before.verdict === 'reachable') expect(result.verdict).toBe('reachable');
      }),
      { numRuns: 400 },
    );
    // The worlds are permissive enough that the reachable case is really exercised.
    expect(reachableBefore).toBeGreaterThan(40);
  });

  it('lets a deny at a lower rule number beat a later allow for the same traffic', () => {
    fc.assert(
      fc.property(
        worldAndQuery,
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 10, max: 32766 }),
        ({ model, q }, denyAt, allowAt) => {
          const dest = model.interfaces.find((e) => e.privateIps.includes(q.to.ip))!;
          const source = model.interfaces.find(
            (e) => e.instanceId === q.from || e.privateIps.includes(q.from),
          )!;
          fc.pre(dest.subnetId !== source.subnetId);
          const after = structuredClone(model);
          const acl =
            after.networkAcls.find((a) => a.subnetIds.includes(dest.subnetId)) ??
            after.networkAcls.find((a) => a.isDefault)!;
          fc.pre(!acl.entries.some((e) => !e.egress && e.ruleNumber === allowAt));
          const protocolNumber = q.protocol === 'udp' ? 17 : 6;
          const ports = { from: q.to.port, to: q.to.port };
          acl.entries.push(
            {
              ruleNumber: allowAt,
              egress: false,
              action: 'allow',
              protocol: protocolNumber,
              cidr: '0.0.0.0/0',
              ports,
            },
            {
              ruleNumber: denyAt,
              egress: false,
              action: 'deny',
              protocol: protocolNumber,
              cidr: `${source.privateIps[0]}/32`,
              ports,
            },
          );
          const result = evaluateReachability(after, q);
          expect(result.verdict).toBe('blocked');
          const block = result.blockedBy.find((b) => b.id === acl.id && b.direction === 'inbound');
          expect(block?.rule).toMatchObject({
            kind: 'network-acl',
            entry: { ruleNumber: denyAt, action: 'deny' },
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the same answer whatever the order of rules and resources in the input', () => {
    fc.assert(
      fc.property(worldAndQuery, fc.integer(), ({ model, q }, seed) => {
        expect(evaluateReachability(shuffled(model, seed), q)).toEqual(evaluateReachability(model, q));
      }),
      { numRuns: 300 },
    );
  });
});
