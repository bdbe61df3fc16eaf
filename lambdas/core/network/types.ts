/**
 * gatewatch's own model of a VPC's network configuration, and the answer to "can A reach B on port P".
 * Adapters translate EC2 shapes into these types; the evaluator never sees an AWS field name.
 * Everything here is plain JSON.
 */

/** An inclusive port range. */
export interface PortRange {
  from: number;
  to: number;
}

/**
 * An IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, …); `-1` means every protocol, as EC2 writes it.
 */
export type ProtocolNumber = number;

export const PROTOCOL_NUMBERS = { all: -1, icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

// ---------------------------------------------------------------- security groups

/** Who a security group rule lets in (ingress) or out to (egress). */
export type SecurityGroupPeer =
  | { kind: 'cidr'; cidr: string }
  | { kind: 'security-group'; groupId: string }
  | { kind: 'prefix-list'; prefixListId: string };

/** One permission for one peer (EC2's IpPermission expanded per range, group pair and prefix list). */
export interface SecurityGroupRule {
  protocol: ProtocolNumber;
  /** Absent: every port (protocol -1, or a protocol without ports). */
  ports?: PortRange;
  peer: SecurityGroupPeer;
  description?: string;
}

export interface SecurityGroup {
  id: string;
  name?: string;
  vpcId?: string;
  ingress: SecurityGroupRule[];
  egress: SecurityGroupRule[];
}

// ---------------------------------------------------------------- network ACLs

export interface NetworkAclEntry {
  ruleNumber: number;
  /** `true` for outbound entries. */
  egress: boolean;
  action: 'allow' | 'deny';
  protocol: ProtocolNumber;
  /** An IPv4 or IPv6 block. */
  cidr: string;
  /** Absent: every port. */
  ports?: PortRange;
}

export interface NetworkAcl {
  id: string;
  vpcId: string;
  /** The VPC's default ACL, which guards every subnet not associated with another one. */
  isDefault: boolean;
  entries: NetworkAclEntry[];
  subnetIds: string[];
}

// ---------------------------------------------------------------- subnets and routes

export interface Subnet {
  id: string;
  vpcId: string;
  cidr?: string;
  ipv6Cidrs: string[];
  availabilityZone?: string;
}

export type RouteTargetKind =
  | 'local'
  | 'internet-gateway'
  | 'egress-only-internet-gateway'
  | 'nat-gateway'
  | 'vpc-peering'
  | 'transit-gateway'
  | 'virtual-private-gateway'
  | 'network-interface'
  | 'instance'
  | 'vpc-endpoint'
  | 'carrier-gateway'
  | 'local-gateway'
  | 'core-network'
  | 'unknown';

export interface Route {
  destination: { kind: 'cidr'; cidr: string } | { kind: 'prefix-list'; prefixListId: string };
  target: { kind: RouteTargetKind; id: string };
  /** `blackhole`: the target is gone (deleted peering, NAT gateway, instance); packets are dropped. */
  state: 'active' | 'blackhole';
}

export interface RouteTable {
  id: string;
  vpcId: string;
  /** The VPC's main table, used by every subnet without an explicit association. */
  main: boolean;
  subnetIds: string[];
  routes: Route[];
}

// ---------------------------------------------------------------- hosts

export interface NetworkInterface {
  id: string;
  subnetId: string;
  vpcId: string;
  /** Private IPv4 addresses, the primary one first. */
  privateIps: string[];
  ipv6s: string[];
  groupIds: string[];
  instanceId?: string;
  /** 0 for an instance's primary interface. */
  deviceIndex?: number;
  description?: string;
}

export interface Instance {
  id: string;
  /** The `Name` tag. */
  name?: string;
  /** `running`, `stopped`, … */
  state?: string;
  primaryPrivateIp?: string;
  /** Attached interfaces, the primary (device index 0) first. */
  interfaceIds: string[];
}

export interface PrefixList {
  id: string;
  name?: string;
  cidrs: string[];
}

/** Everything the evaluator reads. Arrays may come in any order; the answer does not depend on it. */
export interface NetworkModel {
  instances: Instance[];
  interfaces: NetworkInterface[];
  securityGroups: SecurityGroup[];
  networkAcls: NetworkAcl[];
  subnets: Subnet[];
  routeTables: RouteTable[];
  /** Managed prefix lists referenced by rules and routes; rules naming a list absent here decide nothing. */
  prefixLists?: PrefixList[];
}

/**
 * The network-inventory port: where the model comes from (the live EC2 API, a snapshot file).
 * It belongs with the other ports in `lambdas/ports.ts`; it is declared here until the lead moves it.
 */
export interface NetworkInventory {
  load(): Promise<NetworkModel>;
}

// ---------------------------------------------------------------- the question and the answer

export type TransportProtocol = 'tcp' | 'udp';

export interface ReachabilityQuery {
  /** An instance id (`i-…`), an interface id (`eni-…`) or a private IP of the connecting host (nginx). */
  from: string;
  /** The upstream's address and port. */
  to: { ip: string; port: number };
  /** @default 'tcp' */
  protocol?: TransportProtocol;
  /**
   * The client (source) ports nginx's host uses: `net.ipv4.ip_local_port_range`. Replies must pass the network
   * ACLs on all of them; a range that is only partly allowed is a block. Without it the range is 1024-65535
   * (AWS's advice for ACLs) and a partly allowed range is `unknown`, since it depends on the client.
   * @default { from: 1024, to: 65535 }
   */
  ephemeralPorts?: PortRange;
  /**
   * `iptables-save` and/or `nft -a list ruleset` output of each host, when read (see `analyzeHostFirewall`).
   */
  hostFirewall?: { source?: string; destination?: string };
}

export type ReachabilityVerdict = 'reachable' | 'blocked' | 'unknown';

export type BlockingKind = 'security-group' | 'network-acl' | 'route-table' | 'host-firewall';

/** A network ACL entry as the evaluator reports it; `ruleNumber` `'*'` is the ACL's final implicit deny. */
export interface AclRuleView {
  ruleNumber: number | '*';
  action: 'allow' | 'deny';
  protocol: string;
  cidr: string;
  ports?: PortRange;
}

/** A security group rule as the evaluator reports it. */
export interface SecurityGroupRuleView {
  groupId: string;
  protocol: string;
  ports?: PortRange;
  peer: string;
  description?: string;
}

/** The decisive rule of a blocking component. */
export type BlockingRule =
  | {
      kind: 'security-group';
      /** Every group on the interface: none of them has a rule that allows the traffic. */
      groupIds: string[];
      /** Rules that came close (right peer but wrong port, or right port but wrong peer). */
      nearMisses: SecurityGroupRuleView[];
    }
  | {
      kind: 'network-acl';
      entry: AclRuleView;
      /** For the return path: the ephemeral ports this entry denies (others may be allowed). */
      deniedPorts?: PortRange[];
    }
  | {
      kind: 'route-table';
      /** The route that matched (longest prefix), absent when no route matches. */
      route?: { destination: string; target: string; state: 'active' | 'blackhole' };
    }
  | {
      kind: 'host-firewall';
      tool: 'iptables' | 'nftables';
      table: string;
      chain: string;
      line: string;
    };

export interface BlockedBy {
  kind: BlockingKind;
  /** `sg-…`, `acl-…`, `rtb-…`, or `host`. */
  id: string;
  /**
   * `outbound`/`inbound` (security groups), `outbound`/`inbound`/`outbound-return`/`inbound-return` (network
   * ACLs), `request`/`return` (routes), `output` (nginx's host) / `input` (the upstream's host) for host firewalls.
   */
  direction: string;
  rule: BlockingRule;
  /** What this component does to the traffic, in one sentence. */
  reason: string;
  /** The change that would let the traffic through, with the command that makes it. */
  fix: string;
}

/** One address of the query, resolved against the inventory. */
export interface Endpoint {
  /** What the caller asked for: an instance id, interface id or IP. */
  input: string;
  ip?: string;
  interfaceId?: string;
  instanceId?: string;
  instanceName?: string;
  subnetId?: string;
  vpcId?: string;
  groupIds?: string[];
}

/** One component on the path and what it does to the traffic. */
export interface PathStep {
  kind: Exclude<BlockingKind, 'host-firewall'> | 'host-firewall';
  id: string;
  direction: string;
  decision: 'allow' | 'deny' | 'unknown' | 'not-applicable';
  detail: string;
}

export interface ReachabilityResult {
  verdict: ReachabilityVerdict;
  blockedBy: BlockedBy[];
  path: {
    protocol: TransportProtocol;
    port: number;
    from: Endpoint;
    to: Endpoint;
    steps: PathStep[];
  };
  /** Components checked and found to let the traffic through, in words (for the report's `ruledOut`). */
  ruledOut: string[];
  /** What could not be checked and why. */
  notes: string[];
}
