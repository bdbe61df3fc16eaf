/**
 * Reads `nft list ruleset` (with or without `-a`) output: tables, chains with their hook and policy, rules.
 * Understands addresses (`ip saddr`, `ip6 daddr`), ports (`tcp dport 3000`, `{ 80, 8000-8100 }`), protocols
 * (`meta l4proto`, `ip protocol`), `ct state`, interfaces and the verdicts; any other expression makes the
 * rule a `maybe` and is reported as not understood. Named sets (`@blocklist`) are not resolved.
 */
import {
  addressMatch,
  ctstateMatch,
  type FirewallChain,
  type FirewallRule,
  type FirewallTable,
  familyMatch,
  interfaceMatch,
  type Match,
  negatable,
  type ParsedRuleset,
  portMatch,
  protocolMatch,
  type RuleVerdict,
} from './firewall-model.ts';
import { type ParsedCidr, parseCidr } from './ip.ts';
import type { NumberedLine } from './iptables.ts';

const SERVICES: Record<string, number> = {
  ssh: 22,
  http: 80,
  https: 443,
  smtp: 25,
  domain: 53,
  'http-alt': 8080,
};

function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|([{},])|([^\s{},"]+)/g;
  for (const match of text.matchAll(re)) {
    if (match[1] !== undefined) out.push(`"${match[1]}"`);
    else out.push(match[2] ?? match[3]!);
  }
  return out;
}

/** Reads a value: one word, or a `{ a, b, c }` set. */
function readValue(words: readonly string[], start: number): { values: string[]; next: number } {
  if (words[start] !== '{') {
    // A bare list: `ct state established,related`.
    const values = words[start] === undefined ? [] : [words[start]!];
    let i = start + 1;
    while (words[i] === ',' && words[i + 1] !== undefined) {
      values.push(words[i + 1]!);
      i += 2;
    }
    return { values, next: i };
  }
  const values: string[] = [];
  let i = start + 1;
  for (; i < words.length && words[i] !== '}'; i++) if (words[i] !== ',') values.push(words[i]!);
  return { values, next: i + 1 };
}

function unquote(text: string): string {
  return text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

function portRanges(values: readonly string[]): { from: number; to: number }[] | undefined {
  const ranges: { from: number; to: number }[] = [];
  for (const value of values) {
    const match = /^(\w[\w-]*?)(?:-(\d+))?$/.exec(value);
    if (!match) return undefined;
    const first = /^\d+$/.test(match[1]!) ? Number(match[1]) : SERVICES[match[1]!];
    if (first === undefined) return undefined;
    const last = match[2] === undefined ? first : Number(match[2]);
    ranges.push({ from: first, to: last });
  }
  return ranges;
}

function addresses(values: readonly string[]): ParsedCidr[] | undefined {
  const cidrs: ParsedCidr[] = [];
  for (const value of values) {
    // nft prints ranges `10.0.0.1-10.0.0.9`; only blocks and single addresses are read here.
    const cidr = parseCidr(value);
    if (!cidr) return undefined;
    cidrs.push(cidr);
  }
  return cidrs;
}

const VERDICT_WORDS = new Set(['accept', 'drop', 'reject', 'return', 'jump', 'goto', 'continue', 'queue']);

function parseRule(text: string): Pick<FirewallRule, 'matches' | 'notUnderstood' | 'verdict'> {
  const words = tokens(text);
  const matches: Match[] = [];
  const notUnderstood: string[] = [];
  let verdict: RuleVerdict = { kind: 'none' };
  let unknownRun: string[] = [];
  const flushUnknown = (): void => {
    if (unknownRun.length > 0) notUnderstood.push(unknownRun.join(' '));
    unknownRun = [];
  };
  let i = 0;
  /** Reads `[==|!=] value`. */
  const operand = (): { negated: boolean; values: string[]; raw: string } => {
    let negated = false;
    if (words[i] === '!=' || words[i] === '==') {
      negated = words[i] === '!=';
      i++;
    }
    const start = i;
    const { values, next } = readValue(words, i);
    i = next;
    return { negated, values, raw: words.slice(start, next).join(' ') };
  };
  while (i < words.length) {
    const word = words[i]!;
    const second = words[i + 1];
    if ((word === 'ip' || word === 'ip6') && (second === 'saddr' || second === 'daddr')) {
      i += 2;
      const { negated, values, raw } = operand();
      const cidrs = values.some((v) => v.startsWith('@')) ? undefined : addresses(values);
      flushUnknown();
      if (!cidrs) notUnderstood.push(`${word} ${second} ${raw}`);
      matches.push(familyMatch(word === 'ip' ? 4 : 6));
      if (cidrs) matches.push(negatable(addressMatch(second, cidrs), negated));
      continue;
    }
    if ((word === 'ip' && second === 'protocol') || (word === 'ip6' && second === 'nexthdr')) {
      i += 2;
      const { negated, values } = operand();
      flushUnknown();
      matches.push(familyMatch(word === 'ip' ? 4 : 6), negatable(protocolMatch(values), negated));
      continue;
    }
    if ((word === 'tcp' || word === 'udp' || word === 'th') && (second === 'dport' || second === 'sport')) {
      i += 2;
      const { negated, values, raw } = operand();
      const ranges = values.some((v) => v.startsWith('@')) ? undefined : portRanges(values);
      flushUnknown();
      if (word !== 'th') matches.push(protocolMatch([word]));
      if (ranges) matches.push(negatable(portMatch(second, ranges), negated));
      else notUnderstood.push(`${word} ${second} ${raw}`);
      continue;
    }
    if (word === 'meta' && (second === 'l4proto' || second === 'nfproto')) {
      i += 2;
      const { negated, values } = operand();
      flushUnknown();
      if (second === 'l4proto') matches.push(negatable(protocolMatch(values), negated));
      else {
        const families = values.map((v) => (v === 'ipv4' ? 4 : v === 'ipv6' ? 6 : 0));
        matches.push(
          negatable(
            (p) => (p.family === undefined ? 'maybe' : families.includes(p.family) ? 'yes' : 'no'),
            negated,
          ),
        );
      }
      continue;
    }
    if (word === 'ct' && second === 'state') {
      i += 2;
      const { negated, values } = operand();
      flushUnknown();
      matches.push(negatable(ctstateMatch(values.flatMap((v) => v.split(','))), negated));
      continue;
    }
    const iface = word === 'meta' && second !== undefined && /^[io]if(name)?$/.test(second) ? second : word;
    if (/^[io]if(name)?$/.test(iface)) {
      i += iface === word ? 1 : 2;
      const { negated, values } = operand();
      flushUnknown();
      matches.push(
        negatable(interfaceMatch(iface.startsWith('i') ? 'iif' : 'oif', values.map(unquote)), negated),
      );
      continue;
    }
    if (word === 'counter') {
      i++;
      while (words[i] === 'packets' || words[i] === 'bytes') i += 2;
      flushUnknown();
      continue;
    }
    if (word === 'comment') {
      i += 2;
      continue;
    }
    if (word === 'log') {
      i++;
      while (['prefix', 'level', 'group', 'snaplen', 'queue-threshold', 'flags'].includes(words[i] ?? ''))
        i += 2;
      flushUnknown();
      continue;
    }
    if (VERDICT_WORDS.has(word)) {
      flushUnknown();
      if (word === 'jump' || word === 'goto') verdict = { kind: word, chain: unquote(second ?? '') };
      else if (word === 'reject') {
        const rest = words.slice(i + 1);
        verdict = rest[0] === 'with' ? { kind: 'reject', with: rest.slice(1).join(' ') } : { kind: 'reject' };
      } else if (word === 'queue') verdict = { kind: 'unknown', text: words.slice(i).join(' ') };
      else verdict = { kind: word as 'accept' | 'drop' | 'return' | 'continue' };
      break;
    }
    unknownRun.push(word);
    i++;
  }
  flushUnknown();
  return { matches, notUnderstood, verdict };
}

const HEADER =
  /^type\s+(\w+)\s+hook\s+(\w+)(?:\s+device\s+\S+)?\s+priority\s+[^;]+;(?:\s*policy\s+(\w+)\s*;)?/;

/** Parses the `nft list ruleset` sections of a ruleset. `lines` holds only those sections' lines. */
export function parseNftRuleset(lines: readonly NumberedLine[]): ParsedRuleset {
  const tables: FirewallTable[] = [];
  const notUnderstood: ParsedRuleset['notUnderstood'] = [];
  const managed = new Set<string>();
  let table: FirewallTable | undefined;
  let chain: FirewallChain | undefined;
  let skipDepth = 0;
  for (const line of lines) {
    let text = line.text.trim();
    const warning = /^# Warning: table (\S+) (\S+) is managed by iptables-nft/.exec(text);
    if (warning) {
      managed.add(`${warning[1]} ${warning[2]}`);
      continue;
    }
    // `nft -a` appends `# handle N`; a `#` outside quotes starts a comment.
    let handle: number | undefined;
    const handleMatch = /\s*# handle (\d+)\s*$/.exec(text);
    if (handleMatch) {
      handle = Number(handleMatch[1]);
      text = text.slice(0, handleMatch.index).trim();
    }
    const trailingWarning = /}\s*# Warning: table (\S+) (\S+) is managed by iptables-nft.*$/.exec(text);
    if (trailingWarning) {
      managed.add(`${trailingWarning[1]} ${trailingWarning[2]}`);
      text = '}';
    }
    if (text === '' || text.startsWith('#')) continue;
    if (skipDepth > 0) {
      skipDepth += (text.match(/{/g) ?? []).length - (text.match(/}/g) ?? []).length;
      continue;
    }
    const tableOpen = /^table\s+(\S+)\s+(\S+)\s*\{$/.exec(text);
    if (tableOpen) {
      table = {
        tool: 'nftables',
        family: tableOpen[1]!,
        name: tableOpen[2]!,
        chains: new Map(),
        managedByIptablesNft: false,
      };
      tables.push(table);
      continue;
    }
    const chainOpen = /^chain\s+(\S+)\s*\{$/.exec(text);
    if (chainOpen && table) {
      chain = { name: unquote(chainOpen[1]!), rules: [] };
      table.chains.set(chain.name, chain);
      continue;
    }
    if (text === '}') {
      if (chain) chain = undefined;
      else table = undefined;
      continue;
    }
    if (/\{$/.test(text)) {
      // Sets, maps, flowtables, named counters: not rules.
      skipDepth = 1;
      continue;
    }
    if (/^(comment|devices|flags)\s/.test(text)) continue;
    if (!chain || !table) {
      notUnderstood.push({ lineNumber: line.lineNumber, line: text, reason: 'outside a chain' });
      continue;
    }
    const header = HEADER.exec(text);
    if (header) {
      chain.type = header[1]!;
      chain.hook = header[2] as FirewallChain['hook'];
      const policy = header[3] === 'drop' ? 'drop' : 'accept';
      chain.policy = policy;
      chain.policyLine = text;
      chain.policyLineNumber = line.lineNumber;
      continue;
    }
    chain.rules.push({
      lineNumber: line.lineNumber,
      line: text,
      ...(handle === undefined ? {} : { handle }),
      ...parseRule(text),
    });
  }
  for (const t of tables) t.managedByIptablesNft = managed.has(`${t.family} ${t.name}`);
  return { tables, notUnderstood };
}
