/**
 * Must show 1, the incident index: index.html and its filter pages, written by the real index writer
 * (`recordInIndex` on a reports folder, probe history from files as `watch` appends it), opened from disk
 * in headless Chromium with JavaScript off, at a phone's 390 px and a desktop's 1280 px. Every page is
 * readable without horizontal scrolling (neither the page nor any box in it scrolls sideways), no table
 * cell is narrower than a word, and the filters work by following plain links. The incidents are
 * demanding on purpose: long target names, a unix-socket upstream, long incident ids, notes, an ack,
 * a recurrence. A negative control puts the old styles back and shows the checks catch them.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderReportStore } from '../../lambdas/adapters/local/folder-report-store.ts';
import { ProbeHistoryFiles } from '../../lambdas/adapters/local/probe-history-files.ts';
import { validateConfig } from '../../lambdas/core/config.ts';
import { formatIncidentId } from '../../lambdas/core/diagnosis/incident-id.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { storeReportFiles } from '../../lambdas/steps/classify-and-report.ts';
import { recordInIndex, recurrenceFor } from '../../lambdas/steps/incident-record.ts';
import { loadReport } from '../core/report/fixtures.ts';
import {
  cellsNarrowerThanAWord,
  horizontallyScrollingBoxes,
  horizontalOverflow,
  launchBrowser,
  openFile,
  openPage,
  WIDTHS,
} from '../support/browser.ts';

const NOW = new Date('2026-11-24T12:00:00Z');
const TARGETS = ['shop', 'checkout-api-eu-west-1-production', 'search'];

let browser: Browser;
let dir: string;
let pages: string[];

/** One incident of `target` opened `minutesAgo` before NOW, from a fixture report, changed by `change`. */
function incident(
  fixture: Parameters<typeof loadReport>[0],
  target: string,
  minutesAgo: number,
  suffix: string,
  change: (report: Report) => void = () => undefined,
): Report {
  const report = loadReport(fixture);
  const opened = new Date(NOW.getTime() - minutesAgo * 60_000);
  report.target = target;
  report.openedAt = opened.toISOString().replace('.000Z', 'Z');
  report.incidentId = formatIncidentId(target, opened, suffix);
  change(report);
  return report;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-notify-index-'));
  const store = new FolderReportStore(dir);
  const history = new ProbeHistoryFiles(dir);
  for (const [i, target] of TARGETS.entries()) {
    const minutes = Array.from({ length: 180 }, (_, m) => ({
      minute: new Date(NOW.getTime() - (m + 1) * 60_000).toISOString().replace('.000Z', 'Z'),
      ok: 2,
      failed: m % (7 + i) === 0 ? 1 : 0,
    }));
    await history.append(target, minutes);
  }
  const config = validateConfig({
    targets: TARGETS.map((name) => ({
      name,
      probe: { url: `http://127.0.0.1:9/${name}` },
      nginx: { errorLog: '/var/log/nginx/error.log' },
      slo: { availability: 99.9 },
    })),
  });
  const reports = [
    incident('upstream-down', 'shop', 600, '0000aaaa'),
    incident('upstream-down', 'shop', 300, '0000bbbb'),
    incident('upstream-timeout-resolved', 'checkout-api-eu-west-1-production', 200, '0000cccc', (r) => {
      r.verdict.upstream = 'unix:/var/run/php/php8.2-fpm-checkout-api-eu-west-1-production.sock';
      r.verdict.summary =
        'unix:/var/run/php/php8.2-fpm-checkout-api-eu-west-1-production.sock answered too slowly: upstream timed out (110: Connection timed out) while reading response header from upstream for /api/v2/checkout/sessions/3f2a0b1c-9d8e-4c7b-a6f5-0e1d2c3b4a59/confirm';
      r.activity = [
        { at: '2026-11-24T09:30:00Z', by: 'alice.oncall-engineer', action: 'ack' },
        {
          at: '2026-11-24T09:31:00Z',
          by: 'alice.oncall-engineer',
          action: 'note',
          text: 'php-fpm pm.max_children=5 is saturated; raising to 20 after the deploy freeze',
        },
      ];
    }),
    incident('upstream-closed-early-day', 'search', 120, '0000dddd'),
    incident('healthy', 'search', 60, '0000eeee'),
    incident('upstream-down', 'checkout-api-eu-west-1-production', 30, '0000ffff'),
  ];
  for (const report of reports) {
    report.recurrence = await recurrenceFor(store, report);
    await storeReportFiles(report, store);
    await recordInIndex(store, report, { now: () => NOW, config, history });
  }
  pages = (await readdir(dir)).filter((name) => /^index.*\.html$/.test(name)).sort();
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('writes the index and a page per target and per cause', () => {
  expect(pages).toContain('index.html');
  for (const target of TARGETS) expect(pages).toContain(`index-target-${target}.html`);
  expect(pages.filter((p) => p.startsWith('index-cause-')).length).toBeGreaterThanOrEqual(3);
});

/** The incident rows a reader sees: opened link text and target cell. */
async function rows(page: Page): Promise<{ target: string; id: string }[]> {
  return page.$$eval('#incidents tbody tr', (trs) =>
    trs.map((tr) => ({
      target: (tr.children[1]?.textContent ?? '').replace(/^target\s*/i, '').trim(),
      id: (tr.querySelector('td .muted')?.textContent ?? '').trim(),
    })),
  );
}

describe.each(Object.entries(WIDTHS))('the incident index at %s width (JavaScript off)', (_name, width) => {
  it('every page reads without horizontal scrolling: neither the page nor a box in it scrolls sideways', async () => {
    const failures: string[] = [];
    for (const name of pages) {
      const page = await openFile(browser, join(dir, name), width);
      try {
        const overflow = await horizontalOverflow(page);
        if (overflow > 0) failures.push(`${name}: page overflows by ${overflow}px`);
        for (const box of await horizontallyScrollingBoxes(page))
          failures.push(`${name}: ${box.element} scrolls ${box.hidden}px sideways`);
      } finally {
        await page.context().close();
      }
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it('no table cell on any page is narrower than a word', async () => {
    const failures: string[] = [];
    for (const name of pages) {
      const page = await openFile(browser, join(dir, name), width);
      try {
        for (const cell of await cellsNarrowerThanAWord(page))
          failures.push(`${name}: "${cell.text}" ${cell.width}px < ${cell.word}px`);
      } finally {
        await page.context().close();
      }
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it('the filters work by following links: by target, by cause, and back to all', async () => {
    const page = await openFile(browser, join(dir, 'index.html'), width);
    try {
      expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(0);
      const all = await rows(page);
      expect(all).toHaveLength(6);

      await Promise.all([
        page.waitForURL(/index-target-checkout-api-eu-west-1-production\.html$/),
        page.getByRole('link', { name: 'target: checkout-api-eu-west-1-production' }).click(),
      ]);
      const checkout = await rows(page);
      expect(checkout).toHaveLength(2);
      expect(new Set(checkout.map((r) => r.target))).toEqual(new Set(['checkout-api-eu-west-1-production']));
      expect(await page.getAttribute('a[aria-current="page"]', 'href')).toBe(
        './index-target-checkout-api-eu-west-1-production.html',
      );
      // The target's page shows that target's availability only.
      expect(await page.$$eval('#availability tbody tr', (trs) => trs.length)).toBe(1);

      await Promise.all([
        page.waitForURL(/index-cause-upstream-down\.html$/),
        page.getByRole('link', { name: 'cause: upstream-down' }).click(),
      ]);
      const down = await rows(page);
      expect(down).toHaveLength(3);
      expect(down.map((r) => r.target).sort()).toEqual(['checkout-api-eu-west-1-production', 'shop', 'shop']);

      await Promise.all([
        page.waitForURL(/\/index\.html$/),
        page.getByRole('link', { name: 'All incidents' }).click(),
      ]);
      expect(await rows(page)).toEqual(all);
    } finally {
      await page.context().close();
    }
  }, 180_000);
});

describe('negative control: the checks fail on the old index styles', () => {
  it('catches cells squeezed into vertical letters at 390 px (no stacking, body overflow-wrap:anywhere)', async () => {
    const current = await readFile(join(dir, 'index.html'), 'utf8');
    // The index as it was: tables that never stack, cells that take body's overflow-wrap:anywhere.
    const old = current
      .replaceAll('<table class="stack">', '<table>')
      .replace('th,td{overflow-wrap:break-word;word-break:normal;hyphens:none}', '');
    expect(old).not.toBe(current);
    const path = join(dir, 'old-index.html');
    await writeFile(path, old);
    const page = await openFile(browser, path, WIDTHS.phone);
    try {
      expect((await cellsNarrowerThanAWord(page)).length).toBeGreaterThan(0);
    } finally {
      await page.context().close();
    }
  }, 120_000);

  it('openPage and openFile agree on the same markup (the file is what is measured)', async () => {
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    const fromMemory = await openPage(browser, html, WIDTHS.phone);
    const fromDisk = await openFile(browser, join(dir, 'index.html'), WIDTHS.phone);
    try {
      expect(await rows(fromDisk)).toEqual(await rows(fromMemory));
      expect(pathToFileURL(join(dir, 'index.html')).href).toBe(fromDisk.url());
    } finally {
      await fromMemory.context().close();
      await fromDisk.context().close();
    }
  }, 120_000);
});
