import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyzeHostFirewall,
  type HostFirewallQuery,
  HostFirewallQueryError,
  readHostFirewall,
} from '../../../lambdas/core/network/host-firewall.ts';
import { loadFirewallFixture } from './fixtures.ts';

// The fixtures are real `iptables-save`, `iptables -S` and `nft [-a] list ruleset` output, produced inside a
// network namespace by test/fixtures/network/firewall/generate.sh.

interface Case {
  name: string;
  fixture: string;
  query: Omit<HostFirewallQuery, 'proto'>;
  /** Each expected block: the line quoted, the packet it stops, how certain, what nginx sees, the fix. */
  blocks: {
    line: string;
    chain: string;
    packet?: 'request' | 'reply';
    certain?: boolean;
    errno?: number;
    fix?: string;
  }[];
  passed?: string;
}

const CASES: Case[] = [
  {
    name: 'names the iptables DROP for the nginx subnet and the command that deletes it',
    fixture: 'iptables-upstream.rules',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: '-A INPUT -s 10.0.1.0/24 -p tcp -m tcp --dport 3000 -j DROP',
        chain: 'INPUT',
        packet: 'request',
        certain: true,
        errno: 110,
        fix: 'iptables -t filter -D INPUT -s 10.0.1.0/24 -p tcp -m tcp --dport 3000 -j DROP',
      },
    ],
  },
  {
    name: 'falls through to the chain policy DROP and fixes it with an ACCEPT inserted first',
    fixture: 'iptables-upstream.rules',
    query: { port: 3000, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: ':INPUT DROP [0:0]',
        chain: 'INPUT',
        certain: true,
        errno: 110,
        fix: 'iptables -t filter -I INPUT -p tcp -s 10.0.9.9 --dport 3000 -j ACCEPT',
      },
    ],
  },
  {
    name: 'lets an ACCEPT before the policy decide',
    fixture: 'iptables-upstream.rules',
    query: { port: 22, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [],
    passed:
      'iptables filter INPUT: tcp 22 from 10.0.9.9 accepted by line 9 `-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT`',
  },
  {
    name: 'reads multiport lists and a REJECT with tcp-reset (nginx sees connection refused)',
    fixture: 'iptables-upstream.rules',
    query: { port: 8080, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: '-A INPUT -p tcp -m multiport --dports 8080,9000:9100 -j REJECT --reject-with tcp-reset',
        chain: 'INPUT',
        certain: true,
        errno: 111,
      },
    ],
  },
  {
    name: 'reads multiport ranges',
    fixture: 'iptables-upstream.rules',
    query: { port: 9050, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: '-A INPUT -p tcp -m multiport --dports 8080,9000:9100 -j REJECT --reject-with tcp-reset',
        chain: 'INPUT',
      },
    ],
  },
  {
    name: 'reads port ranges and keeps a quoted comment in the delete command',
    fixture: 'iptables-upstream.rules',
    query: { port: 5050, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: '-A INPUT -p tcp -m tcp --dport 5000:5100 -m comment --comment "block app range" -j DROP',
        chain: 'INPUT',
        fix: 'iptables -t filter -D INPUT -p tcp -m tcp --dport 5000:5100 -m comment --comment "block app range" -j DROP',
      },
    ],
  },
  {
    name: 'follows a jump into a user chain and names the REJECT there',
    fixture: 'iptables-upstream.rules',
    query: { port: 4000, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: '-A APP -p tcp -m tcp --dport 4000 -j REJECT --reject-with icmp-port-unreachable',
        chain: 'APP',
        certain: true,
        errno: 111,
        fix: 'iptables -t filter -D APP -p tcp -m tcp --dport 4000 -j REJECT --reject-with icmp-port-unreachable',
      },
    ],
  },
  {
    name: 'maps a REJECT with icmp-host-prohibited to no route to host',
    fixture: 'iptables-upstream.rules',
    query: { port: 4001, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: '-A APP -p tcp -m tcp --dport 4001 -j REJECT --reject-with icmp-host-prohibited',
        chain: 'APP',
        errno: 113,
      },
    ],
  },
  {
    name: 'lets an ACCEPT in a user chain end the walk',
    fixture: 'iptables-upstream.rules',
    query: { port: 6050, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [],
    passed: 'accepted by line 17 `-A APP -p tcp -m tcp --dport 6000:6100 -j ACCEPT`',
  },
  {
    name: 'accepts loopback traffic through the -i lo rule',
    fixture: 'iptables-upstream.rules',
    query: { port: 3000, direction: 'input', peerIp: '127.0.0.1' },
    blocks: [],
    passed: 'accepted by line 7 `-A INPUT -i lo -j ACCEPT`',
  },
  {
    name: 'checks the OUTPUT chain of the connecting host, and its replies against ESTABLISHED',
    fixture: 'iptables-upstream.rules',
    query: { port: 3000, direction: 'output', peerIp: '10.0.2.20' },
    blocks: [
      {
        line: '-A OUTPUT -d 10.0.2.0/24 -p tcp -m tcp --dport 3000 -j DROP',
        chain: 'OUTPUT',
        packet: 'request',
        certain: true,
        fix: 'iptables -t filter -D OUTPUT -d 10.0.2.0/24 -p tcp -m tcp --dport 3000 -j DROP',
      },
    ],
    passed:
      'replies from port 3000 accepted by line 8 `-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`',
  },
  {
    name: 'does not block an output destination outside the rule',
    fixture: 'iptables-upstream.rules',
    query: { port: 3000, direction: 'output', peerIp: '10.0.3.30' },
    blocks: [],
  },
  {
    name: 'reads `iptables -S` output the same way, policy included',
    fixture: 'iptables-upstream.S.txt',
    query: { port: 3000, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: '-P INPUT DROP',
        chain: 'INPUT',
        certain: true,
        fix: 'iptables -t filter -I INPUT -p tcp -s 10.0.9.9 --dport 3000 -j ACCEPT',
      },
    ],
  },
  {
    name: "reads iptables-nft's rules once when iptables-save and nft output come together",
    fixture: 'iptables-nft-both.txt',
    query: { port: 3000, direction: 'output', peerIp: '10.0.2.20' },
    blocks: [
      { line: '-A OUTPUT -d 10.0.2.0/24 -p tcp -m tcp --dport 3000 -j DROP', chain: 'OUTPUT', certain: true },
    ],
    passed: "nft table ip filter is iptables-nft's copy of the iptables rules; read once",
  },
  {
    name: 'names an nft drop on a port set and deletes it by handle',
    fixture: 'nft-upstream.ruleset',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: 'tcp dport { 3000, 3001 } counter packets 0 bytes 0 drop',
        chain: 'input',
        certain: true,
        errno: 110,
        fix: 'nft delete rule inet filter input handle 7',
      },
    ],
  },
  {
    name: 'reads nft ip saddr matches and reject with tcp reset',
    fixture: 'nft-upstream.ruleset',
    query: { port: 4000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: 'ip saddr 10.0.1.0/24 tcp dport 4000 reject with tcp reset',
        chain: 'input',
        errno: 111,
        fix: 'nft delete rule inet filter input handle 8',
      },
    ],
  },
  {
    name: 'reads nft ip6 saddr matches for an IPv6 peer',
    fixture: 'nft-upstream.ruleset',
    query: { port: 4000, direction: 'input', peerIp: '2600:1f18:4a3:6e01::10' },
    blocks: [
      {
        line: 'ip6 saddr 2600:1f18:4a3:6e01::/64 tcp dport 4000 reject with icmpv6 port-unreachable',
        chain: 'input',
        errno: 111,
        fix: 'nft delete rule inet filter input handle 9',
      },
    ],
  },
  {
    name: "falls through to the nft chain's drop policy and proposes an accept rule",
    fixture: 'nft-upstream.ruleset',
    query: { port: 4000, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [
      {
        line: 'type filter hook input priority filter; policy drop;',
        chain: 'input',
        certain: true,
        fix: 'nft insert rule inet filter input ip saddr 10.0.9.9 tcp dport 4000 accept',
      },
    ],
  },
  {
    name: 'lets an nft accept on a port range decide',
    fixture: 'nft-upstream.ruleset',
    query: { port: 8050, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [],
  },
  {
    name: 'checks the nft output chain of the connecting host (reject with icmp host-prohibited)',
    fixture: 'nft-upstream.ruleset',
    query: { port: 5000, direction: 'output', peerIp: '10.0.2.20' },
    blocks: [
      {
        line: 'ip daddr 10.0.2.20 tcp dport 5000 reject with icmp host-prohibited',
        chain: 'output',
        errno: 113,
      },
    ],
  },
  {
    name: 'tells how to find the handle when the ruleset was listed without -a',
    fixture: 'nft-upstream-nohandles.ruleset',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: 'tcp dport { 3000, 3001 } counter packets 0 bytes 0 drop',
        chain: 'input',
        fix: "nft -a list chain inet filter input (to read the rule's handle), then nft delete rule inet filter input handle <handle>",
      },
    ],
  },
  {
    name: 'marks blocks uncertain behind rules it does not understand (recent, limit)',
    fixture: 'iptables-not-understood.rules',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: '-A INPUT -p tcp -m recent --rcheck --seconds 60 --name scanners --mask 255.255.255.255 --rsource -j DROP',
        chain: 'INPUT',
        certain: false,
      },
      { line: '-A INPUT -p tcp -m tcp --dport 3000 -j DROP', chain: 'INPUT', certain: false },
    ],
  },
  {
    name: 'marks a drop uncertain behind an accept on a named set',
    fixture: 'nft-named-set.ruleset',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: 'tcp dport 3000 drop',
        chain: 'input',
        certain: false,
        fix: 'nft delete rule inet filter input handle 4',
      },
    ],
  },
  {
    name: 'lets an ACCEPT for the nginx subnet precede a general DROP',
    fixture: 'iptables-accept-then-drop.rules',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [],
    passed: 'accepted by line 6 `-A INPUT -s 10.0.1.0/24 -p tcp -m tcp --dport 3000 -j ACCEPT`',
  },
  {
    name: 'blocks a peer outside the accepted subnet',
    fixture: 'iptables-accept-then-drop.rules',
    query: { port: 3000, direction: 'input', peerIp: '10.0.9.9' },
    blocks: [{ line: '-A INPUT -p tcp -m tcp --dport 3000 -j DROP', chain: 'INPUT', certain: true }],
  },
  {
    name: "finds a DROP of the upstream's replies (nginx sees a connect timeout)",
    fixture: 'iptables-reply-drop.rules',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: '-A OUTPUT -p tcp -m tcp --sport 3000 -j DROP',
        chain: 'OUTPUT',
        packet: 'reply',
        certain: true,
        errno: 110,
      },
    ],
  },
  {
    name: 'passes loopback traffic when only other interfaces are blocked',
    fixture: 'nft-external-only.ruleset',
    query: { port: 3000, direction: 'input', peerIp: '127.0.0.1' },
    blocks: [],
  },
  {
    name: 'blocks traffic from another interface',
    fixture: 'nft-external-only.ruleset',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [
      {
        line: 'iifname != "lo" tcp dport 3000 drop',
        chain: 'input',
        certain: true,
        fix: 'nft delete rule ip guard input handle 2',
      },
    ],
  },
  {
    name: 'finds nothing in an empty ruleset',
    fixture: 'empty.txt',
    query: { port: 3000, direction: 'input', peerIp: '10.0.1.10' },
    blocks: [],
  },
];

describe('analyzeHostFirewall', () => {
  it.each(CASES)('$name', (c) => {
    const analysis = readHostFirewall(loadFirewallFixture(c.fixture), { proto: 'tcp', ...c.query });
    expect(analysis.blocks.map((b) => b.line)).toEqual(c.blocks.map((b) => b.line));
    for (const [i, expected] of c.blocks.entries()) {
      const block = analysis.blocks[i]!;
      expect(block.chain).toBe(expected.chain);
      if (expected.packet) expect(block.packet).toBe(expected.packet);
      if (expected.certain !== undefined) expect(block.certain).toBe(expected.certain);
      if (expected.errno) expect(block.effect?.errno).toBe(expected.errno);
      if (expected.fix) expect(block.fix).toBe(expected.fix);
    }
    if (c.passed) expect(analysis.passed.join('\n')).toContain(c.passed);
    expect(analyzeHostFirewall(loadFirewallFixture(c.fixture), { proto: 'tcp', ...c.query })).toEqual(
      analysis.blocks,
    );
  });

  it('says which rules it did not understand, and why', () => {
    const analysis = readHostFirewall(loadFirewallFixture('iptables-not-understood.rules'), {
      port: 3000,
      proto: 'tcp',
      direction: 'input',
      peerIp: '10.0.1.10',
    });
    expect(analysis.notUnderstood.map((n) => [n.lineNumber, n.reason])).toEqual([
      [6, 'not understood: -m recent --rcheck --seconds 60 --name scanners --mask 255.255.255.255 --rsource'],
      [7, 'not understood: -m limit --limit 50/sec'],
    ]);
    expect(analysis.blocks[1]!.caveats).toEqual([
      'line 7 `-A INPUT -p tcp -m tcp --dport 3000 -m limit --limit 50/sec -j ACCEPT` comes first and may accept it (not understood: -m limit --limit 50/sec)',
    ]);
  });

  it('judges udp on its own: tcp rules do not match it, and the fix names udp', () => {
    const blocks = analyzeHostFirewall(loadFirewallFixture('iptables-upstream.rules'), {
      port: 3000,
      proto: 'udp',
      direction: 'input',
      peerIp: '10.0.1.10',
    });
    expect(blocks).toEqual([
      expect.objectContaining({
        line: ':INPUT DROP [0:0]',
        action: 'policy-drop',
        certain: true,
        fix: 'iptables -t filter -I INPUT -p udp -s 10.0.1.10 --dport 3000 -j ACCEPT',
      }),
    ]);
    expect(blocks[0]!.effect).toBeUndefined();
  });

  it('marks every block uncertain when the peer address is not known', () => {
    const blocks = analyzeHostFirewall(loadFirewallFixture('iptables-upstream.rules'), {
      port: 3000,
      proto: 'tcp',
      direction: 'input',
    });
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.every((b) => !b.certain)).toBe(true);
  });

  it('reports text that is neither format instead of guessing', () => {
    const analysis = readHostFirewall('Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n', {
      port: 3000,
      proto: 'tcp',
      direction: 'input',
    });
    expect(analysis.blocks).toEqual([]);
    expect(analysis.formats).toEqual([]);
    expect(analysis.notUnderstood.map((n) => n.reason)).toEqual([
      'neither iptables-save nor nft output',
      'neither iptables-save nor nft output',
    ]);
  });

  it.each([
    [{ port: 0, proto: 'tcp', direction: 'input' }, 'port 0 is not a TCP port'],
    [
      { port: 3000, proto: 'tcp', direction: 'input', peerIp: 'app.internal' },
      'is not an IPv4 or IPv6 address',
    ],
  ] as const)('rejects a malformed query (%j)', (query, message) => {
    expect(() => readHostFirewall('', query)).toThrow(HostFirewallQueryError);
    expect(() => readHostFirewall('', query)).toThrow(message);
  });

  it('reads any text without throwing: it answers, or says what it did not understand', () => {
    const fixtureLines = ['iptables-upstream.rules', 'nft-upstream.ruleset', 'iptables-nft-both.txt'].flatMap(
      (name) => loadFirewallFixture(name).split('\n'),
    );
    const text = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 400 }),
      fc
        .array(fc.oneof(fc.constantFrom(...fixtureLines), fc.string({ maxLength: 40 })), { maxLength: 40 })
        .map((l) => l.join('\n')),
      fc.shuffledSubarray(fixtureLines).map((lines) => lines.join('\n')),
    );
    fc.assert(
      fc.property(
        text,
        fc.constantFrom<'input' | 'output'>('input', 'output'),
        fc.constantFrom(undefined, '10.0.1.10'),
        (t, direction, peerIp) => {
          const analysis = readHostFirewall(t, {
            port: 3000,
            proto: 'tcp',
            direction,
            ...(peerIp ? { peerIp } : {}),
          });
          // Every block quotes a line of the input as written (`nft -a` handle comments aside).
          for (const block of analysis.blocks) {
            expect(t.split(/\r?\n/)[block.lineNumber - 1]?.trim().startsWith(block.line)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
