/**
 * One model for iptables and nftables rulesets: tables of chains of rules, each rule a list of matches and a
 * verdict. Matches answer `yes`, `no` or `maybe` (a field the question leaves open, or a match gatewatch does
 * not understand), so the walk can tell a certain block from a possible one.
 */
import { cidrContains, type IpFamily, type ParsedCidr, type ParsedIp } from './ip.ts';

export type Tri = 'yes' | 'no' | 'maybe';

/** A packet of the connection under study, as one hook of one host sees it. */
export interface FirewallPacket {
  hook: 'prerouting' | 'input' | 'output' | 'postrouting';
  /** Request (first packet of the connection) or a reply. */
  role: 'request' | 'reply';
  protocol: 'tcp' | 'udp';
  family?: IpFamily;
  /** A port, or the range it lies in (the client's ephemeral port); undefined when not known at all. */
  sport?: number | { from: number; to: number };
  dport?: number | { from: number; to: number };
  saddr?: ParsedIp;
  daddr?: ParsedIp;
  /** `new` for the request, `established` for replies. */
  ctstate: 'new' | 'established';
  /** `lo` for loopback traffic, `other` for some other (unnamed) interface, undefined when not known. */
  iif?: 'lo' | 'other';
  oif?: 'lo' | 'other';
}

export type Match = (packet: FirewallPacket) => Tri;

export type RuleVerdict =
  | { kind: 'accept' | 'drop' | 'return' | 'continue' | 'none' }
  | { kind: 'reject'; with?: string }
  | { kind: 'jump' | 'goto'; chain: string }
  | { kind: 'unknown'; text: string };

export interface FirewallRule {
  /** 1-based line number in the text given to the analysis. */
  lineNumber: number;
  /** The rule as written (trimmed). */
  line: string;
  matches: Match[];
  /** Parts of the rule gatewatch does not understand; the rule then matches at best `maybe`. */
  notUnderstood: string[];
  verdict: RuleVerdict;
  /** nftables rule handle (`nft -a`). */
  handle?: number;
  /** iptables: the rule specification after `-A CHAIN`, reused verbatim for `-D`. */
  spec?: string;
}

export interface FirewallChain {
  name: string;
  /** Built-in (iptables) or base (nftables) chains have a hook; user chains are only jumped to. */
  hook?: FirewallPacket['hook'] | 'forward' | 'ingress' | 'egress';
  /** nft chain type (`filter`, `nat`, `route`); iptables chains take their table's role. */
  type?: string;
  policy?: 'accept' | 'drop';
  policyLine?: string;
  policyLineNumber?: number;
  rules: FirewallRule[];
}

export interface FirewallTable {
  tool: 'iptables' | 'nftables';
  /** `ip`, `ip6`, `inet` (nftables); `ip` or `ip6` for iptables-save/ip6tables-save. */
  family: string;
  name: string;
  chains: Map<string, FirewallChain>;
  /** `ip filter` tables iptables-nft writes: the same rules as `iptables-save` shows. */
  managedByIptablesNft: boolean;
}

export interface ParsedRuleset {
  tables: FirewallTable[];
  notUnderstood: { lineNumber: number; line: string; reason: string }[];
}

// ---------------------------------------------------------------- match helpers

export function not(tri: Tri): Tri {
  return tri === 'yes' ? 'no' : tri === 'no' ? 'yes' : 'maybe';
}

/** A match that may be negated (`! -p tcp`, `!= 3000`). */
export function negatable(match: Match, negated: boolean): Match {
  return negated ? (packet) => not(match(packet)) : match;
}

export function combine(matches: readonly Match[], packet: FirewallPacket): Tri {
  let result: Tri = 'yes';
  for (const match of matches) {
    const tri = match(packet);
    if (tri === 'no') return 'no';
    if (tri === 'maybe') result = 'maybe';
  }
  return result;
}

export function portMatch(field: 'sport' | 'dport', ranges: readonly { from: number; to: number }[]): Match {
  return (packet) => {
    const port = packet[field];
    if (port === undefined) return 'maybe';
    const wanted = typeof port === 'number' ? { from: port, to: port } : port;
    if (ranges.some((r) => r.from <= wanted.from && r.to >= wanted.to)) return 'yes';
    return ranges.some((r) => r.from <= wanted.to && r.to >= wanted.from) ? 'maybe' : 'no';
  };
}

export function addressMatch(field: 'saddr' | 'daddr', cidrs: readonly ParsedCidr[]): Match {
  return (packet) => {
    const ip = packet[field];
    if (ip === undefined) {
      // An unnamed peer can still be excluded by family when every block is of the other family.
      if (packet.family !== undefined && cidrs.every((c) => c.family !== packet.family)) return 'no';
      return 'maybe';
    }
    return cidrs.some((cidr) => cidrContains(cidr, ip)) ? 'yes' : 'no';
  };
}

export function familyMatch(family: IpFamily): Match {
  return (packet) => (packet.family === undefined ? 'maybe' : packet.family === family ? 'yes' : 'no');
}

/** `tcp`, `udp`, `6`, `17`, `all`; anything else is a protocol other than the connection's. */
export function protocolMatch(protocols: readonly string[]): Match {
  const numbers: Record<string, string> = { '6': 'tcp', '17': 'udp', '0': 'all' };
  const names = protocols.map((p) => numbers[p.toLowerCase()] ?? p.toLowerCase());
  return (packet) => (names.includes('all') || names.includes(packet.protocol) ? 'yes' : 'no');
}

export function ctstateMatch(states: readonly string[]): Match {
  const wanted = states.map((s) => s.toLowerCase());
  return (packet) => {
    // A request is NEW; its replies are ESTABLISHED. RELATED, INVALID, UNTRACKED, DNAT… are neither.
    return wanted.includes(packet.ctstate) ? 'yes' : 'no';
  };
}

/** Interface names: `lo` is known from the peer address; any other name stays open (`maybe`). */
export function interfaceMatch(field: 'iif' | 'oif', names: readonly string[]): Match {
  return (packet) => {
    const side = packet[field];
    if (side === undefined) return 'maybe';
    const matchesLo = names.some((n) => (/[+*]$/.test(n) ? 'lo'.startsWith(n.slice(0, -1)) : n === 'lo'));
    if (side === 'lo') return matchesLo ? 'yes' : 'no';
    const onlyLo = names.every((n) => n === 'lo');
    return onlyLo ? 'no' : 'maybe';
  };
}

/** The hooks a packet of this role passes through on the given host. */
export function hooksFor(direction: 'input' | 'output', role: 'request' | 'reply'): FirewallPacket['hook'][] {
  const incoming = (direction === 'input') === (role === 'request');
  return incoming ? ['prerouting', 'input'] : ['output', 'postrouting'];
}
