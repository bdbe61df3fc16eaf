/**
 * The report's "History" section: recurrence ("3rd time in 7 days", with links to the earlier reports)
 * and what people did (acknowledged, notes, resolved by hand). Both renderers call these, so report.md
 * and report.html say the same as report.json.
 */
import { recurrenceLine } from '../incident/recurrence.ts';
import type { Report } from '../types.ts';
import { escapeMarkdownInline, html, type SafeHtml } from './escape.ts';

const ACTION_LABEL = { ack: 'acknowledged', note: 'note', resolve: 'resolved by hand' } as const;

const SAFE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** From one report folder to another's report.html: `../<id>/report.html`; undefined for a key that is not a plain path. */
function siblingHref(reportKey: string): string | undefined {
  return SAFE_KEY.test(reportKey) ? `../${reportKey}` : undefined;
}

function hasHistory(report: Report): boolean {
  return (report.recurrence?.occurrence ?? 1) > 1 || (report.activity?.length ?? 0) > 0;
}

/** The History section as HTML, or nothing when the incident is a first and nobody touched it. */
export function historyHtml(report: Report): SafeHtml {
  if (!hasHistory(report)) return html``;
  const recurrence = report.recurrence;
  const line = recurrenceLine(recurrence);
  return html`<section id="history"><h2>History</h2>${
    line !== undefined &&
    recurrence !== undefined &&
    html`<p class="recurrence"><strong>${line}</strong> (fingerprint <code>${recurrence.fingerprint}</code>). Earlier:</p>
<ul>${recurrence.earlier.map((e) => html`<li>${siblingHref(e.report) === undefined ? e.incidentId : html`<a href="${siblingHref(e.report)}">${e.incidentId}</a>`} <span class="muted">opened ${e.openedAt}</span></li>`)}</ul>`
  }${
    (report.activity?.length ?? 0) > 0 &&
    html`<ul class="activity">${(report.activity ?? []).map(
      (a) =>
        html`<li><time>${a.at}</time> <strong>${ACTION_LABEL[a.action]}</strong> by ${a.by}${a.text === undefined ? '' : html`: <span class="detail">${a.text}</span>`}</li>`,
    )}</ul>`
  }</section>`;
}

/** The History section as Markdown lines (empty when there is none). */
export function historyMarkdown(report: Report): string[] {
  if (!hasHistory(report)) return [];
  const out = ['## History', ''];
  const recurrence = report.recurrence;
  const line = recurrenceLine(recurrence);
  if (line !== undefined && recurrence !== undefined) {
    out.push(`**${line}** (fingerprint \`${recurrence.fingerprint}\`). Earlier:`, '');
    for (const e of recurrence.earlier) {
      const href = siblingHref(e.report);
      const label = escapeMarkdownInline(e.incidentId);
      out.push(
        `- ${href === undefined ? label : `[${label}](${href})`} opened ${escapeMarkdownInline(e.openedAt)}`,
      );
    }
    out.push('');
  }
  for (const a of report.activity ?? [])
    out.push(
      `- ${escapeMarkdownInline(a.at)} ${ACTION_LABEL[a.action]} by ${escapeMarkdownInline(a.by)}${a.text === undefined ? '' : `: ${escapeMarkdownInline(a.text)}`}`,
    );
  if ((report.activity?.length ?? 0) > 0) out.push('');
  return out;
}
