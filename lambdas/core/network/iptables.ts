/**
 * Reads `iptables-save` / `ip6tables-save` output (`*table`, `:CHAIN POLICY [p:b]`, `-A CHAIN …`, `COMMIT`)
 * and `iptables -S` output (`-P CHAIN POLICY`, `-N CHAIN`, `-A CHAIN …`: the filter table, no header).
 * Understands the common rule shapes (protocol, addresses, interfaces, ports, multiport, conntrack/state,
 * comments, `--syn`); any other match makes the rule a `maybe` and is reported as not understood.
 */
import {
  addressMatch,
  ctstateMatch,
  type FirewallChain,
  type FirewallRule,
  type FirewallTable,
  interfaceMatch,
  type Match,
  negatable,
  type ParsedRuleset,
  portMatch,
  protocolMatch,
  type RuleVerdict,
} from './firewall-model.ts';
import { type ParsedCidr, parseCidr } from './ip.ts';

export interface NumberedLine {
  lineNumber: number;
  text: string;
}

const BUILT_IN_HOOKS: Record<string, FirewallChain['hook']> = {
  PREROUTING: 'prerouting',
  INPUT: 'input',
  FORWARD: 'forward',
  OUTPUT: 'output',
  POSTROUTING: 'postrouting',
};

/** Targets that log, mark or count and let the packet go on to the next rule. */
const NON_TERMINATING = new Set([
  'LOG',
  'NFLOG',
  'ULOG',
  'MARK',
  'CONNMARK',
  'CT',
  'TRACE',
  'AUDIT',
  'CLASSIFY',
  'DSCP',
  'TOS',
  'TTL',
  'HL',
  'TCPMSS',
  'NOTRACK',
  'SET',
  'CHECKSUM',
  'CONNSECMARK',
  'SECMARK',
]);

/** Splits a rule the way a shell would: whitespace-separated, `"…"` quoted with `\"` escapes. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < text.length) current += text[++i];
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') {
      quoted = true;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

function parsePortList(text: string): { from: number; to: number }[] | undefined {
  const ranges: { from: number; to: number }[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d{1,5})(?::(\d{1,5})?)?$/.exec(part) ?? /^:(\d{1,5})$/.exec(part);
    if (!match) return undefined;
    if (part.startsWith(':')) {
      ranges.push({ from: 0, to: Number(match[1]) });
      continue;
    }
    const from = Number(match[1]);
    const to = part.includes(':') ? (match[2] === undefined ? 65535 : Number(match[2])) : from;
    ranges.push({ from: Math.min(from, to), to: Math.max(from, to) });
  }
  return ranges;
}

function parseAddresses(text: string): ParsedCidr[] | undefined {
  const cidrs = text.split(',').map((part) => parseCidr(part));
  return cidrs.every((c) => c !== undefined) ? (cidrs as ParsedCidr[]) : undefined;
}

/** Parses the words after `-A CHAIN`. */
function parseRuleWords(
  words: readonly string[],
  knownChains: ReadonlySet<string>,
): Pick<FirewallRule, 'matches' | 'notUnderstood' | 'verdict'> {
  const matches: Match[] = [];
  const notUnderstood: string[] = [];
  let verdict: RuleVerdict = { kind: 'none' };
  let negated = false;
  // Options of a module gatewatch does not read are reported together with the module: `-m recent --rcheck`.
  let unknownModuleEntry: number | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const value = (): string | undefined => words[++i];
    if (word === '!') {
      negated = true;
      continue;
    }
    const neg = negated;
    negated = false;
    if (/^-[a-zA-Z]$/.test(word)) unknownModuleEntry = undefined;
    switch (word) {
      case '-p':
      case '--protocol': {
        const v = value();
        if (v === undefined) notUnderstood.push(word);
        else matches.push(negatable(protocolMatch([v]), neg));
        break;
      }
      case '-s':
      case '--source':
      case '-d':
      case '--destination': {
        const v = value() ?? '';
        const cidrs = parseAddresses(v);
        if (!cidrs) notUnderstood.push(`${word} ${v}`);
        else
          matches.push(
            negatable(
              addressMatch(word.startsWith('-s') || word === '--source' ? 'saddr' : 'daddr', cidrs),
              neg,
            ),
          );
        break;
      }
      case '-i':
      case '--in-interface':
      case '-o':
      case '--out-interface': {
        const v = value() ?? '';
        const field = word === '-i' || word === '--in-interface' ? 'iif' : 'oif';
        matches.push(negatable(interfaceMatch(field, [v]), neg));
        break;
      }
      case '-m':
      case '--match': {
        const module = value() ?? '';
        if (['tcp', 'udp', 'multiport', 'conntrack', 'state', 'comment'].includes(module)) break;
        unknownModuleEntry = notUnderstood.push(`${neg ? '! ' : ''}-m ${module}`) - 1;
        break;
      }
      case '--dport':
      case '--destination-port':
      case '--sport':
      case '--source-port':
      case '--dports':
      case '--destination-ports':
      case '--sports':
      case '--source-ports':
      case '--ports': {
        const v = value() ?? '';
        const ranges = parsePortList(v);
        if (!ranges) {
          notUnderstood.push(`${word} ${v}`);
          break;
        }
        if (word === '--ports') {
          const either: Match = (p) => {
            const d = portMatch('dport', ranges)(p);
            const s = portMatch('sport', ranges)(p);
            return d === 'yes' || s === 'yes' ? 'yes' : d === 'no' && s === 'no' ? 'no' : 'maybe';
          };
          matches.push(negatable(either, neg));
        } else {
          const field = ['--dport', '--destination-port', '--dports', '--destination-ports'].includes(word)
            ? 'dport'
            : 'sport';
          matches.push(negatable(portMatch(field, ranges), neg));
        }
        break;
      }
      case '--ctstate':
      case '--state': {
        const v = value() ?? '';
        matches.push(negatable(ctstateMatch(v.split(',')), neg));
        break;
      }
      case '--syn': {
        // SYN set, ACK clear: the request's first packet, never a reply.
        matches.push(negatable((p) => (p.role === 'request' ? 'yes' : 'no'), neg));
        break;
      }
      case '--comment':
        value();
        break;
      case '-j':
      case '--jump':
      case '-g':
      case '--goto': {
        const target = value() ?? '';
        const rest = words.slice(i + 1);
        i = words.length;
        if (word === '-g' || word === '--goto') verdict = { kind: 'goto', chain: target };
        else if (target === 'ACCEPT') verdict = { kind: 'accept' };
        else if (target === 'DROP') verdict = { kind: 'drop' };
        else if (target === 'RETURN') verdict = { kind: 'return' };
        else if (target === 'REJECT') {
          const withIndex = rest.indexOf('--reject-with');
          const reason = withIndex === -1 ? undefined : rest[withIndex + 1];
          verdict = reason === undefined ? { kind: 'reject' } : { kind: 'reject', with: reason };
        } else if (NON_TERMINATING.has(target)) verdict = { kind: 'none' };
        else if (knownChains.has(target)) verdict = { kind: 'jump', chain: target };
        else verdict = { kind: 'unknown', text: [target, ...rest].join(' ') };
        break;
      }
      default: {
        // An option of a module gatewatch does not read, or an option it does not know.
        const next = words[i + 1];
        const takesValue = next !== undefined && !next.startsWith('-') && next !== '!';
        const part = `${neg ? '! ' : ''}${word}${takesValue ? ` ${next}` : ''}`;
        if (takesValue) i++;
        if (unknownModuleEntry === undefined) notUnderstood.push(part);
        else notUnderstood[unknownModuleEntry] += ` ${part}`;
      }
    }
  }
  return { matches, notUnderstood, verdict };
}

/** Parses the `iptables-save` sections of a ruleset. `lines` holds only those sections' lines. */
export function parseIptablesSave(lines: readonly NumberedLine[]): ParsedRuleset {
  const tables: FirewallTable[] = [];
  const notUnderstood: ParsedRuleset['notUnderstood'] = [];
  let family = 'ip';
  let table: FirewallTable | undefined;
  // Chain names are declared (`:NAME`) before any rule, so jumps can be told from unknown targets.
  const pending: { table: FirewallTable; line: NumberedLine; chain: string; spec: string }[] = [];
  for (const line of lines) {
    const text = line.text.trim();
    if (text === '') continue;
    if (text.startsWith('#')) {
      if (/ip6tables(-legacy|-nft)?-save/.test(text)) family = 'ip6';
      else if (/iptables(-legacy|-nft)?-save/.test(text)) family = 'ip';
      continue;
    }
    if (text.startsWith('*')) {
      table = {
        tool: 'iptables',
        family,
        name: text.slice(1),
        chains: new Map(),
        managedByIptablesNft: false,
      };
      tables.push(table);
      continue;
    }
    if (text === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (!table) {
      if (!/^-[APN]\s/.test(text)) {
        notUnderstood.push({
          lineNumber: line.lineNumber,
          line: text,
          reason: 'outside a *table … COMMIT block',
        });
        continue;
      }
      // `iptables -S` prints the filter table without a header: `-P INPUT DROP`, `-N APP`, `-A …`.
      table = { tool: 'iptables', family, name: 'filter', chains: new Map(), managedByIptablesNft: false };
      tables.push(table);
    }
    const declaration = /^-P\s+(\S+)\s+(\S+)/.exec(text) ?? /^-N\s+(\S+)()/.exec(text);
    const chainDecl = declaration ?? /^:(\S+)\s+(\S+)/.exec(text);
    if (chainDecl) {
      const [, name, policy] = chainDecl as unknown as [string, string, string];
      const hook = BUILT_IN_HOOKS[name];
      const existing = table.chains.get(name);
      if (existing && !policy) continue;
      table.chains.set(name, {
        name,
        ...(hook ? { hook } : {}),
        ...(policy === 'DROP' || policy === 'ACCEPT'
          ? {
              policy: policy === 'DROP' ? ('drop' as const) : ('accept' as const),
              policyLine: text,
              policyLineNumber: line.lineNumber,
            }
          : {}),
        rules: [],
      });
      continue;
    }
    // `iptables-save -c` prefixes each rule with its counters.
    const rule = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)\s*(.*)$/.exec(text);
    if (rule) {
      pending.push({ table, line, chain: rule[1]!, spec: rule[2]! });
      continue;
    }
    notUnderstood.push({ lineNumber: line.lineNumber, line: text, reason: 'not an iptables-save line' });
  }
  for (const { table: t, line, chain, spec } of pending) {
    let target = t.chains.get(chain);
    if (!target) {
      target = { name: chain, rules: [] };
      t.chains.set(chain, target);
    }
    const parsed = parseRuleWords(shellWords(spec), new Set(t.chains.keys()));
    target.rules.push({ lineNumber: line.lineNumber, line: line.text.trim(), spec, ...parsed });
  }
  return { tables, notUnderstood };
}
