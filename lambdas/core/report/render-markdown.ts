/**
 * The incident report as Markdown (GitHub-flavoured), for a terminal, a pull request or an e-mail body.
 * Report text is escaped for where it lands: one-line text is backslash-escaped, table cells also keep
 * their line breaks as `<br>`, identifiers go in code spans, and evidence goes in fenced blocks whose
 * fence is longer than any backtick run in the evidence, so nothing from a log can end the block, open a
 * link or inject HTML.
 */
import type { Report } from '../types.ts';
import { escapeMarkdownCell, escapeMarkdownInline, markdownCodeBlock, markdownCodeSpan } from './escape.ts';
import { historyMarkdown } from './history.ts';
import {
  decisiveEvidence,
  evidenceText,
  formatConfidence,
  formatCount,
  formatMs,
  formatShare,
  incidentState,
  peak5xxMinute,
  proseSegments,
  rootCauseMeaning,
  severityOf,
  stateLine,
  statusList,
  statusRows,
  upstreamRows,
  verdictTone,
} from './view.ts';

const text = escapeMarkdownInline;
const code = markdownCodeSpan;

/** Prose gatewatch wrote: its backtick spans become code spans, the rest is escaped text. */
function prose(value: string): string {
  return proseSegments(value)
    .map((segment) => (segment.code ? code(segment.text) : text(segment.text)))
    .join('');
}

function cell(value: string): string {
  return escapeMarkdownCell(value) || ' ';
}

/** Quoted log or command output: redacted again, then fenced. */
function quote(value: string): string {
  return markdownCodeBlock(evidenceText(value));
}

function table(header: string[], align: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${align.join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

function evidenceLines(evidence: { source: string; excerpt: string; at?: string }): string[] {
  const at = evidence.at === undefined ? '' : ` · ${text(evidence.at)}`;
  return [`*${text(evidence.source)}*${at}`, '', quote(evidence.excerpt), ''];
}

/** The `remediation` section: proposal, rule, mode, approval, what ran, before/after, verified, escalated. */
function remediationMarkdown(report: Report): string[] {
  const r = report.remediation;
  if (r === undefined) return [];
  const out = ['## Remediation', ''];
  out.push(
    `- **Status:** ${code(r.status)}${r.escalated ? ' — **escalated**' : ''}`,
    `- **Why:** ${text(r.reason)}`,
  );
  out.push(`- **Mode:** ${code(r.mode)}${r.dryRun ? ' (dry run)' : ''}`);
  if (r.proposed) {
    out.push(
      `- **Proposed:** ${code(r.proposed.action)} on ${code(r.proposed.host)} by rule ${code(r.proposed.rule)} — ${text(r.proposed.because)}`,
      `- **Command:** ${code(r.proposed.command)}`,
    );
    if (r.proposed.approveCommand && (r.status === 'suggested' || r.status === 'awaiting-approval'))
      out.push(`- **Approve with:** ${code(r.proposed.approveCommand)}`);
  }
  if (r.approval) {
    const who = r.approval.by === undefined ? '' : ` by ${text(r.approval.by)}`;
    const when = r.approval.at === undefined ? '' : ` at ${text(r.approval.at)}`;
    const until = r.approval.expiresAt === undefined ? '' : ` (expires ${text(r.approval.expiresAt)})`;
    out.push(`- **Approval:** ${text(r.approval.status)}${who}${when}${until}`);
  }
  if (r.guardrail) out.push(`- **Guardrail:** ${code(r.guardrail)}`);
  if (r.verified !== undefined)
    out.push(`- **Verified:** ${r.verified ? 'yes, the target recovered' : 'no'}`);
  out.push('');
  if (r.ran) {
    out.push(
      `**Ran** ${text(r.ran.startedAt)} → ${text(r.ran.endedAt)}: ${code(r.ran.outcome)}${r.ran.exitCode === undefined ? '' : `, status ${r.ran.exitCode}`}`,
      '',
      quote([...r.ran.commands.map((c) => `$ ${c}`), r.ran.output].filter((l) => l !== '').join('\n')),
      '',
    );
  }
  const checks = [
    ...(r.before ? [{ ...r.before, when: 'before' }] : []),
    ...(r.after ?? []).map((c) => ({ ...c, when: 'after' })),
  ];
  if (checks.length > 0) {
    out.push(
      table(
        ['When', 'At', 'Probe', 'Upstream errors', 'Recovered'],
        ['---', '---', '---', '--:', '---'],
        checks.map((c) => [
          cell(c.when),
          cell(c.at),
          cell(c.probe),
          String(c.errorLines),
          c.ok ? 'yes' : 'no',
        ]),
      ),
      '',
    );
  }
  return out;
}

/**
 * Renders a report as Markdown: the title (target, verdict, severity, state), the one-line summary, the
 * verdict's facts, the decisive evidence, next steps as a checklist, findings with their evidence, what
 * was ruled out, traffic, the checks and the timeline.
 */
export function renderMarkdown(report: Report): string {
  const { verdict, traffic } = report;
  const tone = verdictTone(report);
  const state = incidentState(report);
  const out: string[] = [];

  const qualifier =
    tone === 'ok' ? '' : state === 'resolved' ? ` (resolved, was ${tone})` : ` (${tone}, ${state})`;
  out.push(`# ${text(report.target)}: ${text(verdict.rootCause)}${qualifier}`, '');
  out.push(`> **${prose(verdict.summary)}**`, '');
  out.push(
    `- **Root cause:** ${code(verdict.rootCause)} — ${text(rootCauseMeaning(verdict.rootCause))}`,
    `- **Upstream:** ${verdict.upstream === undefined ? 'not identified' : code(verdict.upstream)}`,
    `- **Confidence:** ${formatConfidence(verdict.confidence)}`,
    `- **State:** ${text(stateLine(report))}`,
    `- **Window:** ${text(report.window.from)} → ${text(report.window.to)}`,
    `- **Trigger:** ${text(report.trigger.kind)}${report.trigger.detail ? ` — ${text(report.trigger.detail)}` : ''}`,
    `- **Incident:** ${code(report.incidentId)}`,
    '',
  );

  const decisive = decisiveEvidence(report);
  if (decisive.finding !== undefined) {
    out.push('## Decisive evidence', '', `**${prose(decisive.finding.title)}**`, '');
    for (const evidence of decisive.shown) out.push(...evidenceLines(evidence));
    if (decisive.more > 0) out.push(`…and ${decisive.more} more under Findings.`, '');
  }

  out.push('## Next steps', '');
  if (report.nextSteps.length === 0) out.push('Nothing to do.', '');
  else out.push(...report.nextSteps.map((step) => `- [ ] ${prose(step)}`), '');

  out.push(...remediationMarkdown(report));

  out.push('## Findings', '');
  if (report.findings.length === 0) out.push('No findings.', '');
  report.findings.forEach((finding, index) => {
    const severity = severityOf(finding.severity) ?? 'unknown severity';
    out.push(
      `### ${index + 1}. ${severity.toUpperCase()}: ${prose(finding.title)}`,
      '',
      `Category: ${code(finding.category)} — ${text(rootCauseMeaning(finding.category))}`,
      '',
    );
    if (finding.evidence.length === 0) out.push('No evidence recorded.', '');
    for (const evidence of finding.evidence) out.push(...evidenceLines(evidence));
  });

  out.push('## Ruled out', '');
  if (report.ruledOut.length === 0) out.push('Nothing was ruled out.', '');
  else out.push(...report.ruledOut.map((item) => `- ${prose(item)}`), '');

  out.push('## Traffic', '');
  const window =
    traffic.firstAt !== undefined && traffic.lastAt !== undefined
      ? `, ${text(traffic.firstAt)} → ${text(traffic.lastAt)}`
      : '';
  out.push(
    `${formatCount(traffic.requests)} requests, ${formatCount(traffic.status5xx)} answered 5xx ` +
      `(${formatShare(traffic.status5xx, traffic.requests)})${window}. ` +
      `Access log format: ${text(traffic.format)}; unreadable lines skipped: ${formatCount(traffic.malformed)}.`,
    '',
  );
  const peak = peak5xxMinute(traffic.perMinute);
  if (peak !== undefined) {
    out.push(
      `Worst minute: ${text(peak.minute)}, ${formatCount(peak.status5xx)} of ${formatCount(peak.requests)} ` +
        `requests answered 5xx (502: ${formatCount(peak.status502)}, 504: ${formatCount(peak.status504)}).`,
      '',
    );
  }
  const statuses = statusRows(traffic.byStatus);
  if (statuses.length > 0) {
    out.push(
      table(
        ['Status', 'Requests'],
        ['---', '--:'],
        statuses.map(([status, count]) => [cell(status), formatCount(count)]),
      ),
      '',
    );
  }
  const upstreams = upstreamRows(traffic.byUpstream);
  if (upstreams.length > 0) {
    out.push(
      table(
        ['Upstream', 'Requests', 'Failures', 'By status', 'Slowest'],
        ['---', '--:', '--:', '---', '--:'],
        upstreams.map(([upstream, stats]) => [
          cell(upstream),
          formatCount(stats.requests),
          formatCount(stats.failures),
          cell(statusList(stats.byStatus)),
          stats.maxResponseTime === undefined ? ' ' : formatMs(stats.maxResponseTime * 1000),
        ]),
      ),
      '',
    );
  }
  if (traffic.samples.length > 0) {
    out.push('Failing requests (newest last):', '', quote(traffic.samples.join('\n')), '');
  }

  out.push('## Checks', '');
  if (report.checks.length === 0) out.push('No checks ran.', '');
  else {
    out.push(
      table(
        ['Check', 'Status', 'Duration', 'Detail'],
        ['---', '---', '--:', '---'],
        report.checks.map((check) => [
          cell(check.name),
          cell(check.status),
          formatMs(check.durationMs),
          check.detail === undefined ? ' ' : cell(check.detail),
        ]),
      ),
      '',
    );
  }

  out.push(...historyMarkdown(report));
  out.push('## Timeline', '');
  if (report.timeline.length === 0) out.push('No events recorded.', '');
  else {
    out.push(
      table(
        ['Time', 'Event'],
        ['---', '---'],
        report.timeline.map((entry) => [cell(entry.at), cell(entry.event)]),
      ),
      '',
    );
  }

  const notifications = report.notifications ?? [];
  if (notifications.length > 0) {
    out.push('## Notifications', '');
    out.push(
      table(
        ['Time', 'Event', 'Channel', 'Status', 'Attempts', 'Detail'],
        ['---', '---', '---', '---', '--:', '---'],
        notifications.map((n) => [
          cell(n.at),
          cell(n.event),
          cell(n.channel),
          cell(n.status),
          formatCount(n.attempts),
          cell(n.error ?? n.detail ?? ''),
        ]),
      ),
      '',
    );
  }

  out.push(
    '---',
    '',
    `gatewatch incident report, schema ${formatCount(report.schemaVersion)}, opened ${text(report.openedAt)}.`,
    '',
  );
  return out.join('\n');
}
