/**
 * The incident report as one self-contained HTML page: inline CSS, an inline SVG chart, no script, no
 * external resource, and a Content-Security-Policy that forbids anything else, so the page can be opened
 * from S3, a mail attachment or a laptop and still shows the same thing. All markup is written with the
 * {@link html} template, which escapes every interpolated value: report data can never become a tag or
 * an attribute. Data is only ever element text; attribute values and class names come from fixed tables.
 */
import type { CheckStatus, Evidence, Finding, Report } from '../types.ts';
import { renderTrafficChart } from './chart.ts';
import { type HtmlValue, html, type SafeHtml, trustedHtml } from './escape.ts';
import { historyHtml } from './history.ts';
import {
  clipWords,
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
  type Tone,
  TRIGGER_PREVIEW_CHARACTERS,
  upstreamRows,
  verdictTone,
} from './view.ts';

/**
 * The page's policy: nothing may load or run; only the inline stylesheet and `data:` images apply. There is
 * no `script-src`, so `default-src 'none'` forbids every script. Written verbatim into a double-quoted
 * attribute, so it must never contain `"`.
 */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const TONE_CLASS: Record<Tone, string> = {
  critical: 'tone-critical',
  warning: 'tone-warning',
  info: 'tone-info',
  ok: 'tone-ok',
};

const TONE_LABEL: Record<Tone, string> = {
  critical: 'Critical',
  warning: 'Warning',
  info: 'Info',
  ok: 'Healthy',
};

const CHECK_CLASS: Record<CheckStatus, string> = {
  ok: 'st-ok',
  failed: 'st-failed',
  error: 'st-error',
  skipped: 'st-skipped',
};

// Light by default, dark when the reader's system is; the banner colours keep 4.5:1 contrast in both.
const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;
--crit:#b42318;--crit-bg:#fdecea;--warn:#8a5300;--warn-bg:#fff4d4;--info:#0a58a8;--info-bg:#e7f0fb;
--ok:#1a7f37;--ok-bg:#e7f6ea;--req:#8796ad;--err:#d1242f}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9ea8b3;--line:#3d444d;
--panel:#151b23;--crit:#ff8a80;--crit-bg:#3b1416;--warn:#f0c050;--warn-bg:#33270a;--info:#84c1ff;
--info-bg:#0f2a47;--ok:#6fdd8b;--ok-bg:#0f2e19;--req:#67768c;--err:#ff6b61}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere}
.page{max-width:1080px;margin:0 auto;padding:16px}
h1,h2,h3{line-height:1.25}
h1{font-size:1.7rem;margin:.1em 0 .2em}
h2{font-size:1.25rem;margin:1.6em 0 .6em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.2em 0 .4em}
a{color:var(--info)}
.banner{--tone:var(--info);--tone-bg:var(--info-bg);border-left:10px solid var(--tone);background:var(--tone-bg);border-radius:8px;padding:14px 18px}
.tone-critical{--tone:var(--crit);--tone-bg:var(--crit-bg)}
.tone-warning{--tone:var(--warn);--tone-bg:var(--warn-bg)}
.tone-info{--tone:var(--info);--tone-bg:var(--info-bg)}
.tone-ok,.tone-resolved{--tone:var(--ok);--tone-bg:var(--ok-bg)}
.pill.was{border-color:var(--muted);color:var(--muted);font-weight:600}
details.full summary{cursor:pointer;color:var(--info)}
.kicker{margin:0;color:var(--muted);font-size:.9rem}
.pill{display:inline-block;border-radius:999px;padding:0 .6em;font-size:.8rem;font-weight:700;letter-spacing:.03em;text-transform:uppercase;border:2px solid var(--tone);color:var(--tone)}
.pill.state{border-color:var(--muted);color:var(--muted)}
.meaning{margin:0;color:var(--muted)}
.summary{font-size:1.3rem;font-weight:650;margin:.5em 0}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:.6em 0 0}
.facts dt{color:var(--muted)}
.facts dd{margin:0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code{font-size:.92em}
pre{margin:0;padding:10px 12px;background:var(--panel);border:1px solid var(--line);border-radius:6px;font-size:13px;line-height:1.45;white-space:pre-wrap;overflow-wrap:anywhere;word-break:normal;max-width:100%;tab-size:4}
figure{margin:0 0 12px}
figcaption{font-size:.85rem;color:var(--muted);margin-bottom:4px}
nav{margin:12px 0 0;font-size:.9rem}
nav a{margin-right:12px;white-space:nowrap}
.finding{border:1px solid var(--line);border-radius:8px;padding:4px 14px 8px;margin-bottom:12px}
.sev{font-size:.75rem;font-weight:700;text-transform:uppercase;border-radius:4px;padding:1px 6px;margin-right:6px;vertical-align:2px;color:var(--bg);background:var(--muted)}
.sev-critical{background:var(--crit)}.sev-warning{background:var(--warn)}.sev-info{background:var(--info)}
.steps{padding-left:0;list-style:none}
.steps li{margin:6px 0}
.steps label{display:flex;gap:10px;align-items:flex-start}
.steps input{margin-top:.3em;width:1.15em;height:1.15em;flex:none}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line);overflow-wrap:break-word;word-break:normal;hyphens:none}
th{color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st{font-weight:700}.st-ok{color:var(--ok)}.st-failed,.st-error{color:var(--crit)}.st-skipped{color:var(--muted)}
.numbers{display:flex;flex-wrap:wrap;gap:8px 28px;margin:0 0 12px}
.numbers div{display:flex;flex-direction:column}
.numbers b{font-size:1.5rem;font-variant-numeric:tabular-nums}
.numbers span{color:var(--muted);font-size:.85rem}
.chart svg{width:100%;max-width:640px;height:auto;display:block;color:var(--fg)}
.chart .req{fill:var(--req)}.chart .err{fill:var(--err)}
.timeline{list-style:none;padding:0}
.timeline li{display:grid;grid-template-columns:minmax(0,15em) 1fr;gap:12px;padding:4px 0;border-bottom:1px solid var(--line)}
.timeline time{color:var(--muted);font-variant-numeric:tabular-nums}
td time{white-space:nowrap}
.muted{color:var(--muted)}
.detail{white-space:pre-wrap}
.cols{display:grid;grid-template-columns:1fr;gap:0 28px}
footer{margin-top:28px;color:var(--muted);font-size:.85rem}
@media (min-width:700px){.cols{grid-template-columns:1fr 1fr}.page{padding:24px}}
@media (max-width:699px){.facts,.timeline li{grid-template-columns:1fr}.summary{font-size:1.15rem}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack thead{display:none}
table.stack tr{border-bottom:1px solid var(--line);padding:4px 0}
table.stack td{border:0;padding:2px 0;text-align:left;white-space:normal}
table.stack td::before{content:attr(data-label);display:inline-block;min-width:7.5em;color:var(--muted);font-weight:600}}
@media print{nav,.steps input{display:none}pre{white-space:pre-wrap}}
`
  .trim()
  .replace(/\n/g, '');

/** Prose gatewatch wrote, its backtick spans shown as `<code>` (Markdown shows them as code spans too). */
export function proseHtml(text: string): SafeHtml {
  return html`${proseSegments(text).map((segment) => (segment.code ? html`<code>${segment.text}</code>` : html`${segment.text}`))}`;
}

/** A table cell for the stacked phone layout: `label` (a fixed header name) shows before the value there. */
function td(label: string, value: HtmlValue, numeric = false): SafeHtml {
  return html`<td data-label="${label}"${numeric && trustedHtml(' class="n"')}>${value}</td>`;
}

function evidenceFigure(evidence: Evidence): SafeHtml {
  return html`<figure class="evidence"><figcaption><strong>${evidence.source}</strong>${
    evidence.at !== undefined && html` · ${timeTag(evidence.at)}`
  }</figcaption><pre><code>${evidenceText(evidence.excerpt)}</code></pre></figure>`;
}

function timeTag(at: string): SafeHtml {
  // Report data goes into text only, never into an attribute: even an escaped `javascript:` in an
  // attribute value is one refactor away from a URL.
  return html`<time>${at}</time>`;
}

function severityBadge(finding: Finding): SafeHtml {
  const severity = severityOf(finding.severity);
  return html`<span class="sev ${severity === undefined ? 'sev-unknown' : `sev-${severity}`}">${severity ?? 'unknown'}</span>`;
}

function section(id: string, title: string, body: SafeHtml): SafeHtml {
  return html`<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2>${body}</section>`;
}

function triggerText(detail: string): SafeHtml {
  const preview = clipWords(detail, TRIGGER_PREVIEW_CHARACTERS);
  if (!preview.cut) return html` — ${detail}`;
  return html` — ${preview.text}<details class="full"><summary>full trigger text</summary>${detail}</details>`;
}

function banner(report: Report): SafeHtml {
  const { verdict } = report;
  const tone = verdictTone(report);
  const state = incidentState(report);
  // A resolved incident looks resolved: green, "Resolved", and what it was, muted.
  const heading =
    state === 'resolved' && tone !== 'ok'
      ? html`<header class="banner tone-resolved" role="banner">
<p class="kicker">gatewatch incident report · <strong>${report.target}</strong></p>
<h1><span class="pill">Resolved</span> <span class="pill was">was ${TONE_LABEL[tone]}</span> <code>${verdict.rootCause}</code></h1>`
      : html`<header class="banner ${TONE_CLASS[tone]}" role="banner">
<p class="kicker">gatewatch incident report · <strong>${report.target}</strong></p>
<h1><span class="pill">${TONE_LABEL[tone]}</span> ${
          tone !== 'ok' && html`<span class="pill state">${state}</span> `
        }<code>${verdict.rootCause}</code></h1>`;
  return html`${heading}
<p class="meaning">${rootCauseMeaning(verdict.rootCause)}</p>
<p class="summary">${proseHtml(verdict.summary)}</p>
<dl class="facts">
<dt>Upstream</dt><dd>${verdict.upstream === undefined ? html`<span class="muted">not identified</span>` : html`<code>${verdict.upstream}</code>`}</dd>
<dt>Confidence</dt><dd>${formatConfidence(verdict.confidence)}</dd>
<dt>State</dt><dd>${stateLine(report)}</dd>
<dt>Trigger</dt><dd>${report.trigger.kind}${report.trigger.detail !== '' && triggerText(report.trigger.detail)}</dd>
</dl>
</header>`;
}

function decisiveSection(report: Report): SafeHtml | undefined {
  const decisive = decisiveEvidence(report);
  if (decisive.finding === undefined) return undefined;
  return section(
    'evidence',
    'Decisive evidence',
    html`<p>${severityBadge(decisive.finding)} <strong>${proseHtml(decisive.finding.title)}</strong></p>${decisive.shown.map(
      evidenceFigure,
    )}${decisive.more > 0 && html`<p class="muted">…and ${decisive.more} more under <a href="#findings">Findings</a>.</p>`}`,
  );
}

function nextStepsSection(report: Report): SafeHtml {
  if (report.nextSteps.length === 0)
    return section('next-steps', 'Next steps', html`<p class="muted">Nothing to do.</p>`);
  // Checkboxes let the reader tick steps off during the incident; nothing is submitted (form-action 'none').
  return section(
    'next-steps',
    'Next steps',
    html`<ol class="steps">${report.nextSteps.map(
      (step) => html`<li><label><input type="checkbox"><span>${proseHtml(step)}</span></label></li>`,
    )}</ol>`,
  );
}

function remediationSection(report: Report): SafeHtml | undefined {
  const r = report.remediation;
  if (r === undefined) return undefined;
  const checks = [
    ...(r.before ? [{ ...r.before, when: 'before' }] : []),
    ...(r.after ?? []).map((c) => ({ ...c, when: 'after' })),
  ];
  return section(
    'remediation',
    'Remediation',
    html`<dl class="facts">
<dt>Status</dt><dd><code>${r.status}</code>${r.escalated && html` — <strong>escalated</strong>`}</dd>
<dt>Why</dt><dd>${r.reason}</dd>
<dt>Mode</dt><dd><code>${r.mode}</code>${r.dryRun && ' (dry run)'}</dd>
${
  r.proposed &&
  html`<dt>Proposed</dt><dd><code>${r.proposed.action}</code> on <code>${r.proposed.host}</code> by rule <code>${r.proposed.rule}</code> — ${r.proposed.because}</dd>
<dt>Command</dt><dd><code>${r.proposed.command}</code></dd>`
}
${r.proposed?.approveCommand !== undefined && (r.status === 'suggested' || r.status === 'awaiting-approval') && html`<dt>Approve with</dt><dd><code>${r.proposed.approveCommand}</code></dd>`}
${r.approval && html`<dt>Approval</dt><dd>${r.approval.status}${r.approval.by !== undefined && html` by ${r.approval.by}`}${r.approval.at !== undefined && html` at ${timeTag(r.approval.at)}`}${r.approval.expiresAt !== undefined && html` (expires ${timeTag(r.approval.expiresAt)})`}</dd>`}
${r.guardrail !== undefined && html`<dt>Guardrail</dt><dd><code>${r.guardrail}</code></dd>`}
${r.verified !== undefined && html`<dt>Verified</dt><dd>${r.verified ? 'yes, the target recovered' : 'no'}</dd>`}
</dl>${r.ran && html`<figure class="evidence"><figcaption><strong>Ran</strong> ${timeTag(r.ran.startedAt)} → ${timeTag(r.ran.endedAt)}: ${r.ran.outcome}${r.ran.exitCode !== undefined && html`, status ${String(r.ran.exitCode)}`}</figcaption><pre><code>${evidenceText([...r.ran.commands.map((c) => `$ ${c}`), r.ran.output].filter((l) => l !== '').join('\n'))}</code></pre></figure>`}${
      checks.length > 0 &&
      html`<div class="scroll"><table><thead><tr><th>When</th><th>At</th><th>Probe</th><th class="n">Upstream errors</th><th>Recovered</th></tr></thead><tbody>${checks.map(
        (c) =>
          html`<tr><td>${c.when}</td><td>${timeTag(c.at)}</td><td>${c.probe}</td><td class="n">${String(c.errorLines)}</td><td>${c.ok ? 'yes' : 'no'}</td></tr>`,
      )}</tbody></table></div>`
    }`,
  );
}

function findingsSection(report: Report): SafeHtml {
  if (report.findings.length === 0)
    return section('findings', 'Findings', html`<p class="muted">No findings.</p>`);
  return section(
    'findings',
    'Findings',
    html`${report.findings.map(
      (
        finding,
      ) => html`<article class="finding"><h3>${severityBadge(finding)} ${proseHtml(finding.title)}</h3>
<p class="muted"><code>${finding.category}</code> — ${rootCauseMeaning(finding.category)}</p>${
        finding.evidence.length === 0
          ? html`<p class="muted">No evidence recorded.</p>`
          : finding.evidence.map(evidenceFigure)
      }</article>`,
    )}`,
  );
}

function trafficSection(report: Report): SafeHtml {
  const { traffic } = report;
  const chart = renderTrafficChart(traffic.perMinute, traffic.perSecond);
  const peak = peak5xxMinute(traffic.perMinute);
  const statuses = statusRows(traffic.byStatus);
  const upstreams = upstreamRows(traffic.byUpstream);
  return section(
    'traffic',
    'Traffic',
    html`<div class="numbers">
<div><b>${formatCount(traffic.requests)}</b><span>requests</span></div>
<div><b>${formatCount(traffic.status5xx)}</b><span>answered 5xx (${formatShare(traffic.status5xx, traffic.requests)})</span></div>
${peak !== undefined && html`<div><b>${formatCount(peak.status5xx)}</b><span>5xx in the worst minute, ${peak.minute}</span></div>`}
</div>
${chart !== '' && html`<figure class="chart">${trustedHtml(chart)}</figure>`}
<p class="muted">${traffic.firstAt !== undefined && traffic.lastAt !== undefined && html`From ${traffic.firstAt} to ${traffic.lastAt}. `}Access log format: ${traffic.format}; unreadable lines skipped: ${formatCount(traffic.malformed)}.</p>
<div class="cols">
${
  statuses.length > 0 &&
  html`<div class="scroll"><table class="stack"><caption class="muted">By status</caption><thead><tr><th>Status</th><th class="n">Requests</th></tr></thead><tbody>${statuses.map(
    ([status, count]) => html`<tr>${td('Status', status)}${td('Requests', formatCount(count), true)}</tr>`,
  )}</tbody></table></div>`
}
${
  upstreams.length > 0 &&
  html`<div class="scroll"><table class="stack"><caption class="muted">By upstream</caption><thead><tr><th>Upstream</th><th class="n">Requests</th><th class="n">Failures</th><th>By status</th><th class="n">Slowest</th></tr></thead><tbody>${upstreams.map(
    ([upstream, stats]) =>
      html`<tr>${td('Upstream', html`<code>${upstream}</code>`)}${td('Requests', formatCount(stats.requests), true)}${td('Failures', formatCount(stats.failures), true)}${td('By status', statusList(stats.byStatus))}${td('Slowest', stats.maxResponseTime === undefined ? '' : formatMs(stats.maxResponseTime * 1000), true)}</tr>`,
  )}</tbody></table></div>`
}
</div>
${
  traffic.samples.length > 0 &&
  html`<figure class="evidence"><figcaption>Failing requests (newest last)</figcaption><pre><code>${evidenceText(traffic.samples.join('\n'))}</code></pre></figure>`
}`,
  );
}

function checksSection(report: Report): SafeHtml {
  if (report.checks.length === 0)
    return section('checks', 'Checks', html`<p class="muted">No checks ran.</p>`);
  return section(
    'checks',
    'Checks',
    html`<div class="scroll"><table class="stack"><thead><tr><th>Check</th><th>Status</th><th class="n">Duration</th><th>Detail</th></tr></thead><tbody>${report.checks.map(
      (check) =>
        html`<tr>${td('Check', check.name)}<td data-label="Status" class="st ${Object.hasOwn(CHECK_CLASS, check.status) ? CHECK_CLASS[check.status] : 'st-unknown'}">${check.status}</td>${td('Duration', formatMs(check.durationMs), true)}${td('Detail', check.detail !== undefined && html`<span class="detail">${check.detail}</span>`)}</tr>`,
    )}</tbody></table></div>`,
  );
}

function ruledOutSection(report: Report): SafeHtml {
  return section(
    'ruled-out',
    'Ruled out',
    report.ruledOut.length === 0
      ? html`<p class="muted">Nothing was ruled out.</p>`
      : html`<ul>${report.ruledOut.map((item) => html`<li>${proseHtml(item)}</li>`)}</ul>`,
  );
}

function timelineSection(report: Report): SafeHtml {
  return section(
    'timeline',
    'Timeline',
    report.timeline.length === 0
      ? html`<p class="muted">No events recorded.</p>`
      : html`<ol class="timeline">${report.timeline.map(
          (entry) => html`<li>${timeTag(entry.at)}<span>${proseHtml(entry.event)}</span></li>`,
        )}</ol>`,
  );
}

const NOTIFICATION_CLASS: Record<string, string> = {
  sent: 'st-ok',
  failed: 'st-failed',
  silenced: 'st-skipped',
  skipped: 'st-skipped',
};

function notificationsSection(report: Report): SafeHtml | undefined {
  const notifications = report.notifications ?? [];
  if (notifications.length === 0) return undefined;
  return section(
    'notifications',
    'Notifications',
    html`<div class="scroll"><table class="stack"><thead><tr><th>Time</th><th>Event</th><th>Channel</th><th>Status</th><th class="n">Attempts</th><th>Detail</th></tr></thead><tbody>${notifications.map(
      (n) =>
        html`<tr>${td('Time', timeTag(n.at))}${td('Event', n.event)}${td('Channel', n.channel)}<td data-label="Status" class="st ${Object.hasOwn(NOTIFICATION_CLASS, n.status) ? NOTIFICATION_CLASS[n.status]! : 'st-unknown'}">${n.status}</td>${td('Attempts', formatCount(n.attempts), true)}${td('Detail', html`<span class="detail">${n.error ?? n.detail ?? ''}</span>`)}</tr>`,
    )}</tbody></table></div>`,
  );
}

/**
 * Renders a report as one self-contained HTML page, in reading order for someone woken at 3 a.m.: a
 * banner coloured by severity with the verdict, its meaning and the one-line summary; the decisive
 * evidence; next steps; every finding with its evidence; what was ruled out; traffic with a per-minute
 * chart; checks; the timeline. One column on a phone, evidence in horizontally scrolling blocks, dark
 * when the reader's system is.
 */
export function renderHtml(report: Report): string {
  const tone = verdictTone(report);
  const hasEvidence = decisiveEvidence(report).finding !== undefined;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${trustedHtml(REPORT_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${incidentState(report) === 'resolved' && tone !== 'ok' ? 'Resolved' : TONE_LABEL[tone]}: ${report.verdict.rootCause} on ${report.target} — gatewatch ${report.incidentId}</title>
<style>${trustedHtml(STYLE)}</style>
</head>
<body>
<div class="page">
${banner(report)}
<nav aria-label="Sections">${hasEvidence && html`<a href="#evidence">Evidence</a>`}<a href="#next-steps">Next steps</a><a href="#findings">Findings</a><a href="#ruled-out">Ruled out</a><a href="#traffic">Traffic</a><a href="#checks">Checks</a><a href="#timeline">Timeline</a>${(report.notifications ?? []).length > 0 && html`<a href="#notifications">Notifications</a>`}</nav>
<main>
${historyHtml(report)}
${decisiveSection(report)}
${nextStepsSection(report)}
${remediationSection(report)}
${findingsSection(report)}
${ruledOutSection(report)}
${trafficSection(report)}
${checksSection(report)}
${timelineSection(report)}
${notificationsSection(report)}
</main>
<footer>Incident <code>${report.incidentId}</code> · window ${report.window.from} → ${report.window.to} · opened ${report.openedAt} · report schema ${formatCount(report.schemaVersion)} · written by gatewatch</footer>
</div>
</body>
</html>
`;
  return page.html;
}
