/**
 * nginx log events counted per minute, for the log watcher's metrics. Events are bucketed by their
 * CloudWatch Logs timestamp — the same clock the watcher's cursor and ranges use — so a minute belongs to
 * exactly one range and is published exactly once. The counts are plain JSON: a range that takes several
 * invocations to read carries them in the cursor until it is complete.
 *
 * - access log (gatewatch format or `combined`): per target `Requests`, `Status5xx`, `Status502`,
 *   `Status504` (every minute of the range, zeros included: no traffic is a fact), and per upstream peer the same counts
 *   over its attempts and their `$upstream_status` (gatewatch format only);
 * - error log: per target and failure kind (`refused`, `read-timeout`, …) `UpstreamErrors`, as
 *   `classifyUpstreamFailure` reads the line, with the peers as a property.
 */
import { z } from 'zod';
import { AccessLogScanner, OTHER_PEERS } from '../nginx/access-log.ts';
import { classifyUpstreamFailure, ErrorLogParseError, parseErrorLogLine } from '../nginx/error-log.ts';
import { dimensionValue } from './emf.ts';
import { DIMENSION_NAMES, METRIC_NAMES, type MetricRecord } from './records.ts';

export const MINUTE_MS = 60_000;

/** Peers remembered per minute (and per failure kind); more are counted under `(other)`. */
export const MAX_TRACKED_PEERS = 100;

/** One log event as CloudWatch Logs returns it. */
export interface LogEvent {
  /** The event's timestamp (epoch ms): from the log line when the agent parses it, else the read time. */
  timestampMs: number;
  /** The log line (the agent ships one line per event; several are read as several lines). */
  message: string;
  /** When CloudWatch Logs ingested it (epoch ms). */
  ingestionMs?: number;
}

const count = z.number().int().nonnegative();
const StatusCountsSchema = z.object({
  requests: count,
  status5xx: count,
  status502: count,
  status504: count,
});
type StatusCounts = z.infer<typeof StatusCountsSchema>;

const RangeStatsSchema = {
  events: count,
  lines: count,
  malformed: count,
  outsideRange: count,
  maxIngestionDelayMs: z.number().nonnegative(),
};

export const AccessCountsSchema = z.object({
  kind: z.literal('access'),
  ...RangeStatsSchema,
  minutes: z.record(
    z.string().regex(/^\d+$/),
    StatusCountsSchema.extend({ malformed: count, upstreams: z.record(z.string(), StatusCountsSchema) }),
  ),
});
export type AccessCounts = z.infer<typeof AccessCountsSchema>;

export const ErrorCountsSchema = z.object({
  kind: z.literal('error'),
  ...RangeStatsSchema,
  minutes: z.record(
    z.string().regex(/^\d+$/),
    z.record(z.string(), z.object({ count, peers: z.record(z.string(), count) })),
  ),
});
export type ErrorCounts = z.infer<typeof ErrorCountsSchema>;

/** The counts of a range in progress, as persisted. */
export const LogCountsSchema = z.discriminatedUnion('kind', [AccessCountsSchema, ErrorCountsSchema]);
export type LogCounts = z.infer<typeof LogCountsSchema>;
export type LogKind = LogCounts['kind'];

export interface MinuteCountsOptions {
  /** Upstream peers published per target and minute; the rest are summed as `(other)`. @default 20 */
  maxUpstreams?: number;
}

/** Counts one range [fromMs, toMs) of one log. */
export interface MinuteCounter {
  add(event: LogEvent): void;
  /** The counts so far, to persist while the range is incomplete. */
  toJSON(): LogCounts;
  /** The range's metric records for `target`, once every page of the range has been added. */
  records(target: string): MetricRecord[];
}

/** A counter for a range of `kind`, resuming from persisted counts when given. */
export function minuteCounter(
  kind: LogKind,
  range: { fromMs: number; toMs: number },
  saved?: LogCounts,
  options: MinuteCountsOptions = {},
): MinuteCounter {
  if (saved !== undefined && saved.kind !== kind) {
    throw new RangeError(`persisted counts are for a ${saved.kind} log, not ${kind}`);
  }
  return kind === 'access'
    ? new AccessMinutes(range, saved as AccessCounts | undefined, options)
    : new ErrorMinutes(range, saved as ErrorCounts | undefined);
}

function emptyStatus(): StatusCounts {
  return { requests: 0, status5xx: 0, status502: 0, status504: 0 };
}

function countStatus(counts: StatusCounts, status: number): void {
  counts.requests++;
  if (status >= 500 && status <= 599) {
    counts.status5xx++;
    if (status === 502) counts.status502++;
    else if (status === 504) counts.status504++;
  }
}

function statusMetrics(counts: StatusCounts): MetricRecord['metrics'] {
  return [
    { name: METRIC_NAMES.requests, unit: 'Count', value: counts.requests },
    { name: METRIC_NAMES.status5xx, unit: 'Count', value: counts.status5xx },
    { name: METRIC_NAMES.status502, unit: 'Count', value: counts.status502 },
    { name: METRIC_NAMES.status504, unit: 'Count', value: counts.status504 },
  ];
}

function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** Shared bookkeeping: range bounds, ingestion delay, events outside the range. */
abstract class RangeCounter<T extends LogCounts> implements MinuteCounter {
  protected readonly fromMs: number;
  protected readonly toMs: number;
  protected readonly counts: T;

  constructor(range: { fromMs: number; toMs: number }, counts: T) {
    if (range.fromMs % MINUTE_MS !== 0 || range.toMs % MINUTE_MS !== 0 || range.toMs <= range.fromMs) {
      throw new RangeError(`a range is whole minutes [from, to), got [${range.fromMs}, ${range.toMs})`);
    }
    this.fromMs = range.fromMs;
    this.toMs = range.toMs;
    this.counts = counts;
  }

  add(event: LogEvent): void {
    this.counts.events++;
    if (event.ingestionMs !== undefined) {
      const delay = event.ingestionMs - event.timestampMs;
      if (delay > this.counts.maxIngestionDelayMs) this.counts.maxIngestionDelayMs = delay;
    }
    // FilterLogEvents answers the range it was asked; anything else is counted, not published.
    if (event.timestampMs < this.fromMs || event.timestampMs >= this.toMs) {
      this.counts.outsideRange++;
      return;
    }
    this.addLines(minuteOf(event.timestampMs), event.message);
  }

  protected abstract addLines(minute: number, message: string): void;

  toJSON(): T {
    return structuredClone(this.counts);
  }

  abstract records(target: string): MetricRecord[];
}

const encoder = new TextEncoder();

class AccessMinutes extends RangeCounter<AccessCounts> {
  readonly #maxUpstreams: number;
  readonly #scanner: AccessLogScanner;
  #minute: AccessCounts['minutes'][string] | undefined;

  constructor(
    range: { fromMs: number; toMs: number },
    saved: AccessCounts | undefined,
    options: MinuteCountsOptions,
  ) {
    super(
      range,
      saved === undefined
        ? {
            kind: 'access',
            events: 0,
            lines: 0,
            malformed: 0,
            outsideRange: 0,
            maxIngestionDelayMs: 0,
            minutes: {},
          }
        : structuredClone(saved),
    );
    this.#maxUpstreams = Math.max(0, options.maxUpstreams ?? 20);
    this.#scanner = new AccessLogScanner((record) => {
      const minute = this.#minute!;
      countStatus(minute, record.status);
      for (let k = 0; k < record.attempts; k++) {
        let peer = this.#scanner.peerName(record.peerIds[k]!);
        if (
          !Object.hasOwn(minute.upstreams, peer) &&
          Object.keys(minute.upstreams).length >= MAX_TRACKED_PEERS
        ) {
          peer = OTHER_PEERS;
        }
        minute.upstreams[peer] ??= emptyStatus();
        const upstream = minute.upstreams[peer]!;
        // `-` (no status: the client went away first) is an attempt without an answer.
        countStatus(upstream, record.upstreamStatus[k]!);
      }
    });
  }

  protected addLines(minute: number, message: string): void {
    const key = String(minute);
    this.counts.minutes[key] ??= { ...emptyStatus(), malformed: 0, upstreams: {} };
    this.#minute = this.counts.minutes[key];
    const before = this.#scanner.counts;
    this.#scanner.push(encoder.encode(message.endsWith('\n') ? message : `${message}\n`));
    const after = this.#scanner.counts;
    this.counts.lines += after.lines - before.lines;
    this.counts.malformed += after.malformed - before.malformed;
    this.#minute.malformed += after.malformed - before.malformed;
  }

  records(target: string): MetricRecord[] {
    const records: MetricRecord[] = [];
    const targetDimension = { [DIMENSION_NAMES.target]: target };
    for (let minute = this.fromMs; minute < this.toMs; minute += MINUTE_MS) {
      const counts = this.counts.minutes[String(minute)] ?? { ...emptyStatus(), malformed: 0, upstreams: {} };
      // The alarmed share is derived over the error-rate window (`error-rate.ts`), not per minute here.
      const metrics = statusMetrics(counts);
      records.push({
        atMs: minute,
        dimensions: targetDimension,
        metrics,
        ...(counts.malformed > 0 ? { properties: { malformedLines: counts.malformed } } : {}),
      });
      for (const [peer, upstream] of this.#topUpstreams(counts.upstreams)) {
        records.push({
          atMs: minute,
          dimensions: { ...targetDimension, [DIMENSION_NAMES.upstream]: dimensionValue(peer) },
          metrics: statusMetrics(upstream),
        });
      }
    }
    return records;
  }

  /** The busiest peers by attempts, the rest summed as `(other)`: the number of metrics stays bounded. */
  #topUpstreams(upstreams: Record<string, StatusCounts>): [string, StatusCounts][] {
    const sorted = Object.entries(upstreams).sort(
      ([a, x], [b, y]) => y.requests - x.requests || a.localeCompare(b),
    );
    const kept = sorted.filter(([peer]) => peer !== OTHER_PEERS).slice(0, this.#maxUpstreams);
    const keptPeers = new Set(kept.map(([peer]) => peer));
    const rest = emptyStatus();
    let folded = false;
    for (const [peer, counts] of sorted) {
      if (keptPeers.has(peer)) continue;
      folded = true;
      rest.requests += counts.requests;
      rest.status5xx += counts.status5xx;
      rest.status502 += counts.status502;
      rest.status504 += counts.status504;
    }
    return folded ? [...kept, [OTHER_PEERS, rest]] : kept;
  }
}

class ErrorMinutes extends RangeCounter<ErrorCounts> {
  constructor(range: { fromMs: number; toMs: number }, saved: ErrorCounts | undefined) {
    super(
      range,
      saved === undefined
        ? {
            kind: 'error',
            events: 0,
            lines: 0,
            malformed: 0,
            outsideRange: 0,
            maxIngestionDelayMs: 0,
            minutes: {},
          }
        : structuredClone(saved),
    );
  }

  protected addLines(minute: number, message: string): void {
    for (const line of message.split('\n')) {
      if (line.trim() === '') continue;
      this.counts.lines++;
      let failure: ReturnType<typeof classifyUpstreamFailure>;
      try {
        failure = classifyUpstreamFailure(parseErrorLogLine(line));
      } catch (error) {
        if (!(error instanceof ErrorLogParseError)) throw error;
        this.counts.malformed++;
        continue;
      }
      if (failure === undefined) continue;
      const key = String(minute);
      this.counts.minutes[key] ??= {};
      const kinds = this.counts.minutes[key];
      kinds[failure.kind] ??= { count: 0, peers: {} };
      const kind = kinds[failure.kind]!;
      kind.count++;
      let peer = failure.peer ?? '-';
      if (!Object.hasOwn(kind.peers, peer) && Object.keys(kind.peers).length >= MAX_TRACKED_PEERS) {
        peer = OTHER_PEERS;
      }
      kind.peers[peer] = (kind.peers[peer] ?? 0) + 1;
    }
  }

  records(target: string): MetricRecord[] {
    const records: MetricRecord[] = [];
    for (let minute = this.fromMs; minute < this.toMs; minute += MINUTE_MS) {
      const kinds = this.counts.minutes[String(minute)] ?? {};
      for (const kind of Object.keys(kinds).sort()) {
        const { count: failures, peers } = kinds[kind]!;
        records.push({
          atMs: minute,
          dimensions: { [DIMENSION_NAMES.target]: target, [DIMENSION_NAMES.kind]: kind },
          metrics: [{ name: METRIC_NAMES.upstreamErrors, unit: 'Count', value: failures }],
          properties: { peers: { ...peers } },
        });
      }
    }
    return records;
  }
}
