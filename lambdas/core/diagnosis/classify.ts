/**
 * From the evidence to a verdict: which root cause, which upstream, how sure, what it rests on, what
 * was ruled out and what to do next. Each cause (or family) lives in its own module and weighs its own
 * evidence; this file is the table that orders them and the rules that choose among the failures: what
 * fails now weighs more than what stopped, and each failing upstream gets its own finding.
 */
import { parseNginxDuration } from '../nginx/config.ts';
import type { FailureGroup } from '../nginx/error-log.ts';
import { redactText } from '../redact.ts';
import type { CheckSummary, Finding, UpstreamFailureKind, Verdict } from '../types.ts';
import { type Cause, Context, hhmmss, isSymptom, lineEvidence, unique } from './context.ts';
import { coverageFindings, noFailureCause } from './coverage.ts';
import { withDiskStory } from './disk-full.ts';
import type { DiagnosisEvidence, HostEvidence } from './evidence.ts';
import { explainedFinding } from './explained.ts';
import { blockedPathExplains, pathCause } from './network-path.ts';
import { configInvalidCause, configTestCouldNotRun, nginxTestOutcome } from './nginx-config.ts';
import { filePermissionCause, ownDiskFullCause, workerConnectionsCause } from './nginx-own.ts';
import { noLiveUpstreamsCause, withNoLiveUpstreams } from './no-live-upstreams.ts';
import { namedByTheLineCause } from './other-causes.ts';
import { resourceFindings, resourcesRuledOut } from './resources.ts';
import { socketMissingCause, socketPermissionCause } from './unix-socket.ts';
import { closedEarlyCause } from './upstream-closed-early.ts';
import { refusedCause } from './upstream-down.ts';
import { accessLogOnlyCause } from './upstream-error-response.ts';
import { headerTooBigCause, invalidResponseCause, tlsCause } from './upstream-response.ts';
import { timeoutCause } from './upstream-timeout.ts';

export interface Classification {
  verdict: Verdict;
  findings: Finding[];
  ruledOut: string[];
  nextSteps: string[];
  checks: CheckSummary[];
}

type CauseModule = (ctx: Context, group: FailureGroup) => Cause;

/** Which module explains each kind of failure nginx logs. */
const CAUSES: Record<UpstreamFailureKind, CauseModule> = {
  refused: refusedCause,
  'read-timeout': timeoutCause,
  'send-timeout': timeoutCause,
  'connect-timeout': pathCause,
  unreachable: pathCause,
  'closed-early': closedEarlyCause,
  'invalid-response': invalidResponseCause,
  'header-too-big': headerTooBigCause,
  tls: tlsCause,
  'socket-missing': socketMissingCause,
  'socket-permission': socketPermissionCause,
  'no-live-upstreams': noLiveUpstreamsCause,
  'server-disabled': noLiveUpstreamsCause,
  'worker-connections': workerConnectionsCause,
  'file-permission': filePermissionCause,
  'disk-full': ownDiskFullCause,
  dns: namedByTheLineCause,
  'tcp-permission': namedByTheLineCause,
  overloaded: namedByTheLineCause,
  'fd-exhausted': namedByTheLineCause,
  'port-exhaustion': namedByTheLineCause,
  rejected: namedByTheLineCause,
};

/** A failure class whose last line is this much older than the newest failure has stopped. */
const STOPPED_MS = 2 * 60_000;

/** Classifies the evidence of one diagnosis. Pure and deterministic. */
export function classify(evidence: DiagnosisEvidence): Classification {
  const checks = summarizeChecks(evidence);
  const ctx = new Context(evidence);
  const outcome = nginxTestOutcome(ctx);
  const cause = primaryCause(ctx);
  if (outcome === 'could-not-run') {
    const cannot = configTestCouldNotRun(ctx);
    cause.findings.push(cannot.finding);
    cause.nextSteps.push(cannot.nextStep);
  }
  const coverage = coverageFindings(ctx, cause);
  const explained = ctx.groups.length > 0 ? explainedFinding(ctx, cause.rootCause) : undefined;
  const findings = [
    ...cause.findings,
    ...(explained ? [explained] : []),
    ...resourceFindings(ctx, cause),
    ...coverage,
    ...stepFindings(ctx),
  ];
  const nextSteps = unique([...cause.nextSteps, ...coverageNextSteps(ctx)]);
  const ruledOut = unique([...cause.ruledOut, ...resourcesRuledOut(ctx, cause, outcome === 'passed')]);
  const verdict: Verdict = {
    rootCause: cause.rootCause,
    confidence: round(cause.confidence),
    summary: cause.summary,
  };
  if (cause.peer !== undefined) verdict.upstream = cause.peer;
  return { verdict, findings: dedupeFindings(findings), ruledOut, nextSteps, checks };
}

function primaryCause(ctx: Context): Cause {
  const configInvalid = nginxTestOutcome(ctx) === 'invalid';
  const { leading, current, stopped } = rankGroups(ctx);

  if (!leading) {
    if (configInvalid) return configInvalidCause(ctx, 'verdict');
    if (stopped.length > 0) return recoveredCause(ctx, stopped);
    return accessLogOnlyCause(ctx) ?? noFailureCause(ctx);
  }

  const cause = withNoLiveUpstreams(ctx, withDiskStory(ctx, causeForGroup(ctx, leading)));
  if (configInvalid) {
    const extra = configInvalidCause(ctx, 'finding');
    cause.findings.push(...extra.findings);
    cause.nextSteps.push(...extra.nextSteps);
  }
  // Other upstreams failing now, differently: each is a finding of its own, with its own next steps.
  const also: string[] = [];
  for (const other of current) {
    if (other === leading) continue;
    if (other.peer === leading.peer && other.rootCause === leading.rootCause) continue;
    const sub = other.peer !== leading.peer ? withDiskStory(ctx, causeForGroup(ctx, other)) : undefined;
    const rootCause = sub?.rootCause ?? other.rootCause;
    cause.findings.push({
      category: rootCause,
      severity: 'critical',
      title: `Also failing now: ${other.peer ?? 'an upstream'}, ${rootCause} (${other.count}× until ${hhmmss(other.lastAt)})${sub ? `: ${sub.summary.slice(0, 300)}` : ''}`,
      evidence: [lineEvidence(ctx, other.example)],
    });
    if (sub) {
      also.push(`${other.peer} (${rootCause}, ${other.count}×)`);
      for (const step of sub.nextSteps.slice(0, 2)) cause.nextSteps.push(`For ${other.peer}: ${step}`);
    }
  }
  if (also.length > 0) cause.summary += ` Also failing now: ${also.join(', ')}.`;
  // nginx retried on another server of the group: the failure is real, but no client saw it.
  const traffic = ctx.evidence.traffic;
  if (traffic && traffic.requests > 0 && traffic.status5xx === 0) {
    cause.confidence = Math.min(cause.confidence, 0.6);
    cause.summary += ` No client saw an error: 0 of ${traffic.requests} requests in the access log failed (nginx passed them to another server or retried).`;
  }
  for (const old of stopped) {
    cause.findings.push({
      category: old.rootCause,
      severity: 'info',
      title: `Stopped${recoveredSince(ctx, old)}: ${old.rootCause} for ${old.peer ?? 'an upstream'} (${old.count}× between ${hhmmss(old.firstAt)} and ${hhmmss(old.lastAt)}), not what fails now`,
      evidence: [lineEvidence(ctx, old.example)],
    });
  }
  return cause;
}

/**
 * Orders the failure classes by what hurts now: classes still failing (their last line within
 * {@link STOPPED_MS} of the newest failure, and not followed by another class of the same upstream)
 * before classes that stopped, then by count. Symptoms are
 * chosen only when no cause is in the window.
 */
function rankGroups(ctx: Context): {
  leading?: FailureGroup;
  current: FailureGroup[];
  stopped: FailureGroup[];
} {
  const causes = ctx.groups.filter((g) => !isSymptom(g));
  if (causes.length === 0) {
    const symptom = ctx.groups[0];
    return symptom ? { leading: symptom, current: [], stopped: [] } : { current: [], stopped: [] };
  }
  const newest = Math.max(...causes.map((g) => Date.parse(g.lastAt)));
  // Stopped: quiet for a while before the newest failure, or ended before the requests of another class
  // of the same upstream began (refusals while a service restarted, then its timeouts). A timeout line is
  // written when the timeout fires: its request began that long before, maybe with the other class's.
  const superseded = (g: FailureGroup) =>
    causes.some(
      (h) => h !== g && h.peer === g.peer && Date.parse(h.firstAt) - timeoutMs(ctx, h) > Date.parse(g.lastAt),
    );
  const isCurrent = (g: FailureGroup) =>
    Date.parse(g.lastAt) >= newest - STOPPED_MS && !superseded(g) && recovery(ctx, g) === undefined;
  // Stable: among classes still failing, the collector's order (count, then recency) holds.
  const current = causes.filter(isCurrent);
  const stopped = causes.filter((g) => !isCurrent(g));
  return { leading: current[0], current, stopped };
}

/** How long before its line a timed-out request began: the timeout nginx applies to that upstream. */
function timeoutMs(ctx: Context, group: FailureGroup): number {
  const suffix = {
    'read-timeout': 'read_timeout',
    'send-timeout': 'send_timeout',
    'connect-timeout': 'connect_timeout',
  }[group.kind as 'read-timeout' | 'send-timeout' | 'connect-timeout'];
  if (suffix === undefined) return 0;
  const pass = ctx.passes(group.peer)[0];
  const setting = pass?.settings[`${pass.directive.replace(/_pass$/, '')}_${suffix}`];
  // Without the configuration the line's own time is all there is.
  return (setting ? parseNginxDuration(setting.value) : undefined) ?? 0;
}

/** Successful requests after a contiguous outage that make its upstream "recovered". */
const RECOVERED_AFTER = 3;

/**
 * The upstream of a failure class came back: every request to it between its first and last failure
 * failed (a contiguous outage, not an intermittent fault such as a keep-alive race), its last successful
 * answer is newer than both the class's last error line and its last failed request (nginx's own clock,
 * whole seconds: the same second is not "after"), and at least {@link RECOVERED_AFTER} requests
 * succeeded since.
 */
function recovery(ctx: Context, group: FailureGroup): { ok: number; lastAt: string } | undefined {
  const upstream = group.peer === undefined ? undefined : ctx.evidence.traffic?.byUpstream[group.peer];
  if (upstream?.lastAnsweredAt === undefined || upstream.lastFailedAt === undefined) return undefined;
  const ok = upstream.okAfterLastFailure ?? 0;
  if ((upstream.okBetweenFailures ?? 0) > 0 || ok < RECOVERED_AFTER) return undefined;
  const answered = Date.parse(upstream.lastAnsweredAt);
  if (answered <= Date.parse(group.lastAt) || answered <= Date.parse(upstream.lastFailedAt)) return undefined;
  return { ok, lastAt: upstream.lastAnsweredAt };
}

/**
 * Every failure class of the window stopped, the newest because its upstream came back: the target is
 * healthy now, and the report says what it was, with that cause's evidence and steps for the
 * post-mortem — never as the verdict, and no repair (nothing is broken).
 */
function recoveredCause(ctx: Context, stopped: readonly FailureGroup[]): Cause {
  const newestFirst = [...stopped].sort((a, b) => Date.parse(b.lastAt) - Date.parse(a.lastAt));
  const main = newestFirst.find((g) => recovery(ctx, g) !== undefined) ?? newestFirst[0]!;
  const back = recovery(ctx, main);
  const was = withDiskStory(ctx, causeForGroup(ctx, main));
  const span = `${main.count}× between ${hhmmss(main.firstAt)} and ${hhmmss(main.lastAt)}`;
  const since = back
    ? `${main.peer} has answered ${back.ok} requests since, the last at ${hhmmss(back.lastAt)}`
    : 'it has not failed since';
  const findings: Finding[] = [
    {
      category: was.rootCause,
      severity: 'warning',
      title: `Recovered: ${was.rootCause} for ${main.peer ?? 'an upstream'} (${span}); ${since}`,
      evidence: was.findings[0]?.evidence ?? [lineEvidence(ctx, main.example)],
    },
    ...newestFirst
      .filter((g) => g !== main)
      .map(
        (old): Finding => ({
          category: old.rootCause,
          severity: 'info',
          title: `Stopped${recoveredSince(ctx, old)}: ${old.rootCause} for ${old.peer ?? 'an upstream'} (${old.count}× between ${hhmmss(old.firstAt)} and ${hhmmss(old.lastAt)}), not what fails now`,
          evidence: [lineEvidence(ctx, old.example)],
        }),
      ),
  ];
  return {
    rootCause: 'healthy',
    peer: undefined,
    confidence: 0.7,
    summary: `Recovered: nothing fails now. ${main.peer ?? 'An upstream'} failed with ${was.rootCause} (${span}) and ${since}. What it was: ${was.summary}`,
    findings,
    nextSteps: [
      'Nothing to repair now. To keep it from happening again, find out why it failed:',
      ...was.nextSteps.slice(0, 3),
    ],
    ruledOut: [],
  };
}

/** ` and recovered: N requests to the upstream answered since` when the access log shows successes after it. */
function recoveredSince(ctx: Context, group: FailureGroup): string {
  const traffic = ctx.evidence.traffic;
  if (!traffic?.lastAt || group.peer === undefined) return '';
  const upstream = traffic.byUpstream[group.peer];
  const ok = upstream ? upstream.requests - upstream.failures : 0;
  if (Date.parse(traffic.lastAt) <= Date.parse(group.lastAt) || ok <= 0) return '';
  return ` and recovered (${group.peer} answered ${ok} requests without 5xx in the window)`;
}

function causeForGroup(ctx: Context, group: FailureGroup): Cause {
  if (blockedPathExplains(ctx, group)) return pathCause(ctx, group);
  return CAUSES[group.kind](ctx, group);
}

/** Steps and hosts that could not be looked at are said, not hidden. */
function stepFindings(ctx: Context): Finding[] {
  const out: Finding[] = [];
  for (const failure of ctx.evidence.stepFailures) {
    out.push({
      category: 'unknown',
      severity: 'warning',
      title: `Step ${failure.step} failed: ${failure.error}`,
      evidence: failure.cause
        ? [{ source: failure.step, excerpt: redactText(failure.cause.slice(0, 2000)) }]
        : [],
    });
  }
  for (const host of ctx.evidence.hosts) {
    if (host.status !== 'done') {
      out.push({
        category: 'unknown',
        severity: 'warning',
        title: `Host ${host.host}: diagnostics ${host.status === 'timed-out' ? 'timed out' : 'failed'}`,
        evidence: host.error ? [{ source: 'diagnostics', excerpt: redactText(host.error) }] : [],
      });
    }
  }
  const notes = ctx.evidence.network?.notes ?? [];
  if (notes.length > 0) {
    out.push({
      category: 'unknown',
      severity: 'info',
      title: 'Network path: what could not be established',
      evidence: [{ source: 'network path check', excerpt: notes.join('\n') }],
    });
  }
  if (ctx.evidence.nginxConfigError) {
    out.push({
      category: 'unknown',
      severity: 'info',
      title: 'The nginx configuration could not be read; directives are not quoted',
      evidence: [{ source: 'nginx -T', excerpt: redactText(ctx.evidence.nginxConfigError) }],
    });
  }
  return out;
}

function coverageNextSteps(ctx: Context): string[] {
  if (ctx.evidence.logsOnly) {
    return [
      'This diagnosis read the logs only (--logs-only): run it on the hosts to confirm with live checks.',
    ];
  }
  return [];
}

function summarizeChecks(evidence: DiagnosisEvidence): CheckSummary[] {
  const many = evidence.hosts.length > 1;
  const out: CheckSummary[] = [];
  for (const host of evidence.hosts) {
    for (const check of host.facts?.checks ?? []) {
      const summary: CheckSummary = {
        name: many ? `${host.host}: ${check.name}` : check.name,
        status: check.status,
        durationMs: check.durationMs,
      };
      if (check.detail) summary.detail = redactText(check.detail);
      out.push(summary);
    }
  }
  return out;
}

function round(value: number): number {
  return Math.round(Math.max(0, Math.min(1, value)) * 100) / 100;
}

function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.category}|${f.title}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Host evidence in the order the classifier reads it: the nginx host first. */
export function orderHosts(hosts: HostEvidence[], nginxHost: string): HostEvidence[] {
  return [...hosts].sort((a, b) => Number(b.host === nginxHost) - Number(a.host === nginxHost));
}
