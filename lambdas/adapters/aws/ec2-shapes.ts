/**
 * The EC2 snapshot: the outputs of the six `describe-*` calls (and optionally the prefix lists) merged into one
 * JSON object, with AWS's own field names, exactly as `aws ec2 describe-…` prints them. So a snapshot can be
 * written by `gatewatch network --capture` or by hand:
 *
 * ```sh
 * jq -s add <(aws ec2 describe-instances) <(aws ec2 describe-network-interfaces) \
 *   <(aws ec2 describe-security-groups) <(aws ec2 describe-network-acls) \
 *   <(aws ec2 describe-subnets) <(aws ec2 describe-route-tables) > snapshot.json
 * ```
 *
 * This file validates such an object and translates it into the core's {@link NetworkModel}; both the live
 * adapter and the snapshot reader use it.
 */
import type {
  Instance as Ec2Instance,
  NetworkAcl as Ec2NetworkAcl,
  NetworkInterface as Ec2NetworkInterface,
  Route as Ec2Route,
  RouteTable as Ec2RouteTable,
  SecurityGroup as Ec2SecurityGroup,
  Subnet as Ec2Subnet,
  InstanceNetworkInterface,
  IpPermission,
  ManagedPrefixList,
  PrefixListEntry,
  Reservation,
} from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { hasPorts, parseProtocol } from '../../core/network/protocol.ts';
import type {
  Instance,
  NetworkAcl,
  NetworkInterface,
  NetworkModel,
  PrefixList,
  Route,
  RouteTable,
  RouteTargetKind,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
} from '../../core/network/types.ts';

/** A managed prefix list (DescribeManagedPrefixLists) with its entries (GetManagedPrefixListEntries). */
export type Ec2PrefixList = ManagedPrefixList & { Entries?: PrefixListEntry[] };

/** The merged outputs, keyed as the AWS CLI prints them. */
export interface Ec2Snapshot {
  Reservations: Reservation[];
  NetworkInterfaces: Ec2NetworkInterface[];
  SecurityGroups: Ec2SecurityGroup[];
  NetworkAcls: Ec2NetworkAcl[];
  Subnets: Ec2Subnet[];
  RouteTables: Ec2RouteTable[];
  PrefixLists?: Ec2PrefixList[];
  /** Written by `gatewatch network --capture`; ignored on reading. */
  CapturedAt?: string;
  Region?: string;
}

/** The snapshot does not have the shape of merged `describe-*` outputs; the message names the field. */
export class Ec2SnapshotError extends Error {
  override name = 'Ec2SnapshotError';
}

// Only the fields gatewatch reads are checked; everything else AWS prints passes through untouched.
const str = z.string();
const num = z.number();
const tags = z.array(z.looseObject({ Key: str.optional(), Value: str.optional() })).optional();
const groupIdentifier = z.looseObject({ GroupId: str.optional(), GroupName: str.optional() });
const privateIps = z.array(
  z.looseObject({ PrivateIpAddress: str.optional(), Primary: z.boolean().optional() }),
);
const ipv6s = z.array(z.looseObject({ Ipv6Address: str.optional() }));
const eniShape = {
  NetworkInterfaceId: str,
  SubnetId: str.optional(),
  VpcId: str.optional(),
  PrivateIpAddress: str.optional(),
  PrivateIpAddresses: privateIps.optional(),
  Ipv6Addresses: ipv6s.optional(),
  Groups: z.array(groupIdentifier).optional(),
  Attachment: z.looseObject({ InstanceId: str.optional(), DeviceIndex: num.optional() }).optional(),
  Description: str.optional(),
};
const permission = z.looseObject({
  IpProtocol: str,
  FromPort: num.optional(),
  ToPort: num.optional(),
  IpRanges: z.array(z.looseObject({ CidrIp: str.optional(), Description: str.optional() })).optional(),
  Ipv6Ranges: z.array(z.looseObject({ CidrIpv6: str.optional(), Description: str.optional() })).optional(),
  UserIdGroupPairs: z
    .array(z.looseObject({ GroupId: str.optional(), Description: str.optional() }))
    .optional(),
  PrefixListIds: z
    .array(z.looseObject({ PrefixListId: str.optional(), Description: str.optional() }))
    .optional(),
});

const snapshotSchema = z.looseObject({
  Reservations: z.array(
    z.looseObject({
      Instances: z
        .array(
          z.looseObject({
            InstanceId: str,
            PrivateIpAddress: str.optional(),
            State: z.looseObject({ Name: str.optional() }).optional(),
            Tags: tags,
            NetworkInterfaces: z.array(z.looseObject(eniShape)).optional(),
          }),
        )
        .optional(),
    }),
  ),
  NetworkInterfaces: z.array(z.looseObject(eniShape)),
  SecurityGroups: z.array(
    z.looseObject({
      GroupId: str,
      GroupName: str.optional(),
      VpcId: str.optional(),
      IpPermissions: z.array(permission).optional(),
      IpPermissionsEgress: z.array(permission).optional(),
    }),
  ),
  NetworkAcls: z.array(
    z.looseObject({
      NetworkAclId: str,
      VpcId: str,
      IsDefault: z.boolean().optional(),
      Associations: z.array(z.looseObject({ SubnetId: str.optional() })).optional(),
      Entries: z
        .array(
          z.looseObject({
            RuleNumber: num,
            Egress: z.boolean(),
            RuleAction: z.enum(['allow', 'deny']),
            Protocol: str,
            CidrBlock: str.optional(),
            Ipv6CidrBlock: str.optional(),
            PortRange: z.looseObject({ From: num.optional(), To: num.optional() }).optional(),
          }),
        )
        .optional(),
    }),
  ),
  Subnets: z.array(
    z.looseObject({
      SubnetId: str,
      VpcId: str,
      CidrBlock: str.optional(),
      Ipv6CidrBlockAssociationSet: z.array(z.looseObject({ Ipv6CidrBlock: str.optional() })).optional(),
      AvailabilityZone: str.optional(),
    }),
  ),
  RouteTables: z.array(
    z.looseObject({
      RouteTableId: str,
      VpcId: str,
      Associations: z
        .array(z.looseObject({ Main: z.boolean().optional(), SubnetId: str.optional() }))
        .optional(),
      Routes: z
        .array(
          z.looseObject({
            DestinationCidrBlock: str.optional(),
            DestinationIpv6CidrBlock: str.optional(),
            DestinationPrefixListId: str.optional(),
            State: str.optional(),
          }),
        )
        .optional(),
    }),
  ),
  PrefixLists: z
    .array(
      z.looseObject({
        PrefixListId: str,
        PrefixListName: str.optional(),
        Entries: z.array(z.looseObject({ Cidr: str.optional() })).optional(),
      }),
    )
    .optional(),
});

const HINTS: Record<string, string> = {
  Reservations: 'aws ec2 describe-instances',
  NetworkInterfaces: 'aws ec2 describe-network-interfaces',
  SecurityGroups: 'aws ec2 describe-security-groups',
  NetworkAcls: 'aws ec2 describe-network-acls',
  Subnets: 'aws ec2 describe-subnets',
  RouteTables: 'aws ec2 describe-route-tables',
};

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path)
    text += typeof part === 'number' ? `[${part}]` : `${text === '' ? '' : '.'}${String(part)}`;
  return text || '(top level)';
}

/**
 * Checks that `value` is a snapshot and returns it typed.
 * @throws {Ec2SnapshotError} naming the first wrong fields (`SecurityGroups[2].GroupId: …`).
 */
export function parseEc2Snapshot(value: unknown): Ec2Snapshot {
  const parsed = snapshotSchema.safeParse(value);
  if (parsed.success) return value as Ec2Snapshot;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => {
    const top = String(issue.path[0] ?? '');
    const missing = issue.path.length === 1 && issue.code === 'invalid_type' && HINTS[top];
    return missing
      ? `${top}: missing — merge in the output of \`${HINTS[top]}\``
      : `${pathText(issue.path)}: ${issue.message}`;
  });
  const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
  throw new Ec2SnapshotError(`not an EC2 snapshot: ${problems.join('; ')}${more}`);
}

// ---------------------------------------------------------------- translation

function nameTag(
  tagList: { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): string | undefined {
  return tagList?.find((t) => t.Key === 'Name')?.Value;
}

function sgRules(permissions: IpPermission[] | undefined): SecurityGroupRule[] {
  const rules: SecurityGroupRule[] = [];
  for (const p of permissions ?? []) {
    const protocol = parseProtocol(p.IpProtocol);
    if (protocol === undefined) continue;
    // For tcp/udp, -1 or absent ports mean every port; other protocols carry ICMP type/code there instead.
    const ports =
      hasPorts(protocol) && p.FromPort !== undefined && p.FromPort !== -1
        ? { from: p.FromPort, to: p.ToPort === undefined || p.ToPort === -1 ? 65535 : p.ToPort }
        : undefined;
    const base = { protocol, ...(ports ? { ports } : {}) };
    const described = (d: string | undefined) => (d ? { description: d } : {});
    for (const r of p.IpRanges ?? []) {
      if (r.CidrIp)
        rules.push({ ...base, peer: { kind: 'cidr', cidr: r.CidrIp }, ...described(r.Description) });
    }
    for (const r of p.Ipv6Ranges ?? []) {
      if (r.CidrIpv6)
        rules.push({ ...base, peer: { kind: 'cidr', cidr: r.CidrIpv6 }, ...described(r.Description) });
    }
    for (const r of p.UserIdGroupPairs ?? []) {
      if (r.GroupId) {
        rules.push({
          ...base,
          peer: { kind: 'security-group', groupId: r.GroupId },
          ...described(r.Description),
        });
      }
    }
    for (const r of p.PrefixListIds ?? []) {
      if (r.PrefixListId) {
        rules.push({
          ...base,
          peer: { kind: 'prefix-list', prefixListId: r.PrefixListId },
          ...described(r.Description),
        });
      }
    }
  }
  return rules;
}

function eniFrom(
  shape: Ec2NetworkInterface | InstanceNetworkInterface,
  instanceId?: string,
): NetworkInterface {
  const ips = shape.PrivateIpAddresses ?? [];
  const primary = ips.find((ip) => ip.Primary)?.PrivateIpAddress ?? shape.PrivateIpAddress;
  const others = ips.map((ip) => ip.PrivateIpAddress).filter((ip): ip is string => !!ip && ip !== primary);
  const attachedTo =
    shape.Attachment && 'InstanceId' in shape.Attachment ? shape.Attachment.InstanceId : undefined;
  const owner = attachedTo ?? instanceId;
  return {
    id: shape.NetworkInterfaceId!,
    subnetId: shape.SubnetId ?? '',
    vpcId: shape.VpcId ?? '',
    privateIps: primary ? [primary, ...others] : others,
    ipv6s: (shape.Ipv6Addresses ?? []).map((a) => a.Ipv6Address).filter((a): a is string => !!a),
    groupIds: (shape.Groups ?? []).map((g) => g.GroupId).filter((g): g is string => !!g),
    ...(owner ? { instanceId: owner } : {}),
    ...(shape.Attachment?.DeviceIndex !== undefined ? { deviceIndex: shape.Attachment.DeviceIndex } : {}),
    ...(shape.Description ? { description: shape.Description } : {}),
  };
}

function instanceFrom(shape: Ec2Instance): Instance {
  const enis = [...(shape.NetworkInterfaces ?? [])].sort(
    (a, b) => (a.Attachment?.DeviceIndex ?? 99) - (b.Attachment?.DeviceIndex ?? 99),
  );
  const name = nameTag(shape.Tags);
  return {
    id: shape.InstanceId!,
    ...(name ? { name } : {}),
    ...(shape.State?.Name ? { state: shape.State.Name } : {}),
    ...(shape.PrivateIpAddress ? { primaryPrivateIp: shape.PrivateIpAddress } : {}),
    interfaceIds: enis.map((e) => e.NetworkInterfaceId).filter((id): id is string => !!id),
  };
}

function targetOf(route: Ec2Route): { kind: RouteTargetKind; id: string } {
  if (route.GatewayId === 'local') return { kind: 'local', id: 'local' };
  if (route.VpcPeeringConnectionId) return { kind: 'vpc-peering', id: route.VpcPeeringConnectionId };
  if (route.TransitGatewayId) return { kind: 'transit-gateway', id: route.TransitGatewayId };
  if (route.NatGatewayId) return { kind: 'nat-gateway', id: route.NatGatewayId };
  if (route.EgressOnlyInternetGatewayId) {
    return { kind: 'egress-only-internet-gateway', id: route.EgressOnlyInternetGatewayId };
  }
  if (route.CarrierGatewayId) return { kind: 'carrier-gateway', id: route.CarrierGatewayId };
  if (route.LocalGatewayId) return { kind: 'local-gateway', id: route.LocalGatewayId };
  if (route.CoreNetworkArn) return { kind: 'core-network', id: route.CoreNetworkArn };
  if (route.InstanceId) return { kind: 'instance', id: route.InstanceId };
  if (route.NetworkInterfaceId) return { kind: 'network-interface', id: route.NetworkInterfaceId };
  const gateway = route.GatewayId;
  if (gateway?.startsWith('igw-')) return { kind: 'internet-gateway', id: gateway };
  if (gateway?.startsWith('vgw-')) return { kind: 'virtual-private-gateway', id: gateway };
  if (gateway?.startsWith('vpce-')) return { kind: 'vpc-endpoint', id: gateway };
  return { kind: 'unknown', id: gateway ?? 'unknown' };
}

function routeTableFrom(shape: Ec2RouteTable): RouteTable {
  const routes: Route[] = [];
  for (const r of shape.Routes ?? []) {
    const destination = r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock;
    const state = r.State === 'blackhole' ? 'blackhole' : 'active';
    if (destination)
      routes.push({ destination: { kind: 'cidr', cidr: destination }, target: targetOf(r), state });
    else if (r.DestinationPrefixListId) {
      routes.push({
        destination: { kind: 'prefix-list', prefixListId: r.DestinationPrefixListId },
        target: targetOf(r),
        state,
      });
    }
  }
  const associations = shape.Associations ?? [];
  return {
    id: shape.RouteTableId!,
    vpcId: shape.VpcId!,
    main: associations.some((a) => a.Main === true),
    subnetIds: associations.map((a) => a.SubnetId).filter((s): s is string => !!s),
    routes,
  };
}

function aclFrom(shape: Ec2NetworkAcl): NetworkAcl {
  const entries: NetworkAcl['entries'] = [];
  for (const e of shape.Entries ?? []) {
    const protocol = parseProtocol(e.Protocol);
    const cidr = e.CidrBlock ?? e.Ipv6CidrBlock;
    if (protocol === undefined || !cidr || e.RuleNumber === undefined || !e.RuleAction) continue;
    const ports =
      hasPorts(protocol) && e.PortRange?.From !== undefined
        ? { from: e.PortRange.From, to: e.PortRange.To ?? e.PortRange.From }
        : undefined;
    entries.push({
      ruleNumber: e.RuleNumber,
      egress: e.Egress === true,
      action: e.RuleAction === 'deny' ? 'deny' : 'allow',
      protocol,
      cidr,
      ...(ports ? { ports } : {}),
    });
  }
  return {
    id: shape.NetworkAclId!,
    vpcId: shape.VpcId!,
    isDefault: shape.IsDefault === true,
    entries,
    subnetIds: (shape.Associations ?? []).map((a) => a.SubnetId).filter((s): s is string => !!s),
  };
}

function subnetFrom(shape: Ec2Subnet): Subnet {
  return {
    id: shape.SubnetId!,
    vpcId: shape.VpcId!,
    ...(shape.CidrBlock ? { cidr: shape.CidrBlock } : {}),
    ipv6Cidrs: (shape.Ipv6CidrBlockAssociationSet ?? [])
      .map((a) => a.Ipv6CidrBlock)
      .filter((c): c is string => !!c),
    ...(shape.AvailabilityZone ? { availabilityZone: shape.AvailabilityZone } : {}),
  };
}

function securityGroupFrom(shape: Ec2SecurityGroup): SecurityGroup {
  return {
    id: shape.GroupId!,
    ...(shape.GroupName ? { name: shape.GroupName } : {}),
    ...(shape.VpcId ? { vpcId: shape.VpcId } : {}),
    ingress: sgRules(shape.IpPermissions),
    egress: sgRules(shape.IpPermissionsEgress),
  };
}

/** Translates a (validated) snapshot into the core's model. */
export function toNetworkModel(snapshot: Ec2Snapshot): NetworkModel {
  const instances = snapshot.Reservations.flatMap((r) => r.Instances ?? []);
  const interfaces = snapshot.NetworkInterfaces.map((eni) => eniFrom(eni));
  // describe-instances also lists each instance's interfaces; use them when describe-network-interfaces
  // was filtered or left out.
  const known = new Set(interfaces.map((eni) => eni.id));
  for (const instance of instances) {
    for (const eni of instance.NetworkInterfaces ?? []) {
      if (eni.NetworkInterfaceId && !known.has(eni.NetworkInterfaceId)) {
        known.add(eni.NetworkInterfaceId);
        interfaces.push(eniFrom(eni, instance.InstanceId));
      }
    }
  }
  const prefixLists: PrefixList[] = [];
  for (const list of snapshot.PrefixLists ?? []) {
    if (!list.PrefixListId || list.Entries === undefined) continue;
    prefixLists.push({
      id: list.PrefixListId,
      ...(list.PrefixListName ? { name: list.PrefixListName } : {}),
      cidrs: list.Entries.map((e) => e.Cidr).filter((c): c is string => !!c),
    });
  }
  return {
    instances: instances.map(instanceFrom),
    interfaces,
    securityGroups: snapshot.SecurityGroups.map(securityGroupFrom),
    networkAcls: snapshot.NetworkAcls.map(aclFrom),
    subnets: snapshot.Subnets.map(subnetFrom),
    routeTables: snapshot.RouteTables.map(routeTableFrom),
    prefixLists,
  };
}

/** Prefix-list ids that rules and routes refer to, so a capture fetches only those lists' entries. */
export function referencedPrefixLists(
  snapshot: Pick<Ec2Snapshot, 'SecurityGroups' | 'RouteTables'>,
): string[] {
  const ids = new Set<string>();
  for (const group of snapshot.SecurityGroups) {
    for (const p of [...(group.IpPermissions ?? []), ...(group.IpPermissionsEgress ?? [])]) {
      for (const r of p.PrefixListIds ?? []) if (r.PrefixListId) ids.add(r.PrefixListId);
    }
  }
  for (const table of snapshot.RouteTables) {
    for (const r of table.Routes ?? []) if (r.DestinationPrefixListId) ids.add(r.DestinationPrefixListId);
  }
  return [...ids].sort();
}
