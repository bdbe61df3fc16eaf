/**
 * Must show 1: the incident report in a real browser (headless Chromium) at a phone's 390 px and a
 * desktop's 1280 px (the incident index: index-page.test.ts): the decisive log line is readable without horizontal scrolling, no table cell is
 * narrower than a word, chart labels are at least 10 CSS px. Negative controls put the old styles back and
 * show the checks catch them.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../lambdas/core/report/render-html.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { loadReport } from '../core/report/fixtures.ts';
import {
  cellsNarrowerThanAWord,
  fullyVisibleHorizontally,
  horizontallyScrollingBoxes,
  horizontalOverflow,
  launchBrowser,
  openPage,
  smallestSvgTextPx,
  WIDTHS,
} from '../support/browser.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser?.close();
});

/** A report as demo and `watch` write them: under a minute of traffic, long lines, notifications, resolved. */
function demandingReport(): Report {
  const report = loadReport('upstream-down');
  const start = Date.parse('2026-11-24T05:52:10Z');
  report.traffic.perSecond = Array.from({ length: 40 }, (_, i) => ({
    second: new Date(start + i * 1000).toISOString().replace('.000Z', 'Z'),
    requests: 5 + (i % 3),
    status5xx: i > 20 ? 5 : 0,
    status502: i > 20 ? 5 : 0,
    status504: 0,
  }));
  report.traffic.perMinute = report.traffic.perMinute.slice(0, 1);
  report.trigger.detail =
    'alarm shop-probe-failed entered ALARM at 2026-11-24T05:52:30Z: 3 of the last 3 probes of https://shop.example.com/health failed (connection refused, connection refused, HTTP 502 Bad Gateway from nginx/1.26.2) and the 5xx share of the access log rose to 100% over 1 minute';
  report.checks.push({
    name: 'ss -tlnp',
    status: 'ok',
    durationMs: 12,
    detail:
      'LISTEN 0 511 0.0.0.0:80 users:(("nginx",pid=5114,fd=6)) LISTEN 0 4096 127.0.0.53%lo:53 users:(("systemd-resolved",pid=611,fd=14))',
  });
  report.notifications = [
    {
      event: 'open',
      channel: 'email',
      status: 'failed',
      attempts: 3,
      at: '2026-11-24T05:52:40Z',
      error: 'could not send the e-mail through smtp.example.com:587: connect ECONNREFUSED 10.0.0.25:587',
    },
    { event: 'open', channel: 'pagerduty', status: 'sent', attempts: 1, at: '2026-11-24T05:52:40Z' },
  ];
  report.resolvedAt = '2026-11-24T06:13:55Z';
  report.durationSeconds = 1305;
  // The history main's incident record adds: a recurrence with long ids, an ack, a long note.
  report.recurrence = {
    fingerprint: '18a7f0bb395f7724',
    occurrence: 3,
    windowDays: 7,
    earlier: [
      {
        incidentId: 'checkout-api-eu-west-1-production-20261123T221500Z-9c1d',
        openedAt: '2026-11-23T22:15:00Z',
        report: 'checkout-api-eu-west-1-production-20261123T221500Z-9c1d/report.html',
      },
      {
        incidentId: 'checkout-api-eu-west-1-production-20261122T031000Z-77aa',
        openedAt: '2026-11-22T03:10:00Z',
        report: 'checkout-api-eu-west-1-production-20261122T031000Z-77aa/report.html',
      },
    ],
  };
  report.activity = [
    { at: '2026-11-24T05:55:00Z', by: 'alice.oncall-engineer', action: 'ack' },
    {
      at: '2026-11-24T05:58:00Z',
      by: 'alice.oncall-engineer',
      action: 'note',
      text: 'restarted node-api-checkout.service; root cause is the unhandled rejection in /srv/checkout/src/payments/providers/adyen-webhook-handler.ts',
    },
  ];
  return report;
}

const PAGES: [string, () => Report][] = [
  ['upstream-down', () => loadReport('upstream-down')],
  ['upstream-closed-early-day', () => loadReport('upstream-closed-early-day')],
  ['a short-window resolved report with notifications', demandingReport],
];

describe.each(Object.entries(WIDTHS))('the report at %s width', (_name, width) => {
  it.each(PAGES)(
    '%s: the decisive line is readable without horizontal scrolling',
    async (_label, make) => {
      const page = await openPage(browser, renderHtml(make()), width);
      try {
        expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
        expect(await horizontallyScrollingBoxes(page)).toEqual([]);
        const decisive = await fullyVisibleHorizontally(page, '#evidence pre');
        expect(decisive.found).toBe(true);
        expect(decisive.left).toBeGreaterThanOrEqual(0);
        expect(decisive.right).toBeLessThanOrEqual(decisive.viewport);
        expect(decisive.clipped).toBe(false);
      } finally {
        await page.context().close();
      }
    },
    120_000,
  );

  it.each(PAGES)(
    '%s: no table cell is narrower than a word',
    async (_label, make) => {
      const page = await openPage(browser, renderHtml(make()), width);
      try {
        expect(await cellsNarrowerThanAWord(page)).toEqual([]);
      } finally {
        await page.context().close();
      }
    },
    120_000,
  );

  it('draws the chart of a window under a minute, its labels at least 10 CSS px', async () => {
    const page = await openPage(browser, renderHtml(demandingReport()), width);
    try {
      const labels = await smallestSvgTextPx(page, '.chart');
      expect(labels.count).toBeGreaterThan(4);
      expect(labels.smallest).toBeGreaterThanOrEqual(10);
    } finally {
      await page.context().close();
    }
  }, 120_000);
});

describe('negative controls: the checks fail on the old styles', () => {
  it('catches a decisive line clipped inside a horizontally scrolling block (the old pre style)', async () => {
    const old = renderHtml(demandingReport()).replace(
      'white-space:pre-wrap;overflow-wrap:anywhere;word-break:normal',
      'overflow-x:auto;white-space:pre;overflow-wrap:normal;word-break:normal',
    );
    const page = await openPage(browser, old, WIDTHS.phone);
    try {
      expect((await fullyVisibleHorizontally(page, '#evidence pre')).clipped).toBe(true);
    } finally {
      await page.context().close();
    }
  }, 120_000);

  it('catches table cells squeezed into vertical letters (body overflow-wrap:anywhere, no stacking)', async () => {
    const old = renderHtml(demandingReport())
      .replace(/overflow-wrap:break-word;word-break:normal;hyphens:none/, 'overflow-wrap:anywhere')
      .replace(/table\.stack,table\.stack tbody[^}]*\}/, '')
      .replace(/table\.stack thead\{display:none\}/, '');
    const page = await openPage(browser, old, WIDTHS.phone);
    try {
      expect((await cellsNarrowerThanAWord(page)).length).toBeGreaterThan(0);
    } finally {
      await page.context().close();
    }
  }, 120_000);
});
