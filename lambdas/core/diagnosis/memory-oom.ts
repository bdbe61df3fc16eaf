/**
 * `resource-memory-oom`: the kernel's OOM killer ended the upstream. A kernel log keeps kills of every
 * process for weeks, so a kill explains a failure only when it fits in time (at or after the window's start,
 * shortly before the first failure or during the failures) and in identity (the upstream's pid, command,
 * systemd unit or cgroup). Every other kill stays in the report as context and never moves the verdict.
 */
import type { UpstreamConfig } from '../config.ts';
import type { HostFacts, OomKill } from '../diagnostics/host-facts.ts';
import type { FailureGroup } from '../nginx/error-log.ts';
import type { Finding } from '../types.ts';
import { type Cause, type Context, distance, hhmm, MAX_QUOTED_LINES } from './context.ts';

/** How sure gatewatch is that a kill hit the upstream. */
export type OomIdentity = 'pid' | 'unit' | 'name' | 'unknown' | 'other';

/**
 * How long before the first failure a kill may lie and still explain it, by identity: a kill of the
 * upstream's own pid or unit may precede the first failing request by a quiet spell; a kill that only
 * shares the command name (`node`), or of a process whose relation is unknown, must sit right before it
 * (a host runs many `node`s, and the kernel log keeps their kills for weeks).
 */
const LEAD_MS: Record<OomIdentity, number> = {
  pid: 15 * 60_000,
  unit: 15 * 60_000,
  name: 60_000,
  unknown: 60_000,
  other: -1,
};

/** A kill with the upstream's command name this close before the first failure is named as a possibility. */
const POSSIBLE_MS = 5 * 60_000;

/** A kill weighed against the failures it might explain. */
export interface WeighedKill {
  kill: OomKill;
  identity: OomIdentity;
  /** Whether it may be the cause; when not, {@link WeighedKill.reason} says why in the report's words. */
  explains: boolean;
  /**
   * Not the cause by itself, but it could be: the upstream's command name, inside the window, minutes
   * before the first failure. The report says so without making it the verdict.
   */
  possible?: boolean;
  reason: string;
}

/** The failures a kill is weighed against: first and last failure, the window, and the upstream's identity. */
export interface OomSubject {
  firstAt: string;
  lastAt: string;
  windowFrom: string;
  /** What the first failure was, for the context sentence: `the first refusal`. */
  firstWhat: string;
  hint?: UpstreamConfig['service'];
  service?: HostFacts['service'];
  /**
   * When the upstream answered in the window, from the access log (absent when no access log was read).
   * A kill known only by name or by nothing must fall between the upstream answering and failing.
   */
  answered?: { firstAt?: string; lastAt?: string };
}

/** Weighs each kill by when it happened and whom it hit. Pure. */
export function weighOomKills(kills: OomKill[], subject: OomSubject): WeighedKill[] {
  return kills.map((kill) => weighKill(kill, subject));
}

function weighKill(kill: OomKill, subject: OomSubject): WeighedKill {
  const identity = identityOf(kill, subject);
  const who = `${kill.pid !== undefined ? `pid ${kill.pid}` : 'a process'}${kill.process ? ` (${kill.process})` : ''}`;
  const notUpstream =
    identity === 'other'
      ? subject.service && subject.service.pids.length > 0
        ? `not the upstream's process (pids ${subject.service.pids.join(', ')})`
        : "not the upstream's process"
      : identity === 'unknown'
        ? 'whose relation to the upstream is not known'
        : "the upstream's process";
  const at = kill.at === undefined ? undefined : Date.parse(kill.at);
  if (at === undefined || Number.isNaN(at)) {
    const explains = identity === 'pid' || identity === 'unit';
    return {
      kill,
      identity,
      explains,
      reason: `an OOM kill of ${who} at an unknown time, ${notUpstream}`,
    };
  }
  const first = Date.parse(subject.firstAt);
  const last = Date.parse(subject.lastAt);
  const from = Date.parse(subject.windowFrom);
  const when = `at ${hhmm(kill.at!)}`;
  if (at < from) {
    return {
      kill,
      identity,
      explains: false,
      reason: `an OOM kill of ${who} ${when}, ${distance(first - at)} before ${subject.firstWhat} and before the window, ${notUpstream}`,
    };
  }
  if (at > last + 1000) {
    return {
      kill,
      identity,
      explains: false,
      reason: `an OOM kill of ${who} ${when}, after the last failure, ${notUpstream}`,
    };
  }
  if (identity === 'other') {
    return {
      kill,
      identity,
      explains: false,
      reason: `an OOM kill of ${who} ${when}, ${relative(at, first, subject.firstWhat)}, ${notUpstream}`,
    };
  }
  const weak = identity === 'name' || identity === 'unknown';
  const unlinked = weak ? weakLinkBroken(at, first, subject) : undefined;
  if (unlinked !== undefined) {
    return {
      kill,
      identity,
      explains: false,
      reason: `an OOM kill of ${who} ${when}, ${relative(at, first, subject.firstWhat)}, ${identity === 'name' ? "with the upstream's command name" : notUpstream}, but ${unlinked}`,
    };
  }
  const explains = at >= first - LEAD_MS[identity];
  const weighed: WeighedKill = {
    kill,
    identity,
    explains,
    reason: `an OOM kill of ${who} ${when}, ${relative(at, first, subject.firstWhat)}, ${identity === 'name' ? "with the upstream's command name" : notUpstream}`,
  };
  if (!explains && identity === 'name' && at >= first - POSSIBLE_MS) weighed.possible = true;
  return weighed;
}

/**
 * How far apart two clocks may put one moment: the kernel log's wall time is boot time plus a monotonic
 * clock and drifts from nginx's by seconds, nginx logs whole seconds, and the request the kill cut short
 * is logged when nginx notices, after the kill.
 */
const CLOCK_SLACK_MS = 5000;

/**
 * Why a kill known only by command name, or not at all, cannot be the upstream's end: it came after the
 * first failure (nginx had already lost the upstream), the upstream never answered in the window (nothing
 * shows it was alive to be killed), or it answered after the kill (it was not the process killed).
 */
function weakLinkBroken(at: number, first: number, subject: OomSubject): string | undefined {
  if (at > first + CLOCK_SLACK_MS) return `it came after ${subject.firstWhat}`;
  const answered = subject.answered;
  if (answered === undefined) return undefined;
  if (answered.firstAt === undefined)
    return 'the upstream never answered in the window (nothing shows it was alive then)';
  if (Date.parse(answered.firstAt) > at + CLOCK_SLACK_MS) return 'the upstream only answered after it';
  if (answered.lastAt !== undefined && Date.parse(answered.lastAt) > at + CLOCK_SLACK_MS) {
    return `the upstream still answered after it (last at ${hhmm(answered.lastAt)})`;
  }
  return undefined;
}

function relative(at: number, first: number, what: string): string {
  if (Math.abs(first - at) < 1000) return `as ${what} happened`;
  return at < first ? `${distance(first - at)} before ${what}` : `${distance(at - first)} after ${what}`;
}

/** Whom a kill hit, as far as the facts tell. */
function identityOf(kill: OomKill, subject: OomSubject): OomIdentity {
  const { hint, service } = subject;
  if (kill.pid !== undefined && service?.pids.includes(kill.pid)) return 'pid';
  if (hint && 'systemd' in hint && kill.cgroup !== undefined) {
    const unit = hint.systemd.endsWith('.service') ? hint.systemd : `${hint.systemd}.service`;
    return kill.cgroup.split('/').includes(unit) ? 'unit' : 'other';
  }
  if (!hint) return 'unknown';
  const names = hintNames(hint, service);
  if (kill.process !== undefined && names.some((name) => sameCommand(name, kill.process!))) return 'name';
  return 'other';
}

/** Command names the upstream's processes may carry (`comm` is cut at 15 characters). */
function hintNames(hint: NonNullable<UpstreamConfig['service']>, service: HostFacts['service']): string[] {
  const names: string[] = [];
  if ('process' in hint) {
    const first = hint.process.trim().split(/\s+/)[0] ?? '';
    names.push(first.split('/').pop() ?? first);
  }
  if ('systemd' in hint) names.push(hint.systemd.replace(/\.service$/, ''));
  if ('pm2' in hint) names.push(hint.pm2, 'node');
  if ('docker' in hint) names.push(hint.docker);
  if (service?.name) names.push(service.name);
  return names.filter((n) => n.length > 0);
}

function sameCommand(name: string, comm: string): boolean {
  return name === comm || (comm.length >= 15 && name.startsWith(comm));
}

/** The subject of the OOM weighing for one failure group. */
export function oomSubject(ctx: Context, group: FailureGroup, firstWhat: string): OomSubject {
  const hint = ctx.upstreamConfig(group.peer)?.service;
  const facts = ctx.factsFor(group.peer);
  const subject: OomSubject = {
    firstAt: group.firstAt,
    lastAt: group.lastAt,
    windowFrom: ctx.evidence.window.from,
    firstWhat,
  };
  if (hint) subject.hint = hint;
  if (hint && facts?.service) subject.service = facts.service;
  const traffic = ctx.evidence.traffic;
  // Only an access log that names upstreams (`$upstream_addr`) can tell when this one answered.
  if (traffic !== undefined && Object.keys(traffic.byUpstream).length > 0 && group.peer !== undefined) {
    const answered = traffic.byUpstream[group.peer];
    subject.answered = {};
    if (answered?.firstAnsweredAt !== undefined) subject.answered.firstAt = answered.firstAnsweredAt;
    if (answered?.lastAnsweredAt !== undefined) subject.answered.lastAt = answered.lastAnsweredAt;
  }
  return subject;
}

/**
 * Turns "down" or "closed early" into "killed by the OOM killer" when a kill fits the upstream in time
 * and identity; every other kill becomes an info finding that says why it is not the cause.
 */
export function withOom(
  ctx: Context,
  facts: HostFacts,
  group: FailureGroup,
  cause: Cause,
  consequence: string,
  firstWhat: string,
): Cause {
  if (facts.oomKills.length === 0) return cause;
  const weighed = weighOomKills(facts.oomKills, oomSubject(ctx, group, firstWhat));
  const explaining = weighed.filter((w) => w.explains);
  const context = weighed.filter((w) => !w.explains);
  if (explaining.length > 0) {
    const best = explaining.find((w) => w.identity === 'pid' || w.identity === 'unit') ?? explaining.at(-1)!;
    cause.findings.push({
      category: 'resource-memory-oom',
      severity: 'critical',
      title: `The kernel's OOM killer ended ${best.kill.process ?? `pid ${best.kill.pid}`}: ${best.reason}`,
      evidence: explaining.slice(-MAX_QUOTED_LINES).map((w) => ({
        source: 'kernel log (dmesg)',
        excerpt: w.kill.line,
        ...(w.kill.at ? { at: w.kill.at } : {}),
      })),
    });
    cause.rootCause = 'resource-memory-oom';
    cause.confidence =
      best.identity === 'pid' || best.identity === 'unit' ? 0.92 : best.identity === 'name' ? 0.85 : 0.65;
    cause.summary = `The upstream ${cause.peer ?? ''} was killed by the kernel's OOM killer (${best.kill.line.trim().slice(0, 160)}); nginx then ${consequence}.`;
    cause.nextSteps.unshift(
      'Give the upstream more memory or lower its usage (limits, leaks); `free -h` and `dmesg -T | grep -i "killed process"` on the host.',
    );
  }
  if (context.length > 0) cause.findings.push(oomContextFinding(context, facts.host, ctx.facts.length > 1));
  const possible = explaining.length === 0 ? context.filter((w) => w.possible).at(-1) : undefined;
  if (possible) {
    cause.confidence = Math.min(cause.confidence, 0.75);
    cause.summary += ` Possibly related: ${possible.reason}; too long before to be taken as the cause without its pid or unit.`;
  }
  return cause;
}

/** Kills that explain nothing, said as context so that a reader sees they were weighed. */
export function oomContextFinding(context: WeighedKill[], host: string, manyHosts: boolean): Finding {
  const shown = context.slice(-MAX_QUOTED_LINES);
  const more = context.length > shown.length ? ` (and ${context.length - shown.length} earlier)` : '';
  return {
    category: 'resource-memory-oom',
    severity: 'info',
    title: `Context, not the cause${manyHosts ? ` on ${host}` : ''}: ${shown.map((w) => w.reason).join('; ')}${more}`,
    evidence: shown.map((w) => ({
      source: 'kernel log (dmesg)',
      excerpt: w.kill.line,
      ...(w.kill.at ? { at: w.kill.at } : {}),
    })),
  };
}
