/**
 * The error rate both worlds alarm on, derived once: `Status5xxShare` at a minute is
 * `100 * SUM(5xx) / SUM(requests)` over the error-rate window that ends with that minute. A ratio of
 * sums — not an average of per-minute percentages, where one failed request in a quiet minute among busy
 * ones weighs as much as the busy minutes (review finding M6) — and nothing while the window holds fewer
 * than `minRequests` requests. In AWS the log-rate Lambda feeds it per-minute counts that CloudWatch Logs
 * Insights aggregated server-side; locally `watch` feeds it the minutes it counted itself.
 */
import type { ErrorRateWindow } from '../alarm/definitions.ts';
import { MINUTE_MS } from './log-minutes.ts';

/** One minute of an access log: requests answered and those answered 500–599. */
export interface MinuteStatusCount {
  /** Start of the minute, epoch ms (a multiple of 60,000). */
  minuteMs: number;
  requests: number;
  status5xx: number;
}

/** The share of 5xx answers over the window ending with `minuteMs` (inclusive), or `undefined`. */
export function status5xxShare(
  minutes: readonly MinuteStatusCount[],
  minuteMs: number,
  window: ErrorRateWindow,
): number | undefined {
  const from = minuteMs - (window.minutes - 1) * MINUTE_MS;
  let requests = 0;
  let errors = 0;
  for (const minute of minutes) {
    if (minute.minuteMs < from || minute.minuteMs > minuteMs) continue;
    requests += minute.requests;
    errors += minute.status5xx;
  }
  if (requests === 0 || requests < window.minRequests) return undefined;
  return (100 * errors) / requests;
}

/**
 * Which shares to publish for the minutes `fromMs`…`toMs` (inclusive, minute starts), as the AWS
 * publisher does it: a custom metric costs for every hour it has data, so a healthy target publishes
 * nothing. A minute is published when its share is above 0, or when one of the `trailingZeros` minutes
 * before it was (so an alarm sees its recovery as 0 instead of reaching back over the gap to the last
 * breaching value: CloudWatch evaluates up to N + 2 periods back when data is missing). With 1 of 1
 * and missing data not breaching, 0 and missing evaluate the same everywhere else.
 */
export function publishedShares(
  minutes: readonly MinuteStatusCount[],
  fromMs: number,
  toMs: number,
  window: ErrorRateWindow,
  trailingZeros = 2,
): { minuteMs: number; share: number }[] {
  const shares: { minuteMs: number; share: number | undefined }[] = [];
  for (let at = fromMs - trailingZeros * MINUTE_MS; at <= toMs; at += MINUTE_MS) {
    shares.push({ minuteMs: at, share: status5xxShare(minutes, at, window) });
  }
  const published: { minuteMs: number; share: number }[] = [];
  for (let i = trailingZeros; i < shares.length; i++) {
    const share = shares[i]!.share;
    // A window with too few requests has no share: nothing is published for it, as with every minute
    // published (publishing 0 there would end an ALARM that the dense series keeps).
    if (share === undefined) continue;
    const recent = shares.slice(i - trailingZeros, i + 1);
    if (!recent.some((s) => (s.share ?? 0) > 0)) continue;
    published.push({ minuteMs: shares[i]!.minuteMs, share });
  }
  return published;
}
