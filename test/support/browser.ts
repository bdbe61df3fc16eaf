/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Headless Chromium for page tests (Debian's /usr/bin/chromium driven by playwright-core): open a
 * self-contained page at a given width and measure what a reader sees — horizontal overflow, whether an
 * element is fully visible, table cells narrower than their longest word, text sizes. Reusable for any
 * gatewatch page (the incident report, the incident index).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
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

/**
 * Opens a page from disk with JavaScript off, as a reader opens a report folder: links to files in the
 * same folder work (the index's filter pages); every other request is refused.
 */
export async function openFile(browser: Browser, path: string, width: number, height = 844): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width, height },
    deviceScaleFactor: 1,
    javaScriptEnabled: false,
  });
  await context.route('**/*', (route) =>
    route.request().url().startsWith('file://') ? route.continue() : route.abort(),
  );
  const page = await context.newPage();
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load', timeout: 60_000 });
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

/**
 * Boxes whose content is wider than the box and that scroll it sideways (`overflow-x: auto|scroll`): a
 * reader must scroll them horizontally to read it. Elements that only clip decoration are not counted.
 */
export function horizontallyScrollingBoxes(page: Page): Promise<{ element: string; hidden: number }[]> {
  return page.evaluate(() => {
    const found: { element: string; hidden: number }[] = [];
    for (const element of document.querySelectorAll('body *')) {
      const style = getComputedStyle(element);
      if (style.overflowX !== 'auto' && style.overflowX !== 'scroll') continue;
      const hidden = element.scrollWidth - element.clientWidth;
      if (hidden > 1)
        found.push({
          element: `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}.${element.className}`,
          hidden,
        });
    }
    return found;
  });
}

/**
 * Table cells (in any table on the page) narrower than the widest word of their text: the letters of
 * that word would stand in a column. A word is what the browser keeps on one line: text between spaces,
 * cut after each hyphen (where Chromium breaks `checkout-api-eu-west-1` by itself). Each text node is
 * measured in its own font (a `<code>` upstream in the monospace font), so blocks inside a cell (an id
 * under a time) count as separate words.
 */
export function cellsNarrowerThanAWord(page: Page): Promise<{ text: string; width: number; word: number }[]> {
  return page.evaluate(() => {
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d')!;
    const found: { text: string; width: number; word: number }[] = [];
    for (const cell of document.querySelectorAll('td, th')) {
      const element = cell as HTMLElement;
      const style = getComputedStyle(element);
      if (element.getClientRects().length === 0) continue; // not rendered (the phone layout hides headers)
      let widest = 0;
      let widestWord = '';
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
        const parent = node.parentElement!;
        if (parent.getClientRects().length === 0) continue;
        const font = getComputedStyle(parent);
        context.font = `${font.fontWeight} ${font.fontSize} ${font.fontFamily}`;
        for (const word of (node.textContent ?? '').split(/\s+/).flatMap((w) => w.split(/(?<=-)/))) {
          const width = context.measureText(word).width;
          if (width > widest) {
            widest = width;
            widestWord = word;
          }
        }
      }
      if (widestWord === '') continue;
      const inner =
        element.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight);
      // A word longer than the viewport cannot fit anywhere; only a cell squeezed below a normal word fails.
      const limit = Math.min(widest, window.innerWidth * 0.8);
      if (inner + 1 < limit)
        found.push({
          text: `${(element.textContent ?? '').trim().slice(0, 60)} [${widestWord.slice(0, 40)}]`,
          width: Math.round(inner),
          word: Math.round(widest),
        });
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
