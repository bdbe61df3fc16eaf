/**
 * The error rate in AWS, without polling FilterLogEvents and without a cursor: once a minute the
 * log-rate Lambda asks CloudWatch Logs Insights for per-minute request and 5xx counts of every access-log
 * group — counted server-side by one `stats` query per {@link MAX_LOG_GROUPS_PER_QUERY} groups — and
 * publishes each target's `Status5xxShare` (`error-rate.ts`) for the newest settled minute. Each run
 * reads the whole window it needs, so nothing is carried between runs: a missed run is a missing
 * datapoint (not breaching), never a skipped or double-counted minute.
 *
 * Both nginx formats are counted: gatewatch's (`gw1<TAB>time<TAB>status…`) and `combined`
 * (`… "GET / HTTP/1.1" 502 …`). A line of neither format counts as a request with no 5xx.
 *
 * Pure: builds the query and reads its result rows; the adapter runs it.
 */
import type { AlarmDefinition, ErrorRateWindow } from '../alarm/definitions.ts';
import { type MinuteStatusCount, publishedShares } from './error-rate.ts';
import { MINUTE_MS } from './log-minutes.ts';
import { DIMENSION_NAMES, METRIC_NAMES, type MetricRecord } from './records.ts';

/** StartQuery takes at most 50 log groups (`logGroupNames`, CloudWatch Logs API Reference). */
export const MAX_LOG_GROUPS_PER_QUERY = 50;

/**
 * The query: per minute and log group, the requests and the 5xx answers of either format. Logs Insights
 * counts server-side and returns one row per (minute, group); `@log` is `<account>:<group>`.
 */
export const LOG_RATE_QUERY = [
  'parse @message /^gw1\\t[^\\t]*\\t(?<gwError>5\\d\\d)\\t/',
  'parse @message /" (?<clfError>5\\d\\d) /',
  'stats count(*) as requests, count(gwError) as gwErrors, count(clfError) as clfErrors by bin(1m) as minute, @log',
  'limit 10000',
].join(' | ');

/** What the log-rate run needs of one target. */
export interface LogRateTarget {
  target: string;
  /** The access-log group (a `group:stream` log names its group). */
  logGroup: string;
  window: ErrorRateWindow;
}

/** The targets whose error-rate alarm the log-rate Lambda feeds: those with an access-log group. */
export function logRateTargets(
  targets: readonly { name: string; aws?: { logGroups: { access?: string | undefined } } | undefined }[],
  definitions: readonly AlarmDefinition[],
): LogRateTarget[] {
  return targets.flatMap((target) => {
    const access = target.aws?.logGroups.access;
    const window = definitions.find((d) => d.id === `${target.name}-error-rate`)?.window;
    if (access === undefined || window === undefined) return [];
    return [{ target: target.name, logGroup: access.split(':')[0]!, window }];
  });
}

/** The time range a run queries to publish `minuteMs`: the longest window plus the trailing zeros. */
export function queryRange(
  targets: readonly LogRateTarget[],
  minuteMs: number,
  trailingZeros = 2,
): { fromMs: number; toMs: number } {
  const longest = Math.max(1, ...targets.map((t) => t.window.minutes));
  return { fromMs: minuteMs - (longest - 1 + trailingZeros) * MINUTE_MS, toMs: minuteMs + MINUTE_MS };
}

/** Query result rows, field name → value, as GetQueryResults returns them. */
export type QueryRow = Record<string, string>;

/** The result rows did not have the shape {@link LOG_RATE_QUERY} produces. */
export class LogRateResultError extends Error {
  override name = 'LogRateResultError';
}

function count(row: QueryRow, field: string): number {
  const value = row[field];
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new LogRateResultError(`${field} is ${JSON.stringify(value)}`);
  return n;
}

/** Logs Insights prints `bin(1m)` as `2026-12-06 22:01:00.000` (UTC). */
function minuteOf(value: string | undefined): number {
  const at = value === undefined ? Number.NaN : Date.parse(`${value.replace(' ', 'T')}Z`);
  if (!Number.isFinite(at)) throw new LogRateResultError(`minute ${JSON.stringify(value)} is not a time`);
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/** Rows → per log group name, the minutes counted. */
export function minuteCountsByGroup(rows: readonly QueryRow[]): Map<string, MinuteStatusCount[]> {
  const groups = new Map<string, MinuteStatusCount[]>();
  for (const row of rows) {
    const log = row['@log'];
    if (log === undefined) throw new LogRateResultError('a row has no @log');
    const group = log.includes(':') ? log.slice(log.indexOf(':') + 1) : log;
    const list = groups.get(group) ?? [];
    list.push({
      minuteMs: minuteOf(row.minute),
      requests: count(row, 'requests'),
      status5xx: count(row, 'gwErrors') + count(row, 'clfErrors'),
    });
    groups.set(group, list);
  }
  return groups;
}

/**
 * The records to publish for `minuteMs`: each target's share when it is above 0 or just was (see
 * `publishedShares`); nothing for a healthy target, so its error-rate metric costs nothing.
 */
export function logRateRecords(
  targets: readonly LogRateTarget[],
  counts: ReadonlyMap<string, readonly MinuteStatusCount[]>,
  minuteMs: number,
): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (const target of targets) {
    const minutes = counts.get(target.logGroup) ?? [];
    for (const { minuteMs: at, share } of publishedShares(minutes, minuteMs, minuteMs, target.window)) {
      const inWindow = minutes.filter(
        (m) => m.minuteMs > at - target.window.minutes * MINUTE_MS && m.minuteMs <= at,
      );
      records.push({
        atMs: at,
        dimensions: { [DIMENSION_NAMES.target]: target.target },
        metrics: [{ name: METRIC_NAMES.status5xxShare, unit: 'Percent', value: share }],
        properties: {
          windowMinutes: target.window.minutes,
          requests: inWindow.reduce((a, m) => a + m.requests, 0),
          status5xx: inWindow.reduce((a, m) => a + m.status5xx, 0),
        },
      });
    }
  }
  return records;
}

/** A Logs Insights query returns at most 10,000 rows (its `limit` maximum). */
export const MAX_QUERY_ROWS = 10_000;

/**
 * The groups of the targets in queries of at most {@link MAX_LOG_GROUPS_PER_QUERY} groups, and few
 * enough that one row per group and minute of the range fits in {@link MAX_QUERY_ROWS}.
 */
export function queryBatches(targets: readonly LogRateTarget[], rangeMinutes: number): string[][] {
  const groups = [...new Set(targets.map((t) => t.logGroup))];
  const size = Math.max(
    1,
    Math.min(MAX_LOG_GROUPS_PER_QUERY, Math.floor(MAX_QUERY_ROWS / Math.max(1, rangeMinutes))),
  );
  const batches: string[][] = [];
  for (let i = 0; i < groups.length; i += size) batches.push(groups.slice(i, i + size));
  return batches;
}
