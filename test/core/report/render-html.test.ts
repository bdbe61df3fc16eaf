import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanText, escapeHtml } from '../../../lambdas/core/report/escape.ts';
import { REPORT_CSP, renderHtml } from '../../../lambdas/core/report/render-html.ts';
import { evidenceText, proseSegments } from '../../../lambdas/core/report/view.ts';
import { ROOT_CAUSES } from '../../../lambdas/core/root-causes.ts';
import type { Report } from '../../../lambdas/core/types.ts';
import { FIXTURE_NAMES, HOSTILE_STRINGS, hostileReport, loadReport } from './fixtures.ts';
import { checkReportPage, tokenizeHtml, visibleText } from './html-check.ts';

/** Offset of the start tag with this id, to check reading order. */
function sectionAt(page: string, id: string): number {
  const offset = page.indexOf(`id="${id}"`);
  expect(offset, `section #${id}`).toBeGreaterThan(-1);
  return offset;
}

describe('renderHtml on sample reports', () => {
  it.each(FIXTURE_NAMES)('shows everything in %s, escaped, on a safe page', (name) => {
    const report = loadReport(name);
    const page = renderHtml(report);
    expect(checkReportPage(page)).toEqual([]);
    const has = (text: string) => expect(page).toContain(escapeHtml(text));
    has(report.target);
    has(report.verdict.rootCause);
    has(ROOT_CAUSES[report.verdict.rootCause]);
    has(report.verdict.summary);
    if (report.verdict.upstream !== undefined) has(report.verdict.upstream);
    for (const finding of report.findings) {
      has(finding.title);
      for (const evidence of finding.evidence) {
        has(evidence.source);
        has(evidenceText(evidence.excerpt));
      }
    }
    for (const check of report.checks) {
      has(check.name);
      if (check.detail !== undefined) has(check.detail);
    }
    for (const step of report.nextSteps) has(step);
    for (const item of report.ruledOut) has(item);
    for (const entry of report.timeline) has(entry.event);
    for (const status of Object.keys(report.traffic.byStatus)) has(status);
    for (const upstream of Object.keys(report.traffic.byUpstream)) has(upstream);
  });

  it('puts the summary first, then the decisive evidence, next steps and findings', () => {
    const page = renderHtml(loadReport('upstream-down'));
    const summary = page.indexOf('class="summary"');
    expect(summary).toBeGreaterThan(-1);
    expect(summary).toBeLessThan(sectionAt(page, 'evidence'));
    expect(sectionAt(page, 'evidence')).toBeLessThan(sectionAt(page, 'next-steps'));
    expect(sectionAt(page, 'next-steps')).toBeLessThan(sectionAt(page, 'findings'));
    expect(sectionAt(page, 'findings')).toBeLessThan(sectionAt(page, 'ruled-out'));
    expect(sectionAt(page, 'ruled-out')).toBeLessThan(sectionAt(page, 'traffic'));
    expect(sectionAt(page, 'traffic')).toBeLessThan(sectionAt(page, 'checks'));
    expect(sectionAt(page, 'checks')).toBeLessThan(sectionAt(page, 'timeline'));
  });

  it('colours the banner by severity: critical for a refused upstream, healthy for a healthy report', () => {
    expect(renderHtml(loadReport('upstream-down'))).toContain('<header class="banner tone-critical"');
    const healthy = renderHtml(loadReport('healthy'));
    expect(healthy).toContain('<header class="banner tone-ok"');
    expect(healthy).not.toContain('id="evidence"');
    expect(visibleText(healthy)).toContain('Nothing to do.');
  });

  it('takes the banner colour from the most severe finding of the verdict', () => {
    const report = loadReport('upstream-down');
    for (const finding of report.findings) finding.severity = 'warning';
    expect(renderHtml(report)).toContain('<header class="banner tone-warning"');
  });

  it('states when a resolved incident recovered and how long it lasted', () => {
    const page = renderHtml(loadReport('upstream-timeout-resolved'));
    expect(visibleText(page)).toContain('resolved at 2026-11-24T06:13:55Z after 21 min');
    // Resolved looks resolved: green banner, "Resolved", and what it was only as a muted note.
    expect(page).toContain('<header class="banner tone-resolved"');
    expect(page).toContain('<span class="pill">Resolved</span> <span class="pill was">was Critical</span>');
    expect(page).not.toContain('<header class="banner tone-critical"');
  });

  it('draws the per-minute chart inline, and none for a single minute', () => {
    const report = loadReport('upstream-closed-early-day');
    const page = renderHtml(report);
    expect(page).toContain('<figure class="chart"><svg');
    expect(page).toContain('Requests and 5xx answers per 10 minutes');
    report.traffic.perMinute = report.traffic.perMinute.slice(0, 1);
    expect(renderHtml(report)).not.toContain('<svg');
  });

  it('redacts a secret left in quoted evidence', () => {
    const page = renderHtml(loadReport('upstream-closed-early-day'));
    expect(page).not.toContain('abc123');
    expect(page).toContain('session=[REDACTED]');
  });

  it('is one self-contained page made for phones and dark rooms', () => {
    const page = renderHtml(loadReport('upstream-down'));
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`);
    expect(page).toContain('@media (prefers-color-scheme:dark)');
    expect(page).toMatch(/@media \(min-width:700px\)\{\.cols\{grid-template-columns:1fr 1fr\}/);
    // Evidence wraps instead of hiding behind a horizontal scroll (a phone showed 40 characters of it).
    expect(page).toMatch(/pre\{[^}]*white-space:pre-wrap;overflow-wrap:anywhere/);
    const { tokens } = tokenizeHtml(page);
    const linkTargets = tokens.flatMap((token) =>
      token.type === 'start' ? token.attributes.filter((a) => a.name === 'href').map((a) => a.value) : [],
    );
    for (const target of linkTargets) expect(page).toContain(`id="${target.slice(1)}"`);
  });
});

describe('renderHtml on hostile input', () => {
  it.each(HOSTILE_STRINGS.map((value) => [JSON.stringify(value).slice(0, 60), value] as const))(
    'keeps %s inert in every field',
    (_label, value) => {
      for (const vocabulary of [false, true]) {
        const page = renderHtml(hostileReport(value, { vocabulary }));
        expect(checkReportPage(page)).toEqual([]);
        expect(page).not.toMatch(/<script/i);
      }
    },
  );

  it('still shows the hostile text, escaped, rather than dropping it', () => {
    const value = HOSTILE_STRINGS.join(' ');
    const report = hostileReport(value);
    const text = visibleText(renderHtml(report));
    expect(text).toContain(cleanText(report.target));
    // Prose shows its backtick spans as code: the words stay, the backticks do not.
    for (const shown of [report.verdict.summary, report.findings[0]!.title, report.nextSteps[0]!]) {
      const words = proseSegments(shown)
        .map((segment) => segment.text)
        .join('');
      expect(text).toContain(cleanText(words));
    }
  });

  it('puts report data into element text only, never into an attribute', () => {
    const { tokens } = tokenizeHtml(renderHtml(hostileReport('ZZ-marker', { vocabulary: true })));
    const values = tokens.flatMap((token) =>
      token.type === 'start' ? token.attributes.map((a) => a.value) : [],
    );
    expect(values.length).toBeGreaterThan(20);
    expect(values.filter((value) => value.includes('ZZ-marker'))).toEqual([]);
  });

  it('negative control: the checker flags the page when one field is left unescaped', () => {
    const value = '"><img src=x onerror=alert(1)><script>alert(1)</script>';
    const page = renderHtml(hostileReport(value));
    expect(checkReportPage(page)).toEqual([]);
    const escaped = escapeHtml(`summary ${value}`);
    expect(page).toContain(escaped);
    const broken = page.replace(escaped, `summary ${value}`);
    const problems = checkReportPage(broken).join('\n');
    expect(problems).toMatch(/<script>/);
    expect(problems).toMatch(/event handler onerror on <img>/);
  });

  it('never lets arbitrary text become a script, an event handler or a second policy', () => {
    const text = fc
      .array(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.constantFrom(...HOSTILE_STRINGS),
          fc.constantFrom(
            '<',
            '>',
            '"',
            "'",
            '&',
            '=',
            ' on',
            'script',
            '/',
            '`',
            '\u0000',
            '\u2028',
            '\ud800',
          ),
        ),
        { maxLength: 6 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, fc.boolean(), (value, vocabulary) => {
        const page = renderHtml(hostileReport(value, { vocabulary }));
        expect(checkReportPage(page)).toEqual([]);
        expect(page).not.toMatch(/<script/i);
      }),
      { numRuns: 300 },
    );
  });
});

describe('renderHtml on untrusted vocabulary', () => {
  it('names a root cause outside the vocabulary as such instead of inventing a meaning', () => {
    const report: Report = { ...loadReport('upstream-down') };
    report.verdict = { ...report.verdict, rootCause: 'made-up' as Report['verdict']['rootCause'] };
    expect(visibleText(renderHtml(report))).toContain('not a known root cause');
  });
});
