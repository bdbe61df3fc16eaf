/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Headless Chromium for page tests (Debian's /usr/bin/chromium driven by playwright-core): open a
 * self-contained page at a given width and measure what a reader sees — horizontal overflow, whether an
 * element is fully visible, table cells narrower than their longest word, text sizes. Reusable for any
 * gatewatch page (the incident report, the incident index).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.GATEWATCH_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Phone and desktop widths the pages are checked at. */
export const WIDTHS = { phone: 390, desktop: 1280 } as const;

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 120_000 });
}

/** Opens `html` (a whole page) at `width` CSS px; no network: every request but the page itself is refused. */
export async function openPage(browser: Browser, html: string, width: number, height = 844): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width, height },
    deviceScaleFactor: 1,
    javaScriptEnabled: true,
  });
  await context.route('**/*', (route) => route.abort());
  const page = await context.newPage();
  await page.setContent(html, { waitUntil: 'load', timeout: 60_000 });
  return page;
}

/** The page's horizontal overflow in CSS px (0 when nothing needs horizontal scrolling). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** Whether the first element matching `selector` lies fully inside the viewport's width, and its box. */
export function fullyVisibleHorizontally(
  page: Page,
  selector: string,
): Promise<{ found: boolean; left: number; right: number; viewport: number; clipped: boolean }> {
  return page.evaluate((sel) => {
    const element = document.querySelector(sel);
    if (element === null)
      return { found: false, left: 0, right: 0, viewport: window.innerWidth, clipped: false };
    const box = element.getBoundingClientRect();
    // Clipped: an ancestor (or the element) hides overflowing content (scrolls or cuts it).
    const clipped = element.scrollWidth > element.clientWidth + 1;
    return { found: true, left: box.left, right: box.right, viewport: window.innerWidth, clipped };
  }, selector);
}

/** Table cells (in any table on the page) narrower than the widest single word of their text. */
export function cellsNarrowerThanAWord(page: Page): Promise<{ text: string; width: number; word: number }[]> {
  return page.evaluate(() => {
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d')!;
    const found: { text: string; width: number; word: number }[] = [];
    for (const cell of document.querySelectorAll('td, th')) {
      const element = cell as HTMLElement;
      const style = getComputedStyle(element);
      if (element.getClientRects().length === 0) continue; // not rendered (the phone layout hides headers)
      const text = (element.textContent ?? '').trim();
      if (text === '') continue;
      let widest = 0;
      const font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      context.font = font;
      for (const word of text.split(/\s+/)) widest = Math.max(widest, context.measureText(word).width);
      const inner =
        element.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight);
      // A word longer than the viewport cannot fit anywhere; only a cell squeezed below a normal word fails.
      const limit = Math.min(widest, window.innerWidth * 0.8);
      if (inner + 1 < limit)
        found.push({ text: text.slice(0, 80), width: Math.round(inner), word: Math.round(widest) });
    }
    return found;
  });
}

/** The smallest rendered font size (CSS px) of the SVG text elements under `selector`. */
export function smallestSvgTextPx(
  page: Page,
  selector: string,
): Promise<{ count: number; smallest: number }> {
  return page.evaluate((sel) => {
    let smallest = Number.POSITIVE_INFINITY;
    let count = 0;
    for (const text of document.querySelectorAll(`${sel} text`)) {
      const box = (text as SVGGraphicsElement).getBoundingClientRect();
      const svg = text.closest('svg')!;
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      const size = Number.parseFloat(getComputedStyle(text).fontSize) * scale;
      if (box.width > 0) {
        count++;
        smallest = Math.min(smallest, size);
      }
    }
    return { count, smallest };
  }, selector);
}
