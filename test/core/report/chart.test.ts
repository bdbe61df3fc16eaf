import { describe, expect, it } from 'vitest';
import {
  bucketMinutesFor,
  CHART_COLORS,
  MAX_BARS,
  MIN_BAR_HEIGHT,
  renderTrafficChart,
} from '../../../lambdas/core/report/chart.ts';
import type { TrafficMinute } from '../../../lambdas/core/types.ts';
import { loadReport } from './fixtures.ts';
import { tokenizeHtml } from './html-check.ts';

interface Rect {
  className: string;
  fill: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Bar {
  title: string;
  requests?: Rect;
  errors?: Rect;
}

/** The bar groups of a chart, read with the HTML tokenizer (SVG is foreign content in the page). */
function readBars(svg: string): Bar[] {
  const { tokens } = tokenizeHtml(svg);
  const bars: Bar[] = [];
  let inBars = false;
  let depth = 0;
  let current: Bar | undefined;
  let inTitle = false;
  for (const token of tokens) {
    if (token.type === 'start' && token.name === 'g') {
      if (token.attributes.some((a) => a.name === 'class' && a.value === 'bars')) inBars = true;
      else if (inBars) {
        depth++;
        current = { title: '' };
        bars.push(current);
      }
    } else if (token.type === 'end' && token.name === 'g' && inBars) {
      if (depth === 0) inBars = false;
      else depth--;
    } else if (current !== undefined && token.type === 'start' && token.name === 'title') inTitle = true;
    else if (token.type === 'end' && token.name === 'title') inTitle = false;
    else if (current !== undefined && inTitle && token.type === 'text') current.title += token.text;
    else if (current !== undefined && token.type === 'start' && token.name === 'rect') {
      const attr = (name: string) => token.attributes.find((a) => a.name === name)?.value ?? '';
      const rect: Rect = {
        className: attr('class'),
        fill: attr('fill'),
        x: Number(attr('x')),
        y: Number(attr('y')),
        width: Number(attr('width')),
        height: Number(attr('height')),
      };
      if (rect.className === 'req') current.requests = rect;
      else if (rect.className === 'err') current.errors = rect;
    }
  }
  return bars;
}

function minute(at: string, requests: number, status502 = 0, status504 = 0): TrafficMinute {
  return { minute: at, requests, status5xx: status502 + status504, status502, status504 };
}

/** `count` consecutive minutes from `start`, with requests and 502s from the callbacks. */
function series(
  start: string,
  count: number,
  requests: (i: number) => number,
  errors: (i: number) => number,
) {
  const from = Date.parse(start);
  return Array.from({ length: count }, (_, i) =>
    minute(new Date(from + i * 60_000).toISOString(), requests(i), errors(i)),
  );
}

describe('renderTrafficChart', () => {
  // 10:03 is missing from the series: a minute without traffic.
  const known = [
    minute('2026-11-24T10:00:00Z', 10),
    minute('2026-11-24T10:01:00Z', 20, 5),
    minute('2026-11-24T10:02:00Z', 40, 30, 10),
    minute('2026-11-24T10:04:00Z', 30, 10),
  ];

  it('draws bar heights proportional to requests, with the 5xx share on the same scale', () => {
    const bars = readBars(renderTrafficChart(known));
    expect(bars.map((bar) => bar.title)).toEqual([
      '10:00 UTC: 10 requests, 0 5xx',
      '10:01 UTC: 20 requests, 5 5xx (502: 5, 504: 0)',
      '10:02 UTC: 40 requests, 40 5xx (502: 30, 504: 10)',
      '10:04 UTC: 30 requests, 10 5xx (502: 10, 504: 0)',
    ]);
    const perRequest = bars[0]!.requests!.height / 10;
    expect(perRequest).toBeGreaterThan(0);
    for (const [index, requests] of [10, 20, 40, 30].entries()) {
      expect(bars[index]!.requests!.height).toBeCloseTo(requests * perRequest, 1);
    }
    expect(bars[0]!.errors).toBeUndefined();
    for (const [index, errors] of [
      [1, 5],
      [2, 40],
      [3, 10],
    ] as const) {
      const bar = bars[index]!;
      expect(bar.errors!.height).toBeCloseTo(errors * perRequest, 1);
      // The 5xx part stands on the same baseline as its bar.
      expect(bar.errors!.y + bar.errors!.height).toBeCloseTo(bar.requests!.y + bar.requests!.height, 1);
    }
  });

  it('keeps a single failure among thousands of requests visible', () => {
    const bars = readBars(
      renderTrafficChart([minute('2026-11-24T10:00:00Z', 5000), minute('2026-11-24T10:01:00Z', 5000, 1)]),
    );
    expect(bars[1]!.errors!.height).toBe(MIN_BAR_HEIGHT);
    expect(bars[1]!.requests!.height).toBeGreaterThan(90);
  });

  it('draws 5xx in a colour of its own', () => {
    const bars = readBars(renderTrafficChart(known));
    expect(bars[1]!.requests!.fill).toBe(CHART_COLORS.requests);
    expect(bars[1]!.errors!.fill).toBe(CHART_COLORS.status5xx);
    expect(CHART_COLORS.status5xx).not.toBe(CHART_COLORS.requests);
  });

  it('keeps time on the x axis: a missing minute leaves an empty slot', () => {
    const bars = readBars(renderTrafficChart(known));
    const slot = bars[1]!.requests!.x - bars[0]!.requests!.x;
    expect(slot).toBeGreaterThan(0);
    expect(bars[2]!.requests!.x - bars[1]!.requests!.x).toBeCloseTo(slot, 1);
    expect(bars[3]!.requests!.x - bars[2]!.requests!.x).toBeCloseTo(2 * slot, 1);
  });

  it('labels the axes and describes itself for screen readers', () => {
    const svg = renderTrafficChart(known);
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="gw-traffic-title gw-traffic-desc"/);
    expect(svg).toContain('<title id="gw-traffic-title">Requests and 5xx answers per minute</title>');
    expect(svg).toContain(
      '<desc id="gw-traffic-desc">From 2026-11-24 10:00 to 2026-11-24 10:04 UTC, 5 bars of minute: 100 requests, 55 answered 5xx; most 5xx in 10:02 UTC: 40 of 40.</desc>',
    );
    const labels = tokenizeHtml(svg)
      .tokens.filter((token) => token.type === 'text')
      .map((token) => (token as { text: string }).text);
    expect(labels).toContain('10:00'); // x axis
    expect(labels).toContain('0'); // y axis
    expect(labels).toContain('40'); // y axis top: the tallest bar's value is a round number here
  });

  it('returns nothing for fewer than two readable minutes', () => {
    expect(renderTrafficChart([])).toBe('');
    expect(renderTrafficChart([minute('2026-11-24T10:00:00Z', 5)])).toBe('');
    expect(renderTrafficChart([minute('2026-11-24T10:00:00Z', 5), minute('2026-11-24T10:00:30Z', 5)])).toBe(
      '',
    );
    expect(renderTrafficChart([minute('2026-11-24T10:00:00Z', 5), minute('<script>', 5)])).toBe('');
  });

  it('ignores counts that are not numbers instead of drawing NaN', () => {
    const svg = renderTrafficChart([
      minute('2026-11-24T10:00:00Z', Number.NaN),
      minute('2026-11-24T10:01:00Z', -5),
      minute('2026-11-24T10:02:00Z', Number.POSITIVE_INFINITY, 3),
    ]);
    expect(svg).not.toMatch(/NaN|Infinity|="-/);
    expect(readBars(svg)).toHaveLength(1);
  });

  it('sums a day of minutes into 10-minute bars', () => {
    const report = loadReport('upstream-closed-early-day');
    const svg = renderTrafficChart(report.traffic.perMinute);
    const bars = readBars(svg);
    expect(bars).toHaveLength(144);
    expect(svg).toContain('90,717 requests, 4,390 answered 5xx');
    expect(report.traffic.requests).toBe(90_717);
    const total = bars.reduce(
      (sum, bar) => sum + Number(/: ([\d,]+) requests/.exec(bar.title)![1]!.replace(/,/g, '')),
      0,
    );
    expect(total).toBe(report.traffic.requests);
    expect(bars[0]!.title).toMatch(/^2026-11-23 06:00–06:09 UTC: /);
  });

  it('keeps a week of minutes under 100 KB as hourly bars', () => {
    const week = series(
      '2026-11-17T00:00:00Z',
      10_080,
      (i) => 100 + (i % 60),
      (i) => (i % 97 === 0 ? 7 : 0),
    );
    const svg = renderTrafficChart(week);
    const bars = readBars(svg);
    expect(Buffer.byteLength(svg)).toBeLessThan(100_000);
    expect(bars).toHaveLength(168);
    expect(bars.length).toBeLessThanOrEqual(MAX_BARS);
    expect(svg).toContain('per 60 minutes');
    const requests = week.reduce((sum, m) => sum + m.requests, 0);
    expect(svg).toContain(`${requests.toLocaleString('en-US')} requests`);
  });

  it('picks readable bucket sizes that keep the bar count bounded', () => {
    expect(bucketMinutesFor(2)).toBe(1);
    expect(bucketMinutesFor(MAX_BARS)).toBe(1);
    expect(bucketMinutesFor(MAX_BARS + 1)).toBe(2);
    expect(bucketMinutesFor(1440)).toBe(10);
    expect(bucketMinutesFor(10_080)).toBe(60);
    expect(bucketMinutesFor(365 * 1440)).toBe(3 * 1440);
  });
});
