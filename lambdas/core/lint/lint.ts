/**
 * `gatewatch lint`: the settings that make 502/504 likely, before they happen; and, at incident time, the
 * ones that explain the verdict ("this setting made it likely"). Pure: the caller supplies `nginx -T`
 * parsed, the application servers' command lines and what the logs showed.
 */
import { type HostFacts, listenerFor } from '../diagnostics/host-facts.ts';
import type { NginxConfig } from '../nginx/config.ts';
import type { RootCause } from '../root-causes.ts';
import type { Evidence, Finding } from '../types.ts';
import { type AppServerSettings, appServerSettings } from './app-settings.ts';
import {
  LINT_RULES,
  LINT_SEVERITIES,
  type LintFinding,
  type LintInput,
  type LintRuleId,
  type LintSeverity,
  RULES,
} from './rules.ts';

export type { LintFinding, LintInput, LintRuleId, LintSeverity } from './rules.ts';
export { LINT_RULES, LINT_SEVERITIES } from './rules.ts';

/** Every finding of every rule, errors first, then by file and line. Deterministic. */
export function lintNginx(input: LintInput): LintFinding[] {
  const findings = (Object.keys(RULES) as LintRuleId[]).flatMap((rule) => RULES[rule](input));
  const order = Object.keys(RULES);
  return findings.sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      order.indexOf(a.rule) - order.indexOf(b.rule) ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0),
  );
}

function rank(severity: LintSeverity): number {
  return LINT_SEVERITIES.indexOf(severity);
}

/** Findings at or above a severity: what `--fail-on` counts. */
export function atOrAbove(findings: readonly LintFinding[], severity: LintSeverity): LintFinding[] {
  return findings.filter((f) => rank(f.severity) <= rank(severity));
}

/**
 * The lint findings that explain a verdict: the rule makes that root cause likely, for the verdict's
 * upstream (a peer of the finding, or its group). With no upstream in the verdict, the root cause alone.
 */
export function findingsExplaining(
  findings: readonly LintFinding[],
  verdict: { rootCause: RootCause; upstream?: string },
): LintFinding[] {
  return findings.filter((f) => {
    if (!f.explains.includes(verdict.rootCause)) return false;
    if (verdict.upstream === undefined) return true;
    const upstream = verdict.upstream.toLowerCase();
    return (
      f.peers.some((p) => p.toLowerCase() === upstream) ||
      (f.upstream !== undefined && f.upstream.toLowerCase() === upstream) ||
      f.peers.length === 0
    );
  });
}

/** A lint finding as a report finding: "This setting made it likely: …", with the setting quoted. */
export function asReportFinding(finding: LintFinding, category: RootCause): Finding {
  const place = finding.file === undefined ? '' : ` (${finding.file}:${finding.line ?? 1})`;
  const evidence: Evidence[] = finding.evidence.map((excerpt) => ({ source: 'gatewatch lint', excerpt }));
  if (evidence.length === 0) evidence.push({ source: 'gatewatch lint', excerpt: `${finding.rule}${place}` });
  return {
    category,
    severity: 'warning',
    title: `This setting made it likely: ${finding.title}${place}`,
    evidence,
  };
}

/** Plain text for a terminal: one block per finding, then a count per severity. */
export function formatLint(findings: readonly LintFinding[]): string {
  if (findings.length === 0)
    return 'no finding: none of the settings gatewatch checks makes a 502/504 likely\n';
  const blocks = findings.map((f) => {
    const place = f.file === undefined ? '' : `${f.file}:${f.line ?? 1}  `;
    return [
      `${f.severity.toUpperCase().padEnd(7)} ${f.rule}  ${place}`.trimEnd(),
      `        ${f.title}`,
      `        why: ${f.detail}`,
      `        fix: ${f.fix}`,
    ].join('\n');
  });
  const counts = LINT_SEVERITIES.map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`).join(
    ', ',
  );
  return `${blocks.join('\n\n')}\n\n${findings.length} finding${findings.length === 1 ? '' : 's'}: ${counts}\n`;
}

/** The rule table as the README documents it. */
export function ruleTable(): { rule: LintRuleId; checks: string }[] {
  return (Object.keys(LINT_RULES) as LintRuleId[]).map((rule) => ({ rule, checks: LINT_RULES[rule] }));
}

/** What an incident's evidence tells the rules: the slowest responses, the too-big headers, the apps seen. */
export function observedIn(evidence: {
  traffic?: { byUpstream: Record<string, { maxResponseTime?: number }> };
  errorLog?: { groups: { kind: string; peer: string | undefined }[] };
  hosts?: { facts?: HostFacts }[];
}): Pick<LintInput, 'maxResponseSeconds' | 'tooBigHeader'> {
  const maxResponseSeconds: Record<string, number> = {};
  for (const [peer, stats] of Object.entries(evidence.traffic?.byUpstream ?? {})) {
    if (stats.maxResponseTime !== undefined) maxResponseSeconds[peer] = stats.maxResponseTime;
  }
  const tooBigHeader = [
    ...new Set(
      (evidence.errorLog?.groups ?? [])
        .filter((g) => g.kind === 'header-too-big' && g.peer !== undefined)
        .map((g) => g.peer!),
    ),
  ];
  return { maxResponseSeconds, tooBigHeader };
}

/**
 * At incident time: the lint findings that made this verdict likely, as report findings and next steps
 * (each finding's fix). Empty when nginx's configuration could not be read or nothing explains the verdict.
 */
/**
 * The application server behind each peer, as far as the diagnostics tell: they name the process behind a
 * listener (`ss -tlnp`), not its command line, which is enough to know the server and its defaults.
 */
function appsBehind(
  config: NginxConfig,
  hosts: readonly { facts?: HostFacts }[],
): Record<string, AppServerSettings> {
  const apps: Record<string, AppServerSettings> = {};
  for (const peer of new Set(config.passes.flatMap((p) => p.peers))) {
    for (const host of hosts) {
      const listener = host.facts ? listenerFor(host.facts, peer) : undefined;
      const app = listener?.processes.map((name) => appServerSettings([name])).find((a) => a !== undefined);
      if (app) {
        apps[peer] = app;
        break;
      }
    }
  }
  return apps;
}

export function lintExplanations(
  config: NginxConfig | undefined,
  evidence: Parameters<typeof observedIn>[0] & { hosts?: readonly { facts?: HostFacts }[] },
  verdict: { rootCause: RootCause; upstream?: string },
): { findings: Finding[]; nextSteps: string[] } {
  if (config === undefined || verdict.rootCause === 'healthy') return { findings: [], nextSteps: [] };
  const apps = appsBehind(config, evidence.hosts ?? []);
  const explaining = findingsExplaining(lintNginx({ config, apps, ...observedIn(evidence) }), verdict);
  return {
    findings: explaining.map((f) => asReportFinding(f, verdict.rootCause)),
    nextSteps: explaining.map((f) => f.fix),
  };
}
