/**
 * The report's traffic chart: requests and 5xx answers over the incident window as an inline SVG bar
 * chart, drawn from numbers only (times are re-formatted, never copied), so it needs no script, no font
 * and no network. Each bar is one bucket of minutes; the 5xx part of the bar is drawn over its base in a
 * second colour, so the red share of a bar is the share of failing requests. Heights are proportional to
 * the counts, except that a non-zero count is never drawn shorter than {@link MIN_BAR_HEIGHT}.
 */
import type { TrafficMinute, TrafficSecond } from '../types.ts';
import { escapeHtml } from './escape.ts';
import { formatCount } from './view.ts';

// A narrow drawing with 12-unit text: on a 390 px phone (about 358 px for the chart) labels render at
// about 11 CSS px, and the page caps the chart at 640 px on a desktop (about 19 px), so text stays readable
// at both ends instead of shrinking to 5 px on a phone.
const WIDTH = 400;
const HEIGHT = 230;
const FONT_SIZE = 12;
const MARGIN = { top: 30, right: 10, bottom: 40, left: 46 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
const BASELINE = MARGIN.top + PLOT_HEIGHT;
const MINUTE_MS = 60_000;
const SECOND_MS = 1000;
const DAY_MINUTES = 1440;
/** Seconds per bar for a window of a few minutes (demo, `watch`): a chart even when under a minute. */
const BUCKET_SECONDS = [1, 2, 5, 10, 15, 30, 60];
/** Below this many minutes of traffic, per-second counts (when the report has them) draw the chart. */
export const FINE_CHART_MINUTES = 10;
/** At most this many bars of seconds. */
const MAX_FINE_BARS = 60;

/** At most this many bars: a week of minutes becomes 168 hourly bars, and the SVG stays a few tens of KB. */
export const MAX_BARS = 180;
// Bucket sizes a person can read off an axis; above a day, whole days.
const BUCKET_MINUTES = [1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, DAY_MINUTES];
const X_LABELS = 4;
const Y_TICKS = 4;
/** A non-zero count is drawn at least this tall, so one failed request among thousands stays visible. */
export const MIN_BAR_HEIGHT = 2;

/** Fill colours when the SVG stands alone; the HTML page restyles them through the classes. */
export const CHART_COLORS = { requests: '#8796ad', status5xx: '#d1242f' } as const;

interface Bucket {
  startMs: number;
  requests: number;
  status5xx: number;
  status502: number;
  status504: number;
}

/** A count from an untrusted report: negative, fractional or non-numeric values do not bend the chart. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/** The smallest readable bucket size that keeps the bar count within {@link MAX_BARS}. */
export function bucketMinutesFor(spanMinutes: number): number {
  const needed = Math.ceil(spanMinutes / MAX_BARS);
  return BUCKET_MINUTES.find((size) => size >= needed) ?? Math.ceil(needed / DAY_MINUTES) * DAY_MINUTES;
}

/**
 * A round grid step (1, 2, 2.5, 5 × 10ⁿ, whole numbers only, since the values are counts) such that
 * {@link Y_TICKS} steps reach `max`; the axis top is that many steps.
 */
function yStep(max: number): number {
  const raw = max / Y_TICKS;
  if (raw <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).filter(Number.isInteger);
  return steps.find((step) => step >= raw) ?? 10 * magnitude;
}

function num(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

function clock(ms: number, seconds = false): string {
  const date = new Date(ms);
  return `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}${seconds ? `:${pad2(date.getUTCSeconds())}` : ''}`;
}

function day(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}`;
}

interface Bucketed {
  buckets: Bucket[];
  /** Bar width in milliseconds. */
  bucketMs: number;
  /** Whether the bars are seconds (labels then show seconds). */
  fine: boolean;
  /** Start of the first and of the last unit (minute or second) in the series. */
  firstMs: number;
  lastMs: number;
}

interface Point {
  at: string;
  requests: number;
  status5xx: number;
  status502: number;
  status504: number;
}

function bucketise(
  points: readonly Point[],
  unitMs: number,
  sizesMs: (span: number) => number,
): Bucketed | undefined {
  const units = new Map<number, Point[]>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const point of points) {
    const ms = Date.parse(point.at);
    if (!Number.isFinite(ms)) continue; // an unreadable time cannot be placed; the totals elsewhere keep it
    const start = Math.floor(ms / unitMs) * unitMs;
    const entries = units.get(start);
    if (entries === undefined) units.set(start, [point]);
    else entries.push(point);
    first = Math.min(first, start);
    last = Math.max(last, start);
  }
  if (units.size < 2) return undefined;
  const bucketMs = sizesMs((last - first) / unitMs + 1);
  // Buckets align to UTC multiples of their size, so hourly bars start on the hour.
  const origin = Math.floor(first / bucketMs) * bucketMs;
  const buckets: Bucket[] = [];
  for (let start = origin; start <= last; start += bucketMs) {
    buckets.push({ startMs: start, requests: 0, status5xx: 0, status502: 0, status504: 0 });
  }
  for (const [start, entries] of units) {
    const bucket = buckets[Math.floor((start - origin) / bucketMs)]!;
    for (const entry of entries) {
      bucket.requests += count(entry.requests);
      bucket.status5xx += count(entry.status5xx);
      bucket.status502 += count(entry.status502);
      bucket.status504 += count(entry.status504);
    }
  }
  return { buckets, bucketMs, fine: unitMs === SECOND_MS, firstMs: first, lastMs: last };
}

/** The smallest readable bucket of seconds that keeps a short window within {@link MAX_FINE_BARS} bars. */
export function bucketSecondsFor(spanSeconds: number): number {
  const needed = Math.ceil(spanSeconds / MAX_FINE_BARS);
  return BUCKET_SECONDS.find((size) => size >= needed) ?? 60;
}

/**
 * Minute bars, or — when the minutes span less than {@link FINE_CHART_MINUTES} and per-second counts are
 * given — bars of seconds, so a window of a few seconds still gets a chart.
 */
function chooseBuckets(
  perMinute: readonly TrafficMinute[],
  perSecond: readonly TrafficSecond[] | undefined,
): Bucketed | undefined {
  const minutes = perMinute.map((m) => ({ ...m, at: m.minute }));
  const coarse = bucketise(minutes, MINUTE_MS, (span) => bucketMinutesFor(span) * MINUTE_MS);
  const spanMinutes = coarse === undefined ? 0 : (coarse.lastMs - coarse.firstMs) / MINUTE_MS + 1;
  if (perSecond !== undefined && perSecond.length > 0 && spanMinutes < FINE_CHART_MINUTES) {
    const fine = bucketise(
      perSecond.map((s) => ({ ...s, at: s.second })),
      SECOND_MS,
      (span) => bucketSecondsFor(span) * SECOND_MS,
    );
    if (fine !== undefined) return fine;
  }
  return coarse;
}

function bucketLabel(bucket: Bucket, bucketMs: number, withDay: boolean, fine: boolean): string {
  const from = `${withDay ? `${day(bucket.startMs)} ` : ''}${clock(bucket.startMs, fine)}`;
  const unit = fine ? SECOND_MS : MINUTE_MS;
  if (bucketMs === unit) return `${from} UTC`;
  return `${from}–${clock(bucket.startMs + bucketMs - unit, fine)} UTC`;
}

function unitName(bucketMs: number): string {
  if (bucketMs < MINUTE_MS) return bucketMs === SECOND_MS ? 'second' : `${bucketMs / SECOND_MS} seconds`;
  const minutes = bucketMs / MINUTE_MS;
  return minutes === 1 ? 'minute' : `${minutes} minutes`;
}

function bar(
  className: string,
  fill: string,
  x: number,
  width: number,
  value: number,
  scale: number,
): string {
  const height = Math.max(MIN_BAR_HEIGHT, value * scale);
  return `<rect class="${className}" fill="${fill}" x="${num(x)}" y="${num(BASELINE - height)}" width="${num(width)}" height="${num(height)}"/>`;
}

/**
 * Renders `perMinute` as an inline SVG bar chart of requests with the 5xx answers highlighted, axes,
 * UTC time labels, and an accessible `<title>`/`<desc>` that states the totals and the worst minute.
 * Minutes missing from the series count as no traffic; a long window is summed into buckets (2, 5, 10 …
 * minutes, hours, days) so there are at most {@link MAX_BARS} bars. Returns `''` when fewer than two
 * distinct minutes can be read, because a single bar says nothing the totals do not.
 */
export function renderTrafficChart(
  perMinute: readonly TrafficMinute[],
  perSecond?: readonly TrafficSecond[],
): string {
  const result = chooseBuckets(perMinute, perSecond);
  if (result === undefined) return '';
  const { buckets, bucketMs, fine, firstMs, lastMs } = result;
  const withDay = day(firstMs) !== day(lastMs);

  const totalRequests = buckets.reduce((sum, bucket) => sum + bucket.requests, 0);
  const total5xx = buckets.reduce((sum, bucket) => sum + bucket.status5xx, 0);
  const step = yStep(Math.max(...buckets.map((bucket) => Math.max(bucket.requests, bucket.status5xx))));
  const yMax = step * Y_TICKS;
  const scale = PLOT_HEIGHT / yMax;
  const slot = PLOT_WIDTH / buckets.length;
  const gap = slot >= 4 ? slot * 0.15 : 0;
  const unit = unitName(bucketMs);

  let worst: Bucket | undefined;
  for (const bucket of buckets) if (bucket.status5xx > (worst?.status5xx ?? 0)) worst = bucket;

  const title = `Requests and 5xx answers per ${unit}`;
  const desc =
    `From ${day(firstMs)} ${clock(firstMs, fine)} to ${day(lastMs)} ${clock(lastMs, fine)} UTC, ` +
    `${buckets.length} bars of ${unit}: ${formatCount(totalRequests)} requests, ${formatCount(total5xx)} answered 5xx` +
    (worst === undefined
      ? '.'
      : `; most 5xx in ${bucketLabel(worst, bucketMs, withDay, fine)}: ${formatCount(worst.status5xx)} of ${formatCount(worst.requests)}.`);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="traffic-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="gw-traffic-title gw-traffic-desc" font-family="system-ui, sans-serif" font-size="${FONT_SIZE}">`,
    `<title id="gw-traffic-title">${escapeHtml(title)}</title>`,
    `<desc id="gw-traffic-desc">${escapeHtml(desc)}</desc>`,
  ];

  // Legend, top left.
  parts.push(
    `<g class="legend" fill="currentColor">` +
      `<rect class="req" fill="${CHART_COLORS.requests}" x="${MARGIN.left}" y="8" width="10" height="10"/>` +
      `<text x="${MARGIN.left + 14}" y="17">requests</text>` +
      `<rect class="err" fill="${CHART_COLORS.status5xx}" x="${MARGIN.left + 76}" y="8" width="10" height="10"/>` +
      `<text x="${MARGIN.left + 90}" y="17">5xx</text>` +
      `<text x="${WIDTH - MARGIN.right}" y="17" text-anchor="end">per ${escapeHtml(unit)}, UTC</text>` +
      `</g>`,
  );

  // Y axis: grid lines and round labels.
  const yAxis: string[] = [];
  for (let tick = 0; tick <= Y_TICKS; tick++) {
    const value = step * tick;
    const y = BASELINE - value * scale;
    yAxis.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${num(y)}" y2="${num(y)}" stroke="currentColor" stroke-opacity="${tick === 0 ? 0.6 : 0.15}"/>`,
      `<text x="${MARGIN.left - 6}" y="${num(y + 4)}" text-anchor="end">${escapeHtml(formatCount(value))}</text>`,
    );
  }
  parts.push(`<g class="axis y" fill="currentColor">${yAxis.join('')}</g>`);

  // Bars: one group per bucket with traffic, its tooltip title first.
  const bars: string[] = [];
  buckets.forEach((bucket, index) => {
    if (bucket.requests === 0 && bucket.status5xx === 0) return;
    const x = MARGIN.left + index * slot + gap / 2;
    const width = slot - gap;
    const split =
      bucket.status5xx > 0
        ? ` (502: ${formatCount(bucket.status502)}, 504: ${formatCount(bucket.status504)})`
        : '';
    bars.push(
      `<g><title>${escapeHtml(`${bucketLabel(bucket, bucketMs, withDay, fine)}: ${formatCount(bucket.requests)} requests, ${formatCount(bucket.status5xx)} 5xx${split}`)}</title>` +
        (bucket.requests > 0 ? bar('req', CHART_COLORS.requests, x, width, bucket.requests, scale) : '') +
        (bucket.status5xx > 0 ? bar('err', CHART_COLORS.status5xx, x, width, bucket.status5xx, scale) : '') +
        `</g>`,
    );
  });
  parts.push(`<g class="bars">${bars.join('')}</g>`);

  // X axis: evenly spread bucket starts, the date added when the window spans more than one day.
  const every = Math.max(1, Math.ceil(buckets.length / X_LABELS));
  const xAxis: string[] = [
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${BASELINE}" stroke="currentColor" stroke-opacity="0.6"/>`,
  ];
  for (let index = 0; index < buckets.length; index += every) {
    const bucket = buckets[index]!;
    const x = MARGIN.left + index * slot;
    xAxis.push(
      `<line x1="${num(x)}" x2="${num(x)}" y1="${BASELINE}" y2="${BASELINE + 4}" stroke="currentColor" stroke-opacity="0.6"/>`,
      `<text x="${num(x)}" y="${BASELINE + 16}" text-anchor="${index === 0 ? 'start' : 'middle'}">${escapeHtml(clock(bucket.startMs, fine))}</text>`,
    );
    const previous = buckets[index - every];
    if (withDay && (previous === undefined || day(previous.startMs) !== day(bucket.startMs))) {
      xAxis.push(
        `<text x="${num(x)}" y="${BASELINE + 30}" text-anchor="${index === 0 ? 'start' : 'middle'}" fill-opacity="0.7">${escapeHtml(day(bucket.startMs).slice(5))}</text>`,
      );
    }
  }
  parts.push(`<g class="axis x" fill="currentColor">${xAxis.join('')}</g>`, '</svg>');
  return parts.join('');
}
