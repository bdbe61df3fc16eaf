import { describe, expect, it } from 'vitest';
import {
  availabilityOf,
  ProbeHistoryFormatError,
  parseProbeMinutes,
} from '../../../lambdas/core/incident/availability.ts';
import {
  countsByCause,
  emptyIndex,
  entryOf,
  meanTimeToResolve,
  recurringGroups,
  upsertEntry,
  withActivity,
} from '../../../lambdas/core/incident/incident-index.ts';
import {
  fingerprintOf,
  normalizeDecisiveMessage,
  ordinal,
  recurrenceLine,
  recurrenceOf,
} from '../../../lambdas/core/incident/recurrence.ts';
import { renderHtml, renderMarkdown } from '../../../lambdas/core/report/index.ts';
import { causePageName, renderIndexPages, targetPageName } from '../../../lambdas/core/report/index-page.ts';
import type { Report } from '../../../lambdas/core/types.ts';
import { HOSTILE_STRINGS, loadReport } from '../report/fixtures.ts';
import { checkReportPage, tokenizeHtml, visibleText } from '../report/html-check.ts';

function reportAt(id: string, openedAt: string, change: Partial<Report> = {}): Report {
  return { ...loadReport('upstream-down'), incidentId: id, openedAt, ...change };
}

/** checkReportPage, minus links to sibling files of the index (the pages link each other and the reports). */
function pageProblems(page: string): string[] {
  return checkReportPage(page).filter(
    (p) => !/^href="(\.\.?\/[A-Za-z0-9%._-]+(\/[A-Za-z0-9%._-]+)*)" on <a> leaves the page$/.test(p),
  );
}

describe('recurrence', () => {
  it('strips times, connection numbers, request context and numbers from the decisive message', () => {
    const a =
      '2026/11/24 06:01:24 [error] 11155#11155: *6 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, request: "GET /a?token=1 HTTP/1.1", upstream: "http://127.0.0.1:41935/a"';
    const b =
      '2026/12/01 23:59:01 [error] 9#9: *88812 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.7, request: "POST /cart HTTP/2.0", upstream: "http://127.0.0.1:41935/cart"';
    expect(normalizeDecisiveMessage(a)).toBe(
      'connect() failed (#: connection refused) while connecting to upstream',
    );
    expect(normalizeDecisiveMessage(b)).toBe(normalizeDecisiveMessage(a));
  });

  it('gives the same fingerprint to the same failure on another day, and another to another cause or upstream', () => {
    const first = reportAt('shop-20261201T000000Z-aaaa', '2026-12-01T00:00:00Z');
    const again = reportAt('shop-20261202T101010Z-bbbb', '2026-12-02T10:10:10Z');
    expect(fingerprintOf(again)).toBe(fingerprintOf(first));
    const elsewhere = reportAt('shop-20261202T101010Z-cccc', '2026-12-02T10:10:10Z', {
      verdict: { ...first.verdict, upstream: '127.0.0.1:9999' },
    });
    expect(fingerprintOf(elsewhere)).not.toBe(fingerprintOf(first));
    const otherCause = reportAt('shop-20261202T101010Z-dddd', '2026-12-02T10:10:10Z', {
      verdict: { ...first.verdict, rootCause: 'upstream-timeout' },
    });
    expect(fingerprintOf(otherCause)).not.toBe(fingerprintOf(first));
  });

  it('counts earlier occurrences in the last 7 days only, newest first, and says "3rd time in 7 days"', () => {
    const fp = 'f'.repeat(16);
    const past = [
      {
        id: 'shop-20261120T000000Z-0001',
        openedAt: '2026-11-20T00:00:00Z',
        fingerprint: fp,
        report: 'a/report.html',
      },
      {
        id: 'shop-20261205T000000Z-0002',
        openedAt: '2026-12-05T00:00:00Z',
        fingerprint: fp,
        report: 'b/report.html',
      },
      {
        id: 'shop-20261206T000000Z-0003',
        openedAt: '2026-12-06T00:00:00Z',
        fingerprint: fp,
        report: 'c/report.html',
      },
      {
        id: 'shop-20261206T000000Z-0004',
        openedAt: '2026-12-06T00:00:00Z',
        fingerprint: 'other',
        report: 'd/report.html',
      },
      {
        id: 'shop-20261207T000000Z-0005',
        openedAt: '2026-12-07T00:00:00Z',
        fingerprint: fp,
        report: 'e/report.html',
      },
    ];
    const r = recurrenceOf(
      { id: 'shop-20261206T120000Z-0009', openedAt: '2026-12-06T12:00:00Z', fingerprint: fp },
      past,
    );
    expect(r.occurrence).toBe(3);
    expect(r.earlier.map((e) => e.incidentId)).toEqual([
      'shop-20261206T000000Z-0003',
      'shop-20261205T000000Z-0002',
    ]);
    expect(recurrenceLine(r)).toBe('3rd time in 7 days');
    expect(recurrenceLine({ ...r, occurrence: 1, earlier: [] })).toBeUndefined();
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '23rd',
      '101st',
      '111th',
    ]);
  });

  it('links the earlier reports from the report, in HTML and Markdown', () => {
    const report = reportAt('shop-20261206T120000Z-0009', '2026-12-06T12:00:00Z', {
      recurrence: {
        fingerprint: 'abcdef0123456789',
        occurrence: 3,
        windowDays: 7,
        earlier: [
          {
            incidentId: 'shop-20261206T000000Z-0003',
            openedAt: '2026-12-06T00:00:00Z',
            report: 'shop-20261206T000000Z-0003/report.html',
          },
          {
            incidentId: 'shop-20261205T000000Z-0002',
            openedAt: '2026-12-05T00:00:00Z',
            report: 'shop-20261205T000000Z-0002/report.html',
          },
        ],
      },
    });
    const page = renderHtml(report);
    expect(visibleText(page)).toContain('3rd time in 7 days');
    const hrefs = tokenizeHtml(page).tokens.flatMap((t) =>
      t.type === 'start' && t.name === 'a'
        ? t.attributes.filter((a) => a.name === 'href').map((a) => a.value)
        : [],
    );
    expect(hrefs).toContain('../shop-20261206T000000Z-0003/report.html');
    expect(hrefs).toContain('../shop-20261205T000000Z-0002/report.html');
    expect(pageProblems(page)).toEqual([]);
    expect(renderMarkdown(report)).toContain('**3rd time in 7 days**');
    expect(renderMarkdown(report)).toContain('(../shop-20261205T000000Z-0002/report.html)');
  });
});

describe('the index', () => {
  it('keeps one entry per incident, newest first, whatever order updates arrive in', () => {
    let index = emptyIndex('2026-12-06T00:00:00Z');
    const a = reportAt('shop-20261201T000000Z-aaaa', '2026-12-01T00:00:00Z');
    const b = reportAt('shop-20261203T000000Z-bbbb', '2026-12-03T00:00:00Z');
    index = upsertEntry(index, entryOf(b, { bundle: true }), '2026-12-06T00:00:01Z');
    index = upsertEntry(index, entryOf(a), '2026-12-06T00:00:02Z');
    index = upsertEntry(
      index,
      entryOf({ ...b, resolvedAt: '2026-12-03T00:10:00Z', durationSeconds: 600 }),
      '2026-12-06T00:00:03Z',
    );
    expect(index.incidents.map((e) => e.id)).toEqual([
      'shop-20261203T000000Z-bbbb',
      'shop-20261201T000000Z-aaaa',
    ]);
    // The bundle path recorded at diagnosis survives a later update that does not know it.
    expect(index.incidents[0]!.reports.bundle).toBe('shop-20261203T000000Z-bbbb/bundle.json.gz');
    expect(index.incidents[0]!.durationSeconds).toBe(600);
  });

  it('records who acknowledged, noted and resolved, and a second resolve keeps the first', () => {
    let report = reportAt('shop-20261201T000000Z-aaaa', '2026-12-01T00:00:00Z');
    report = withActivity(report, { at: '2026-12-01T00:01:00Z', by: 'alice', action: 'ack' });
    report = withActivity(report, {
      at: '2026-12-01T00:02:00Z',
      by: 'alice',
      action: 'note',
      text: 'pool exhausted',
    });
    report = withActivity(report, { at: '2026-12-01T00:05:00Z', by: 'bob', action: 'resolve' });
    report = withActivity(report, { at: '2026-12-01T00:09:00Z', by: 'carol', action: 'resolve' });
    expect(report.resolvedAt).toBe('2026-12-01T00:05:00Z');
    expect(report.durationSeconds).toBe(300);
    expect(report.resolvedBy).toBe('bob');
    const entry = entryOf(report);
    expect(entry.ack).toEqual({ by: 'alice', at: '2026-12-01T00:01:00Z' });
    expect(entry.notes).toEqual([{ at: '2026-12-01T00:02:00Z', by: 'alice', text: 'pool exhausted' }]);
    expect(entry.resolvedBy).toBe('bob');
    expect(visibleText(renderHtml(report))).toContain('acknowledged by alice');
  });

  it('computes MTTR over resolved incidents, counts by cause and groups recurring fingerprints', () => {
    const entries = [
      entryOf(
        reportAt('shop-20261201T000000Z-aaaa', '2026-12-01T00:00:00Z', {
          resolvedAt: '2026-12-01T00:01:40Z',
          durationSeconds: 100,
        }),
      ),
      entryOf(
        reportAt('shop-20261202T000000Z-bbbb', '2026-12-02T00:00:00Z', {
          resolvedAt: '2026-12-02T00:05:00Z',
          durationSeconds: 300,
        }),
      ),
      entryOf(reportAt('shop-20261203T000000Z-cccc', '2026-12-03T00:00:00Z')),
      entryOf(loadReport('upstream-timeout-resolved')),
    ];
    expect(meanTimeToResolve(entries.slice(0, 3))).toBe(200);
    expect(meanTimeToResolve([entries[2]!])).toBeUndefined();
    expect(countsByCause(entries)).toEqual([
      { rootCause: 'upstream-down', count: 3 },
      { rootCause: 'upstream-timeout', count: 1 },
    ]);
    const groups = recurringGroups(entries);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.incidents.map((e) => e.id)).toEqual([
      'shop-20261203T000000Z-cccc',
      'shop-20261202T000000Z-bbbb',
      'shop-20261201T000000Z-aaaa',
    ]);
  });
});

describe('availability from the probe history', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  it('is the share of passed probes in the SLO window, with the error budget left', () => {
    const minutes = [
      { minute: '2026-11-01T00:00:00Z', ok: 0, failed: 50 }, // before the 30-day window
      { minute: '2026-12-06T11:00:00Z', ok: 9990, failed: 5 },
      { minute: '2026-12-06T11:01:00Z', ok: 5, failed: 0 },
    ];
    const a = availabilityOf('shop', minutes, { availability: 99.9, windowDays: 30 }, now);
    expect(a.probes).toBe(10_000);
    expect(a.failed).toBe(5);
    expect(a.availability).toBeCloseTo(99.95, 10);
    // 0.1% of 10,000 probes is a budget of 10 failures; 5 are spent.
    expect(a.budgetRemaining).toBeCloseTo(50, 10);
    expect(
      availabilityOf('shop', [], { availability: 99.9, windowDays: 30 }, now).availability,
    ).toBeUndefined();
  });

  it('skips a torn last line and refuses anything else that is not a probe minute', () => {
    expect(
      parseProbeMinutes('{"minute":"2026-12-06T11:00:00Z","ok":1,"failed":0}\n{"minute":"2026-12'),
    ).toHaveLength(1);
    expect(() =>
      parseProbeMinutes('{"minute":"x"}\n{"minute":"2026-12-06T11:00:00Z","ok":1,"failed":0}\n'),
    ).toThrow(ProbeHistoryFormatError);
  });
});

describe('the index pages', () => {
  const now = '2026-12-06T12:00:00Z';
  function indexOf(reports: Report[]) {
    return reports.reduce((index, r) => upsertEntry(index, entryOf(r), now), emptyIndex(now));
  }

  it('filters by target and by cause with one static page each, linked from every page, no script needed', () => {
    const index = indexOf([
      reportAt('shop-20261201T000000Z-aaaa', '2026-12-01T00:00:00Z'),
      { ...reportAt('blog-20261202T000000Z-bbbb', '2026-12-02T00:00:00Z'), target: 'blog' },
      loadReport('upstream-timeout-resolved'),
    ]);
    const pages = renderIndexPages(index, {
      availability: [
        availabilityOf(
          'shop',
          [{ minute: '2026-12-06T11:00:00Z', ok: 99, failed: 1 }],
          { availability: 99.9, windowDays: 30 },
          new Date(now),
        ),
      ],
      generatedAt: now,
    });
    const byName = new Map(pages.map((p) => [p.name, p.html]));
    expect([...byName.keys()].sort()).toEqual(
      [
        'index.html',
        targetPageName('blog'),
        targetPageName('shop'),
        causePageName('upstream-down'),
        causePageName('upstream-timeout'),
      ].sort(),
    );
    for (const [name, page] of byName) {
      expect(pageProblems(page), name).toEqual([]);
      const hrefs = tokenizeHtml(page).tokens.flatMap((t) =>
        t.type === 'start' && t.name === 'a'
          ? t.attributes.filter((a) => a.name === 'href').map((a) => a.value)
          : [],
      );
      // Every filter page is reachable from every page.
      for (const other of byName.keys()) expect(hrefs, `${name} links ${other}`).toContain(`./${other}`);
    }
    const blog = visibleText(byName.get(targetPageName('blog'))!);
    expect(blog).toContain('blog-20261202T000000Z-bbbb');
    expect(blog).not.toContain('shop-20261201T000000Z-aaaa');
    const timeouts = visibleText(byName.get(causePageName('upstream-timeout'))!);
    expect(timeouts).not.toContain('blog-20261202T000000Z-bbbb');
    const all = visibleText(byName.get('index.html')!);
    expect(all.indexOf('blog-20261202T000000Z-bbbb')).toBeLessThan(all.indexOf('shop-20261201T000000Z-aaaa'));
    expect(all).toContain('99%');
  });

  it.each(HOSTILE_STRINGS)('escapes a hostile target, cause, summary, note and id: %j', (hostile) => {
    const base = reportAt('shop-20261201T000000Z-aaaa', '2026-12-01T00:00:00Z');
    const report: Report = {
      ...base,
      incidentId: `x ${hostile}`,
      target: `target ${hostile}`,
      verdict: {
        ...base.verdict,
        rootCause: `cause ${hostile}` as Report['verdict']['rootCause'],
        summary: `summary ${hostile}`,
        upstream: `up ${hostile}`,
      },
      activity: [
        { at: '2026-12-01T00:01:00Z', by: `by ${hostile}`, action: 'ack' },
        { at: '2026-12-01T00:02:00Z', by: 'x', action: 'note', text: `note ${hostile}` },
      ],
    };
    const second = { ...report, incidentId: `y ${hostile}`, openedAt: '2026-12-02T00:00:00Z' };
    const pages = renderIndexPages(indexOf([report, second]), {
      availability: [
        availabilityOf(
          `target ${hostile}`,
          [{ minute: '2026-12-06T11:00:00Z', ok: 1, failed: 0 }],
          { availability: 99, windowDays: 30 },
          new Date(now),
        ),
      ],
      generatedAt: now,
    });
    for (const page of pages) {
      expect(page.name).toMatch(/^index(-(target|cause)-[a-z0-9-]+)?\.html$/);
      expect(pageProblems(page.html), page.name).toEqual([]);
    }
    const text = visibleText(pages.find((p) => p.name === 'index.html')!.html);
    expect(text).toContain('summary');
    expect(text).toContain('target');
  });
});
