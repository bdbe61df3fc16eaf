/**
 * The incident index as self-contained HTML pages: no script, no external resource, the reports' own
 * Content-Security-Policy, every value escaped by the reports' {@link html} template. Filtering needs no
 * script: each filter is its own static page (`index.html` for all incidents, `index-target-<t>.html`,
 * `index-cause-<c>.html`), linked from every page, the current one marked.
 */

import type { TargetAvailability } from '../incident/availability.ts';
import {
  countsByCause,
  type IncidentIndex,
  type IncidentIndexEntry,
  meanTimeToResolve,
  recurringGroups,
} from '../incident/incident-index.ts';
import { ordinal } from '../incident/recurrence.ts';
import { html, type SafeHtml, trustedHtml } from './escape.ts';
import { REPORT_CSP } from './render-html.ts';
import { formatConfidence, formatCount, formatDuration, rootCauseMeaning } from './view.ts';

export interface IndexPage {
  /** A file name next to index.json. */
  name: string;
  html: string;
}

export interface IndexPageContext {
  availability: readonly TargetAvailability[];
  generatedAt: string;
}

const SAFE_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A file-name-safe slug for a filter value: the value itself when it is already safe, else a hash. */
export function filterSlug(value: string): string {
  if (SAFE_SLUG.test(value)) return value;
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193) >>> 0;
  return `x-${hash.toString(16).padStart(8, '0')}`;
}

export function targetPageName(target: string): string {
  return `index-target-${filterSlug(target)}.html`;
}

export function causePageName(cause: string): string {
  return `index-cause-${filterSlug(cause)}.html`;
}

const SAFE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** A relative link to a key under the index (`shop-…/report.html`). */
function relativeHref(key: string): string {
  return `./${key}`;
}

/**
 * A link to an incident's file when its key is a plain relative path (gatewatch's own ids always are);
 * otherwise the label alone: a key read from a tampered index never becomes a URL.
 */
function fileLink(key: string, label: SafeHtml | string): SafeHtml {
  return SAFE_KEY.test(key) ? html`<a href="${relativeHref(key)}">${label}</a>` : html`${label}`;
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--crit:#b42318;--ok:#1a7f37;--info:#0a58a8}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9ea8b3;--line:#3d444d;--panel:#151b23;--crit:#ff8a80;--ok:#6fdd8b;--info:#84c1ff}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere}
.page{max-width:1180px;margin:0 auto;padding:16px}
h1{font-size:1.6rem;margin:.2em 0}
h2{font-size:1.2rem;margin:1.5em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
a{color:var(--info)}
.filters{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0;padding:0;list-style:none}
.filters a{display:inline-block;max-width:100%;padding:2px 10px;border:1px solid var(--line);border-radius:999px;text-decoration:none}
.filters a[aria-current=page]{background:var(--info);color:var(--bg);border-color:var(--info)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th,td{overflow-wrap:break-word;word-break:normal;hyphens:none}
td .id{font-size:.85rem}
th{color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.open{color:var(--crit);font-weight:700}.resolved{color:var(--ok);font-weight:700}
.muted{color:var(--muted)}
.numbers{display:flex;flex-wrap:wrap;gap:8px 28px}
.numbers div{display:flex;flex-direction:column}
.numbers b{font-size:1.4rem;font-variant-numeric:tabular-nums}
.numbers span{color:var(--muted);font-size:.85rem}
.group{border:1px solid var(--line);border-radius:8px;padding:4px 14px 8px;margin-bottom:10px}
footer{margin-top:28px;color:var(--muted);font-size:.85rem}
@media (max-width:699px){.wide{display:none}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack thead{display:none}
table.stack tr{border-bottom:1px solid var(--line);padding:6px 0}
table.stack td{border:0;padding:2px 0;text-align:left;white-space:normal}
table.stack td::before{content:attr(data-label);display:inline-block;min-width:7.5em;color:var(--muted);font-weight:600}}
`
  .trim()
  .replace(/\n/g, '');

interface Filter {
  kind: 'all' | 'target' | 'cause';
  value: string;
  name: string;
}

/** Every page of the index: all incidents, one per target, one per root cause. */
export function renderIndexPages(index: IncidentIndex, context: IndexPageContext): IndexPage[] {
  const targets = [
    ...new Set([...index.incidents.map((e) => e.target), ...context.availability.map((a) => a.target)]),
  ].sort();
  const causes = [...new Set(index.incidents.map((e) => e.rootCause))].sort();
  const filters: Filter[] = [
    { kind: 'all', value: '', name: 'index.html' },
    ...targets.map((t): Filter => ({ kind: 'target', value: t, name: targetPageName(t) })),
    ...causes.map((c): Filter => ({ kind: 'cause', value: c, name: causePageName(c) })),
  ];
  return filters.map((filter) => ({
    name: filter.name,
    html: page(index, context, filter, targets, causes),
  }));
}

function selected(index: IncidentIndex, filter: Filter): IncidentIndexEntry[] {
  if (filter.kind === 'target') return index.incidents.filter((e) => e.target === filter.value);
  if (filter.kind === 'cause') return index.incidents.filter((e) => e.rootCause === filter.value);
  return index.incidents;
}

function filterNav(filter: Filter, targets: string[], causes: string[]): SafeHtml {
  const link = (name: string, label: string, current: boolean) =>
    html`<li><a href="${relativeHref(name)}"${current ? trustedHtml(' aria-current="page"') : ''}>${label}</a></li>`;
  return html`<nav aria-label="Filters">
<ul class="filters">${link('index.html', 'All incidents', filter.kind === 'all')}</ul>
<ul class="filters" aria-label="By target">${targets.map((t) => link(targetPageName(t), `target: ${t}`, filter.kind === 'target' && filter.value === t))}</ul>
<ul class="filters" aria-label="By cause">${causes.map((c) => link(causePageName(c), `cause: ${c}`, filter.kind === 'cause' && filter.value === c))}</ul>
</nav>`;
}

function percent(value: number | undefined, digits = 3): string {
  if (value === undefined) return '—';
  if (value === -Infinity) return 'exhausted';
  return `${value.toFixed(digits).replace(/\.?0+$/, '')}%`;
}

function availabilitySection(rows: readonly TargetAvailability[]): SafeHtml {
  if (rows.length === 0)
    return html`<section id="availability"><h2>Availability</h2><p class="muted">No probe history yet: <code>gatewatch watch</code> records every probe.</p></section>`;
  return html`<section id="availability"><h2>Availability</h2><div class="scroll"><table class="stack">
<thead><tr><th>target</th><th class="n">availability</th><th class="n">SLO</th><th class="n">error budget left</th><th class="n">probes</th><th class="n">failed</th><th class="n wide">window</th></tr></thead>
<tbody>${rows.map(
    (a) =>
      html`<tr>${td('target', a.target)}${td('availability', percent(a.availability), 'n')}${td('SLO', percent(a.slo.availability), 'n')}${td('budget left', percent(a.budgetRemaining, 1), a.budgetRemaining !== undefined && a.budgetRemaining < 0 ? 'n open' : 'n')}${td('probes', formatCount(a.probes), 'n')}${td('failed', formatCount(a.failed), 'n')}${td('window', `${a.slo.windowDays} d`, 'n wide')}</tr>`,
  )}</tbody></table></div></section>`;
}

function figuresSection(entries: readonly IncidentIndexEntry[]): SafeHtml {
  const mttr = meanTimeToResolve(entries);
  const open = entries.filter((e) => e.resolvedAt === null && e.rootCause !== 'healthy').length;
  return html`<section id="figures"><h2>Figures</h2><div class="numbers">
<div><b>${formatCount(entries.length)}</b><span>incidents</span></div>
<div><b>${formatCount(open)}</b><span>open</span></div>
<div><b>${mttr === undefined ? '—' : formatDuration(mttr)}</b><span>MTTR (mean time to resolve)</span></div>
</div>
<div class="scroll"><table><thead><tr><th>cause</th><th class="n">incidents</th><th class="wide">meaning</th></tr></thead>
<tbody>${countsByCause(entries).map(
    (c) =>
      html`<tr><td><a href="${relativeHref(causePageName(c.rootCause))}">${c.rootCause}</a></td><td class="n">${formatCount(c.count)}</td><td class="wide">${rootCauseMeaning(c.rootCause)}</td></tr>`,
  )}</tbody></table></div></section>`;
}

function recurringSection(entries: readonly IncidentIndexEntry[]): SafeHtml {
  const groups = recurringGroups(entries);
  if (groups.length === 0) return html``;
  return html`<section id="recurring"><h2>Recurring</h2>${groups.map(
    (g) =>
      html`<div class="group"><p><strong>${g.rootCause}</strong> on ${g.target}${g.upstream === null ? '' : html` (<code>${g.upstream}</code>)`} — ${formatCount(g.incidents.length)} times, fingerprint <code>${g.fingerprint}</code></p>
<ul>${g.incidents.map((e) => html`<li>${fileLink(e.reports.html, e.id)} <span class="muted">${e.openedAt}</span></li>`)}</ul></div>`,
  )}</section>`;
}

/** A cell of a table that stacks on phones: `label` (a fixed column name) shows before the value there. */
function td(label: string, value: SafeHtml | string, className?: string): SafeHtml {
  return className === undefined
    ? html`<td data-label="${label}">${value}</td>`
    : html`<td data-label="${label}" class="${className}">${value}</td>`;
}

function stateCell(e: IncidentIndexEntry): SafeHtml {
  if (e.resolvedAt !== null)
    return html`<span class="resolved">resolved</span> <span class="muted">${e.durationSeconds === null ? '' : `after ${formatDuration(e.durationSeconds)}`}${e.resolvedBy === null ? '' : ` by ${e.resolvedBy}`}</span>`;
  if (e.rootCause === 'healthy') return html`<span class="muted">healthy</span>`;
  return html`<span class="open">open</span>${e.ack === null ? '' : html` <span class="muted">ack ${e.ack.by}</span>`}`;
}

function incidentsSection(entries: readonly IncidentIndexEntry[]): SafeHtml {
  if (entries.length === 0)
    return html`<section id="incidents"><h2>Incidents</h2><p class="muted">No incident.</p></section>`;
  return html`<section id="incidents"><h2>Incidents</h2><div class="scroll"><table class="stack">
<thead><tr><th>opened</th><th>target</th><th>cause</th><th>state</th><th>summary</th><th class="n wide">confidence</th></tr></thead>
<tbody>${entries.map(
    (e) =>
      html`<tr>${td('opened', html`${fileLink(e.reports.html, e.openedAt)}<div class="muted id">${e.id}</div>`)}${td('target', e.target)}${td('cause', html`${e.rootCause}${e.upstream === null ? '' : html`<div><code>${e.upstream}</code></div>`}${e.recurrence.occurrence > 1 ? html`<div class="muted">${ordinal(e.recurrence.occurrence)} time</div>` : ''}`)}${td('state', stateCell(e))}${td('summary', html`${e.summary}${e.notes.length === 0 ? '' : html`<div class="muted">${formatCount(e.notes.length)} note${e.notes.length === 1 ? '' : 's'}</div>`}`)}${td('confidence', formatConfidence(e.confidence), 'n wide')}</tr>`,
  )}</tbody></table></div></section>`;
}

function page(
  index: IncidentIndex,
  context: IndexPageContext,
  filter: Filter,
  targets: string[],
  causes: string[],
): string {
  const entries = selected(index, filter);
  const title =
    filter.kind === 'all'
      ? 'All incidents'
      : filter.kind === 'target'
        ? `Target ${filter.value}`
        : `Cause ${filter.value}`;
  const availability =
    filter.kind === 'target'
      ? context.availability.filter((a) => a.target === filter.value)
      : context.availability;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${trustedHtml(REPORT_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>gatewatch incidents — ${title}</title>
<style>${trustedHtml(STYLE)}</style>
</head>
<body>
<div class="page">
<header><p class="muted">gatewatch incident index</p><h1>${title}</h1></header>
${filterNav(filter, targets, causes)}
<main>
${filter.kind === 'cause' ? '' : availabilitySection(availability)}
${figuresSection(entries)}
${recurringSection(entries)}
${incidentsSection(entries)}
</main>
<footer>Generated ${context.generatedAt} from <a href="./index.json">index.json</a> · times are UTC · written by gatewatch</footer>
</div>
</body>
</html>
`.html;
}
