/**
 * Per-minute, per-upstream counts of one tailed nginx log, for the status view: the access log's
 * requests, 5xx, 502 and 504 per upstream peer (`$upstream_addr` / `$upstream_status`, gatewatch format
 * only), and the error log's upstream failures per kind (`refused`, `read-timeout`, `tls`, …) and peer.
 * The counting is the AWS log watcher's own (`minuteCounter` of `core/metrics/log-minutes.ts`), one
 * counter per minute: a line is bucketed by the time written in it, as the CloudWatch agent does.
 *
 * Like {@link MinuteTraffic}, a minute is handed out once it is over and a grace for late lines has
 * passed; a line for a minute already handed out is counted as late and dropped, so a minute is shown
 * with one set of counts, never revised.
 */

import {
  type AccessCounts,
  type ErrorCounts,
  type LogCounts,
  type LogKind,
  MINUTE_MS,
  type MinuteCounter,
  minuteCounter,
} from '../../core/metrics/log-minutes.ts';
import { AccessLogScanner } from '../../core/nginx/access-log.ts';
import { ErrorLogParseError, parseErrorLogLine } from '../../core/nginx/error-log.ts';

/** Requests and error answers of one upstream peer in one minute. */
export type UpstreamStatusCounts = AccessCounts['minutes'][string]['upstreams'][string];

/** Upstream failures of one kind in one minute, with the peers they were seen on. */
export type UpstreamErrorCounts = ErrorCounts['minutes'][string][string];

/** One minute of one log, as counted by `minuteCounter` (persisted as is). */
export interface LogMinute {
  /** Start of the minute, epoch ms. */
  minuteMs: number;
  counts: LogCounts;
}

/** Options of {@link UpstreamMinutes}. */
export interface UpstreamMinutesOptions {
  /** How long after a minute ends its lines may still arrive. @default 5000 */
  graceMs?: number;
  /** Minutes restored from the state file. */
  pending?: readonly LogMinute[];
  /** Error-log times have no zone: nginx's offset from UTC in minutes. @default 0 */
  utcOffsetMinutes?: number;
}

/** Counts one log's lines per minute with the shared counters and hands out the minutes that are over. */
export class UpstreamMinutes {
  readonly kind: LogKind;
  readonly #graceMs: number;
  readonly #utcOffsetMinutes: number;
  readonly #minutes = new Map<number, MinuteCounter>();
  readonly #scanner: AccessLogScanner;
  #lineTimeMs: number | undefined;
  #publishedThrough = Number.NEGATIVE_INFINITY;
  #late = 0;
  #untimed = 0;

  constructor(kind: LogKind, options: UpstreamMinutesOptions = {}) {
    this.kind = kind;
    this.#graceMs = options.graceMs ?? 5000;
    this.#utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
    for (const minute of options.pending ?? []) {
      this.#minutes.set(minute.minuteMs, this.#counter(minute.minuteMs, minute.counts));
    }
    // Only to find the line's minute; the counter reads the line again for the counts.
    this.#scanner = new AccessLogScanner((record) => {
      this.#lineTimeMs = record.timeMs;
    });
  }

  /** Reads one line as the tailer returned it (latin1 text, no newline). */
  addLine(text: string): void {
    const timeMs = this.#timeOf(text);
    if (timeMs === undefined) {
      this.#untimed++;
      return;
    }
    const minuteMs = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
    if (minuteMs <= this.#publishedThrough) {
      this.#late++;
      return;
    }
    let counter = this.#minutes.get(minuteMs);
    if (counter === undefined) {
      counter = this.#counter(minuteMs);
      this.#minutes.set(minuteMs, counter);
    }
    counter.add({ timestampMs: timeMs, message: text });
  }

  /** Minutes that are over (with the grace) and not yet handed out, oldest first; they are handed out now. */
  takeComplete(nowMs: number): LogMinute[] {
    const done = [...this.#minutes.keys()]
      .filter((minuteMs) => minuteMs + MINUTE_MS + this.#graceMs <= nowMs)
      .sort((a, b) => a - b);
    return done.map((minuteMs) => {
      const counts = this.#minutes.get(minuteMs)!.toJSON();
      this.#minutes.delete(minuteMs);
      this.#publishedThrough = Math.max(this.#publishedThrough, minuteMs);
      return { minuteMs, counts };
    });
  }

  /** Minutes still being counted (for the state file). */
  pending(): LogMinute[] {
    return [...this.#minutes.entries()]
      .sort(([a], [b]) => a - b)
      .map(([minuteMs, counter]) => ({ minuteMs, counts: counter.toJSON() }));
  }

  /** Lines that arrived after their minute was handed out, and lines with no readable time, since the last call. */
  takeDropped(): { late: number; untimed: number } {
    const dropped = { late: this.#late, untimed: this.#untimed };
    this.#late = 0;
    this.#untimed = 0;
    return dropped;
  }

  #counter(minuteMs: number, saved?: LogCounts): MinuteCounter {
    return minuteCounter(this.kind, { fromMs: minuteMs, toMs: minuteMs + MINUTE_MS }, saved);
  }

  #timeOf(text: string): number | undefined {
    if (this.kind === 'error') {
      try {
        return parseErrorLogLine(text, { utcOffsetMinutes: this.#utcOffsetMinutes }).epochMs;
      } catch (error) {
        if (error instanceof ErrorLogParseError) return undefined;
        throw error;
      }
    }
    this.#lineTimeMs = undefined;
    this.#scanner.push(Buffer.from(`${text}\n`, 'latin1'));
    return this.#lineTimeMs;
  }
}

/** What the status view shows of one minute: per-upstream answers and upstream failures per kind. */
export interface UpstreamMinuteSummary {
  /** Start of the minute, epoch ms. */
  minuteMs: number;
  /** Per upstream peer (access log, gatewatch format). */
  upstreams: Record<string, UpstreamStatusCounts>;
  /** Per failure kind (error log). */
  errors: Record<string, UpstreamErrorCounts>;
}

/** Folds a finished minute of either log into a target's summary of that minute. */
export function summarizeMinute(
  previous: UpstreamMinuteSummary | undefined,
  minute: LogMinute,
): UpstreamMinuteSummary {
  // The two logs finish their minutes independently: an older minute does not replace a newer one.
  if (previous !== undefined && minute.minuteMs < previous.minuteMs) return previous;
  const summary: UpstreamMinuteSummary =
    previous !== undefined && previous.minuteMs === minute.minuteMs
      ? { ...previous }
      : { minuteMs: minute.minuteMs, upstreams: {}, errors: {} };
  const key = String(minute.minuteMs);
  if (minute.counts.kind === 'access') {
    summary.upstreams = structuredClone(minute.counts.minutes[key]?.upstreams ?? {});
  } else {
    summary.errors = structuredClone(minute.counts.minutes[key] ?? {});
  }
  return summary;
}
