/**
 * How long the network check takes on a large VPC: 500 security groups, 50 network ACLs, 2,000 interfaces.
 * Standalone: `node test/bench/network.ts`. Prints a table; asserts nothing (speed is measured, not tested).
 *
 * The VPC is generated deterministically as an EC2 snapshot (AWS field names), so the figures cover the whole
 * path the CLI and the workflow step take: validate the snapshot, translate it, index it, evaluate.
 */
import { performance } from 'node:perf_hooks';
import type {
  IpPermission,
  NetworkAcl,
  NetworkAclEntry,
  NetworkInterface,
  Reservation,
  RouteTable,
  SecurityGroup,
  Subnet,
} from '@aws-sdk/client-ec2';
import { type Ec2Snapshot, parseEc2Snapshot, toNetworkModel } from '../../lambdas/adapters/aws/ec2-shapes.ts';
import { buildNetworkIndex } from '../../lambdas/core/network/network-index.ts';
import { evaluateReachability } from '../../lambdas/core/network/reachability.ts';
import type { ReachabilityQuery } from '../../lambdas/core/network/types.ts';

const GROUPS = 500;
const ACLS = 50;
const INTERFACES = 2000;
const SUBNETS = 50;
const QUERIES = 2000;
const BUILDS = 15;

/** xorshift32: the same VPC on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}
const rand = random(20261124);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const hex = (n: number, width = 17): string => n.toString(16).padStart(width, '0');

function generate(): Ec2Snapshot {
  const vpc = 'vpc-0bench000000000001';
  const subnets: Subnet[] = Array.from({ length: SUBNETS }, (_, i) => ({
    SubnetId: `subnet-${hex(i + 1)}`,
    VpcId: vpc,
    CidrBlock: `10.0.${i}.0/24`,
    AvailabilityZone: 'us-east-1a',
  }));
  const groupIds = Array.from({ length: GROUPS }, (_, i) => `sg-${hex(i + 1)}`);
  const ports = [22, 80, 443, 3000, 5432, 6379, 8080, 9000];
  const permission = (): IpPermission => {
    const port = pick(ports);
    const wide = rand() < 0.2;
    const base: IpPermission = {
      IpProtocol: rand() < 0.1 ? '-1' : 'tcp',
      FromPort: port,
      ToPort: wide ? port + 100 : port,
    };
    const r = rand();
    if (r < 0.5)
      return { ...base, UserIdGroupPairs: [{ GroupId: pick(groupIds) }, { GroupId: pick(groupIds) }] };
    if (r < 0.9) return { ...base, IpRanges: [{ CidrIp: `10.0.${Math.floor(rand() * SUBNETS)}.0/24` }] };
    return { ...base, IpRanges: [{ CidrIp: '10.0.0.0/16' }], Ipv6Ranges: [{ CidrIpv6: '2600:1f18::/56' }] };
  };
  const securityGroups: SecurityGroup[] = groupIds.map((GroupId, i) => ({
    GroupId,
    GroupName: `service-${i}`,
    VpcId: vpc,
    IpPermissions: Array.from({ length: 6 + Math.floor(rand() * 5) }, permission),
    IpPermissionsEgress:
      rand() < 0.8
        ? [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]
        : [permission(), permission()],
  }));
  const networkAcls: NetworkAcl[] = Array.from({ length: ACLS }, (_, i) => {
    const entries: NetworkAclEntry[] = [];
    for (const Egress of [false, true]) {
      for (let n = 1; n <= 20; n++) {
        const port = pick(ports);
        entries.push({
          RuleNumber: n * 10,
          Egress,
          RuleAction: rand() < 0.25 ? 'deny' : 'allow',
          Protocol: '6',
          CidrBlock: rand() < 0.5 ? `10.0.${Math.floor(rand() * SUBNETS)}.0/24` : '10.0.0.0/16',
          PortRange: rand() < 0.3 ? { From: 1024, To: 65535 } : { From: port, To: port },
        });
      }
      entries.push({
        RuleNumber: 1000,
        Egress,
        RuleAction: 'allow',
        Protocol: '-1',
        CidrBlock: '10.0.0.0/16',
      });
      entries.push({ RuleNumber: 32767, Egress, RuleAction: 'deny', Protocol: '-1', CidrBlock: '0.0.0.0/0' });
    }
    return {
      NetworkAclId: `acl-${hex(i + 1)}`,
      VpcId: vpc,
      IsDefault: i === 0,
      Associations: [{ SubnetId: subnets[i % SUBNETS]!.SubnetId }],
      Entries: entries,
    };
  });
  const interfaces: NetworkInterface[] = Array.from({ length: INTERFACES }, (_, i) => {
    const subnet = i % SUBNETS;
    const host = 10 + Math.floor(i / SUBNETS);
    return {
      NetworkInterfaceId: `eni-${hex(i + 1)}`,
      SubnetId: subnets[subnet]!.SubnetId,
      VpcId: vpc,
      PrivateIpAddress: `10.0.${subnet}.${host}`,
      PrivateIpAddresses: [{ PrivateIpAddress: `10.0.${subnet}.${host}`, Primary: true }],
      Groups: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({ GroupId: pick(groupIds) })),
      Attachment: { InstanceId: `i-${hex(i + 1)}`, DeviceIndex: 0 },
    };
  });
  const reservations: Reservation[] = interfaces.map((eni) => ({
    Instances: [
      {
        InstanceId: eni.Attachment!.InstanceId!,
        PrivateIpAddress: eni.PrivateIpAddress!,
        State: { Name: 'running', Code: 16 },
        NetworkInterfaces: [
          {
            NetworkInterfaceId: eni.NetworkInterfaceId!,
            SubnetId: eni.SubnetId!,
            VpcId: eni.VpcId!,
            PrivateIpAddress: eni.PrivateIpAddress!,
            Attachment: { DeviceIndex: 0 },
          },
        ],
      },
    ],
  }));
  const routeTables: RouteTable[] = [
    {
      RouteTableId: 'rtb-0bench000000000001',
      VpcId: vpc,
      Associations: [{ Main: true }],
      Routes: [
        { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' },
        { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0bench000000000001', State: 'active' },
      ],
    },
  ];
  return {
    Reservations: reservations,
    NetworkInterfaces: interfaces,
    SecurityGroups: securityGroups,
    NetworkAcls: networkAcls,
    Subnets: subnets,
    RouteTables: routeTables,
  };
}

function stats(samples: number[]): { median: number; p95: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95), max: sorted.at(-1)! };
}

function time<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

const snapshot = generate();
const json = JSON.stringify(snapshot);
const parse = time(() => parseEc2Snapshot(JSON.parse(json)));
const translate = time(() => toNetworkModel(parse.value));
const model = translate.value;
const builds = Array.from({ length: BUILDS }, () => time(() => buildNetworkIndex(model)).ms);
const index = buildNetworkIndex(model);

const queries: ReachabilityQuery[] = Array.from({ length: QUERIES }, () => {
  const from = pick(model.interfaces);
  const to = pick(model.interfaces);
  return {
    from: from.instanceId!,
    to: { ip: to.privateIps[0]!, port: pick([22, 80, 443, 3000, 5432, 8080]) },
  };
});
// Warm up the JIT before measuring.
for (const query of queries.slice(0, 200)) evaluateReachability(index, query);
const verdicts: Record<string, number> = {};
const evaluations = queries.map((query) => {
  const { value, ms } = time(() => evaluateReachability(index, query));
  verdicts[value.verdict] = (verdicts[value.verdict] ?? 0) + 1;
  return ms;
});
const cold = Array.from({ length: 5 }, (_, i) => time(() => evaluateReachability(model, queries[i]!)).ms);

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);
const rows: [string, string, string, string][] = [
  [`validate snapshot (${(json.length / 1e6).toFixed(1)} MB JSON)`, fmt(parse.ms), '', ''],
  ['translate EC2 shapes → model', fmt(translate.ms), '', ''],
  [`build index (×${BUILDS})`, fmt(stats(builds).median), fmt(stats(builds).p95), fmt(stats(builds).max)],
  [
    `evaluate, prebuilt index (×${QUERIES})`,
    ...(Object.values(stats(evaluations)).map(fmt) as [string, string, string]),
  ],
  [
    'evaluate, model (index built inside, ×5)',
    ...(Object.values(stats(cold)).map(fmt) as [string, string, string]),
  ],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(
  `gatewatch network bench: ${GROUPS} security groups, ${ACLS} network ACLs, ${INTERFACES} interfaces, ${SUBNETS} subnets (node ${process.version})`,
);
console.log(`${'step'.padEnd(width)}  ${'median'.padStart(9)}  ${'p95'.padStart(9)}  ${'max'.padStart(9)}`);
for (const [name, median, p95, max] of rows) {
  console.log(`${name.padEnd(width)}  ${median.padStart(9)}  ${p95.padStart(9)}  ${max.padStart(9)}`);
}
console.log(`verdicts over the ${QUERIES} random paths: ${JSON.stringify(verdicts)}`);
