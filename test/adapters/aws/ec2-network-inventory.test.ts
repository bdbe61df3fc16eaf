import {
  DescribeInstancesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Ec2InventoryError,
  Ec2NetworkInventory,
} from '../../../lambdas/adapters/aws/ec2-network-inventory.ts';
import {
  type Ec2Snapshot,
  Ec2SnapshotError,
  parseEc2Snapshot,
  toNetworkModel,
} from '../../../lambdas/adapters/aws/ec2-shapes.ts';
import { loadSnapshotFixture } from '../../core/network/fixtures.ts';

const ec2 = mockClient(EC2Client);
const client = (): EC2Client =>
  new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const fixedNow = () => new Date('2026-11-24T05:11:48Z');

describe('Ec2NetworkInventory (SDK mocked)', () => {
  beforeEach(() => {
    ec2.reset();
    // Every call answers an empty page unless a test says otherwise.
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [] });
  });
  afterEach(() => ec2.reset());

  it('follows NextToken through every page of every call and merges them under AWS field names', async () => {
    // Recorded at call time: the SDK reuses one input object across a paginator's pages.
    const tokens: (string | undefined)[] = [];
    const pages: Record<string, { SecurityGroups: { GroupId: string }[]; NextToken?: string }> = {
      start: { SecurityGroups: [{ GroupId: 'sg-1' }], NextToken: 'p2' },
      p2: { SecurityGroups: [{ GroupId: 'sg-2' }], NextToken: 'p3' },
      p3: { SecurityGroups: [{ GroupId: 'sg-3' }] },
    };
    ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { NextToken?: string }) => {
      tokens.push(input.NextToken);
      return pages[input.NextToken ?? 'start'];
    });
    ec2
      .on(DescribeNetworkInterfacesCommand)
      .resolvesOnce({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1' }], NextToken: 'n2' })
      .resolvesOnce({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-2' }] });
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-1' }] }], NextToken: 'i2' })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-2' }] }] });
    const snapshot = await new Ec2NetworkInventory(client(), { now: fixedNow }).capture();
    expect(snapshot.SecurityGroups.map((g) => g.GroupId)).toEqual(['sg-1', 'sg-2', 'sg-3']);
    expect(snapshot.NetworkInterfaces.map((e) => e.NetworkInterfaceId)).toEqual(['eni-1', 'eni-2']);
    expect(snapshot.Reservations.flatMap((r) => r.Instances!.map((i) => i.InstanceId))).toEqual([
      'i-1',
      'i-2',
    ]);
    expect(Object.keys(snapshot)).toEqual([
      'Reservations',
      'NetworkInterfaces',
      'SecurityGroups',
      'NetworkAcls',
      'Subnets',
      'RouteTables',
      'CapturedAt',
      'Region',
    ]);
    expect(snapshot.CapturedAt).toBe('2026-11-24T05:11:48.000Z');
    expect(snapshot.Region).toBe('us-east-1');
    expect(tokens).toEqual([undefined, 'p2', 'p3']);
  });

  it('gives each call its own page size (at most 100 for ACLs and route tables) and its own token', async () => {
    ec2
      .on(DescribeNetworkAclsCommand)
      .resolvesOnce({ NetworkAcls: [], NextToken: 'acl-page-2' })
      .resolves({ NetworkAcls: [] });
    await new Ec2NetworkInventory(client()).capture();
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand).map((c) => c.args[0].input)).toEqual([
      { MaxResults: 1000 },
    ]);
    expect(ec2.commandCalls(DescribeRouteTablesCommand).map((c) => c.args[0].input)).toEqual([
      { MaxResults: 100 },
    ]);
    expect(ec2.commandCalls(DescribeNetworkAclsCommand).at(-1)!.args[0].input).toEqual({
      MaxResults: 100,
      NextToken: 'acl-page-2',
    });
  });

  it('filters every call by VPC when asked', async () => {
    await new Ec2NetworkInventory(client(), { vpcIds: ['vpc-0a1'] }).capture();
    for (const command of [
      DescribeInstancesCommand,
      DescribeSubnetsCommand,
      DescribeNetworkAclsCommand,
    ] as const) {
      expect(ec2.commandCalls(command)[0]!.args[0].input).toMatchObject({
        Filters: [{ Name: 'vpc-id', Values: ['vpc-0a1'] }],
      });
    }
  });

  it('reads only the VPCs of the hosts involved: their instances first, then every call by vpc-id', async () => {
    ec2
      .on(DescribeInstancesCommand, { InstanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210'] })
      .resolves({
        Reservations: [
          { Instances: [{ InstanceId: 'i-0123456789abcdef0', VpcId: 'vpc-aaa' }] },
          { Instances: [{ InstanceId: 'i-0fedcba9876543210', VpcId: 'vpc-aaa' }] },
        ],
      });

    await new Ec2NetworkInventory(client(), {
      instanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210', 'i-0123456789abcdef0'],
      now: fixedNow,
    }).capture();

    const first = ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input;
    expect(first).toMatchObject({ InstanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210'] });
    // EC2 answers InvalidParameterCombination to MaxResults with InstanceIds (DescribeInstances API).
    expect(first.MaxResults).toBeUndefined();
    const byVpc = [{ Name: 'vpc-id', Values: ['vpc-aaa'] }];
    for (const command of [
      DescribeNetworkInterfacesCommand,
      DescribeSecurityGroupsCommand,
      DescribeNetworkAclsCommand,
      DescribeSubnetsCommand,
      DescribeRouteTablesCommand,
    ]) {
      const calls = ec2.commandCalls(command);
      expect(calls.length, command.name).toBeGreaterThan(0);
      for (const call of calls) expect((call.args[0].input as { Filters?: unknown }).Filters).toEqual(byVpc);
    }
    // No call of the capture went out without the filter: the region's inventory is never read whole.
    const instances = ec2.commandCalls(DescribeInstancesCommand).slice(1);
    for (const call of instances) expect(call.args[0].input.Filters).toEqual(byVpc);
  });

  it('says which instances it could not place in a VPC instead of reading the whole region', async () => {
    await expect(
      new Ec2NetworkInventory(client(), { instanceIds: ['i-0123456789abcdef0'] }).capture(),
    ).rejects.toThrow(/no VPC found for i-0123456789abcdef0/);
    expect(ec2.commandCalls(DescribeSubnetsCommand)).toHaveLength(0);
  });

  it('reads the entries of the prefix lists that rules and routes refer to, and only those', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: 'sg-1',
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 3000, ToPort: 3000, PrefixListIds: [{ PrefixListId: 'pl-1' }] },
          ],
        },
      ],
    });
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [
        { RouteTableId: 'rtb-1', Routes: [{ DestinationPrefixListId: 'pl-2', GatewayId: 'vpce-1' }] },
      ],
    });
    ec2
      .on(DescribeManagedPrefixListsCommand)
      .resolves({ PrefixLists: [{ PrefixListId: 'pl-1' }, { PrefixListId: 'pl-2' }] });
    ec2
      .on(GetManagedPrefixListEntriesCommand, { PrefixListId: 'pl-1' })
      .resolvesOnce({ Entries: [{ Cidr: '10.0.1.0/24' }], NextToken: 'e2' })
      .resolvesOnce({ Entries: [{ Cidr: '10.0.9.0/24' }] });
    ec2
      .on(GetManagedPrefixListEntriesCommand, { PrefixListId: 'pl-2' })
      .resolves({ Entries: [{ Cidr: '52.216.0.0/15' }] });
    const snapshot = await new Ec2NetworkInventory(client()).capture();
    expect(ec2.commandCalls(DescribeManagedPrefixListsCommand)[0]!.args[0].input.PrefixListIds).toEqual([
      'pl-1',
      'pl-2',
    ]);
    expect(snapshot.PrefixLists).toEqual([
      { PrefixListId: 'pl-1', Entries: [{ Cidr: '10.0.1.0/24' }, { Cidr: '10.0.9.0/24' }] },
      { PrefixListId: 'pl-2', Entries: [{ Cidr: '52.216.0.0/15' }] },
    ]);
  });

  it('makes no prefix-list call when nothing refers to one', async () => {
    await new Ec2NetworkInventory(client()).capture();
    expect(ec2.commandCalls(DescribeManagedPrefixListsCommand)).toHaveLength(0);
  });

  it('names the failing call and keeps the SDK error as the cause', async () => {
    const denied = Object.assign(new Error('You are not authorized to perform this operation.'), {
      name: 'UnauthorizedOperation',
    });
    ec2.on(DescribeNetworkAclsCommand).rejects(denied);
    const error = await new Ec2NetworkInventory(client()).capture().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Ec2InventoryError);
    expect((error as Ec2InventoryError).call).toBe('DescribeNetworkAcls');
    expect((error as Error).message).toBe(
      'EC2 DescribeNetworkAcls failed: UnauthorizedOperation: You are not authorized to perform this operation.',
    );
    expect((error as Error).cause).toBe(denied);
  });

  it('loads the capture as the core model', async () => {
    ec2
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [{ SubnetId: 'subnet-1', VpcId: 'vpc-1', CidrBlock: '10.0.1.0/24' }] });
    const model = await new Ec2NetworkInventory(client()).load();
    expect(model.subnets).toEqual([{ id: 'subnet-1', vpcId: 'vpc-1', cidr: '10.0.1.0/24', ipv6Cidrs: [] }]);
  });
});

describe('parseEc2Snapshot', () => {
  const base = (): Record<string, unknown> =>
    JSON.parse(
      JSON.stringify({
        Reservations: [],
        NetworkInterfaces: [],
        SecurityGroups: [],
        NetworkAcls: [],
        Subnets: [],
        RouteTables: [],
      }),
    );

  it('accepts the merged outputs of the describe calls', () => {
    expect(parseEc2Snapshot(base())).toEqual(base());
  });

  it('names a missing call and the command whose output supplies it', () => {
    const snapshot = base();
    delete snapshot.RouteTables;
    expect(() => parseEc2Snapshot(snapshot)).toThrow(
      'not an EC2 snapshot: RouteTables: missing — merge in the output of `aws ec2 describe-route-tables`',
    );
  });

  it('names the path of a field of the wrong type', () => {
    const snapshot = {
      ...base(),
      NetworkAcls: [{ NetworkAclId: 'acl-1', VpcId: 'vpc-1', Entries: [{ RuleNumber: '100' }] }],
    };
    expect(() => parseEc2Snapshot(snapshot)).toThrow(/NetworkAcls\[0\]\.Entries\[0\]\.RuleNumber: /);
  });

  it('answers any JSON value with a snapshot or its own error', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ Reservations: fc.jsonValue(), Subnets: fc.jsonValue() })),
        (value) => {
          try {
            parseEc2Snapshot(value);
          } catch (error) {
            expect(error).toBeInstanceOf(Ec2SnapshotError);
          }
        },
      ),
    );
  });
});

describe('toNetworkModel', () => {
  const snapshot = (parts: Partial<Ec2Snapshot>): Ec2Snapshot => ({
    Reservations: [],
    NetworkInterfaces: [],
    SecurityGroups: [],
    NetworkAcls: [],
    Subnets: [],
    RouteTables: [],
    ...parts,
  });

  it('expands each permission into one rule per range, group pair and prefix list', () => {
    const model = toNetworkModel(
      snapshot({
        SecurityGroups: [
          {
            GroupId: 'sg-1',
            IpPermissions: [
              {
                IpProtocol: 'tcp',
                FromPort: 3000,
                ToPort: 3010,
                IpRanges: [{ CidrIp: '10.0.1.0/24', Description: 'web' }],
                Ipv6Ranges: [{ CidrIpv6: '2600:1f18::/56' }],
                UserIdGroupPairs: [{ GroupId: 'sg-2', UserId: '123456789012' }],
                PrefixListIds: [{ PrefixListId: 'pl-1' }],
              },
              { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/16' }] },
              { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
              { IpProtocol: 'udp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
            ],
          },
        ],
      }),
    );
    expect(model.securityGroups[0]!.ingress).toEqual([
      {
        protocol: 6,
        ports: { from: 3000, to: 3010 },
        peer: { kind: 'cidr', cidr: '10.0.1.0/24' },
        description: 'web',
      },
      { protocol: 6, ports: { from: 3000, to: 3010 }, peer: { kind: 'cidr', cidr: '2600:1f18::/56' } },
      { protocol: 6, ports: { from: 3000, to: 3010 }, peer: { kind: 'security-group', groupId: 'sg-2' } },
      { protocol: 6, ports: { from: 3000, to: 3010 }, peer: { kind: 'prefix-list', prefixListId: 'pl-1' } },
      { protocol: -1, peer: { kind: 'cidr', cidr: '10.0.0.0/16' } },
      { protocol: 1, peer: { kind: 'cidr', cidr: '0.0.0.0/0' } },
      { protocol: 17, peer: { kind: 'cidr', cidr: '0.0.0.0/0' } },
    ]);
  });

  it("reads ACL protocols as numbers or names (moto echoes 'tcp') and IPv6 entries", () => {
    const model = toNetworkModel(
      snapshot({
        NetworkAcls: [
          {
            NetworkAclId: 'acl-1',
            VpcId: 'vpc-1',
            IsDefault: false,
            Associations: [{ SubnetId: 'subnet-1' }],
            Entries: [
              {
                RuleNumber: 90,
                Egress: false,
                RuleAction: 'deny',
                Protocol: 'tcp',
                CidrBlock: '10.0.1.0/24',
                PortRange: { From: 3000, To: 3000 },
              },
              { RuleNumber: 101, Egress: true, RuleAction: 'allow', Protocol: '-1', Ipv6CidrBlock: '::/0' },
            ],
          },
        ],
      }),
    );
    expect(model.networkAcls[0]).toEqual({
      id: 'acl-1',
      vpcId: 'vpc-1',
      isDefault: false,
      subnetIds: ['subnet-1'],
      entries: [
        {
          ruleNumber: 90,
          egress: false,
          action: 'deny',
          protocol: 6,
          cidr: '10.0.1.0/24',
          ports: { from: 3000, to: 3000 },
        },
        { ruleNumber: 101, egress: true, action: 'allow', protocol: -1, cidr: '::/0' },
      ],
    });
  });

  it('reads route targets, blackholes, the main flag and subnet associations', () => {
    const model = toNetworkModel(
      snapshot({
        RouteTables: [
          {
            RouteTableId: 'rtb-1',
            VpcId: 'vpc-1',
            Associations: [{ Main: true }, { Main: false, SubnetId: 'subnet-2' }],
            Routes: [
              { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' },
              { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1', State: 'active' },
              { DestinationCidrBlock: '10.1.0.0/16', VpcPeeringConnectionId: 'pcx-1', State: 'blackhole' },
              { DestinationCidrBlock: '10.2.0.0/16', TransitGatewayId: 'tgw-1', State: 'active' },
              { DestinationCidrBlock: '10.3.0.0/16', NatGatewayId: 'nat-1', State: 'active' },
              { DestinationIpv6CidrBlock: '::/0', EgressOnlyInternetGatewayId: 'eigw-1', State: 'active' },
              { DestinationPrefixListId: 'pl-1', GatewayId: 'vpce-1', State: 'active' },
            ],
          },
        ],
      }),
    );
    const table = model.routeTables[0]!;
    expect(table.main).toBe(true);
    expect(table.subnetIds).toEqual(['subnet-2']);
    expect(table.routes.map((r) => `${r.target.kind}:${r.target.id}:${r.state}`)).toEqual([
      'local:local:active',
      'internet-gateway:igw-1:active',
      'vpc-peering:pcx-1:blackhole',
      'transit-gateway:tgw-1:active',
      'nat-gateway:nat-1:active',
      'egress-only-internet-gateway:eigw-1:active',
      'vpc-endpoint:vpce-1:active',
    ]);
    expect(table.routes[6]!.destination).toEqual({ kind: 'prefix-list', prefixListId: 'pl-1' });
  });

  it('puts the primary private IP first and takes interfaces from describe-instances when the ENI call lacks them', () => {
    const model = toNetworkModel(
      snapshot({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: 'i-1',
                PrivateIpAddress: '10.0.1.10',
                Tags: [{ Key: 'Name', Value: 'nginx' }],
                State: { Name: 'running', Code: 16 },
                NetworkInterfaces: [
                  {
                    NetworkInterfaceId: 'eni-2',
                    SubnetId: 'subnet-1',
                    VpcId: 'vpc-1',
                    Attachment: { DeviceIndex: 1 },
                    PrivateIpAddresses: [{ PrivateIpAddress: '10.0.1.20', Primary: true }],
                    Groups: [{ GroupId: 'sg-1' }],
                  },
                  {
                    NetworkInterfaceId: 'eni-1',
                    SubnetId: 'subnet-1',
                    VpcId: 'vpc-1',
                    Attachment: { DeviceIndex: 0 },
                    PrivateIpAddresses: [
                      { PrivateIpAddress: '10.0.1.11', Primary: false },
                      { PrivateIpAddress: '10.0.1.10', Primary: true },
                    ],
                    Groups: [{ GroupId: 'sg-1' }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(model.instances).toEqual([
      {
        id: 'i-1',
        name: 'nginx',
        state: 'running',
        primaryPrivateIp: '10.0.1.10',
        interfaceIds: ['eni-1', 'eni-2'],
      },
    ]);
    expect(model.interfaces.find((e) => e.id === 'eni-1')).toMatchObject({
      privateIps: ['10.0.1.10', '10.0.1.11'],
      instanceId: 'i-1',
      groupIds: ['sg-1'],
    });
  });

  it('reads every snapshot fixture', () => {
    for (const name of ['base', 'ipv6', 'prefix-list', 'route-association']) {
      const model = loadSnapshotFixture(name);
      expect(model.interfaces.length).toBeGreaterThan(0);
      expect(model.interfaces.every((e) => e.privateIps.length > 0 && e.groupIds.length > 0)).toBe(true);
    }
  });
});
