/**
 * The log watcher: reads each target's nginx logs from CloudWatch Logs in whole minutes behind a
 * persisted cursor and publishes per-minute metrics — every minute once, none skipped, none twice.
 *
 * How it keeps that promise:
 * - **Whole minutes, settled.** A run reads only minutes that ended at least `settleMs` ago. CloudWatch
 *   Logs makes an event searchable a little after it is ingested, and the agent ships in batches; events
 *   are bucketed by their timestamp, so a minute read too early would be published short and then never
 *   again. (An event that arrives later than that — a host whose agent was down for minutes — is not
 *   counted; the run's `maxIngestionDelayMs` shows how close to the margin a log runs.)
 * - **Ranges are published whole.** Each log advances by ranges of at most `maxRangeMinutes`. A range that
 *   needs more pages than one run may read is continued in the next run with FilterLogEvents' own
 *   `nextToken` (kept in the cursor with the counts so far); its metrics are published only when its last
 *   page is read. If the token has expired, the range is read again from its start with its counts
 *   dropped — nothing of it was published, so nothing is counted twice.
 * - **Commit, then publish.** The new cursor is written with a compare-and-swap on the stored version;
 *   only a run whose write succeeded publishes. Two overlapping runs cannot both publish a minute.
 * - **Bounded work.** At most `maxPagesPerRun` pages per run, shared fairly between the logs (the first
 *   log is a different one each minute), and no new page once less than `reserveMs` of the invocation is
 *   left. A log that falls more than
 *   `maxBacklogMinutes` behind (the watcher was off for hours) skips ahead, and says how many minutes.
 *
 * Pure domain logic over two narrow ports (a page reader and a cursor store): the AWS adapters implement
 * them; the tests use fakes.
 */
import { z } from 'zod';
import {
  type LogCounts,
  LogCountsSchema,
  type LogEvent,
  type LogKind,
  MINUTE_MS,
  type MinuteCounter,
  type MinuteCountsOptions,
  minuteCounter,
} from './log-minutes.ts';
import type { MetricRecord } from './records.ts';

// ------------------------------------------------------------------------------------------ ports

/** One page of a time range of a log. */
export interface LogPageRequest {
  /** A log group name, or `<group>:<stream>` for one stream of it. */
  log: string;
  /** Range start, epoch ms, inclusive. */
  fromMs: number;
  /** Range end, epoch ms, exclusive. */
  toMs: number;
  /** Continues the same range where the previous page ended. */
  nextToken?: string;
}

export interface LogPage {
  events: LogEvent[];
  /** Present while the range has more pages (a page may be empty and still have one). */
  nextToken?: string;
}

/** Reads a log range page by page (FilterLogEvents in AWS). */
export interface LogPageReader {
  readPage(request: LogPageRequest): Promise<LogPage>;
}

/** The continuation token of a range is no longer accepted (they expire); read the range again. */
export class PageTokenExpiredError extends Error {
  override name = 'PageTokenExpiredError';
}

/** The persisted state and the version it was read at (absent before the first write). */
export interface StoredLogWatchState {
  state?: LogWatchState;
  version?: string;
}

/** Keeps the watcher's state between invocations, with a compare-and-swap write. */
export interface LogCursorStore {
  load(): Promise<StoredLogWatchState>;
  /**
   * Writes `state` if the stored version is still `expectedVersion` (`undefined`: only if nothing is
   * stored yet) and returns the new version.
   * @throws CursorConflictError when another run wrote first.
   */
  save(state: LogWatchState, expectedVersion: string | undefined): Promise<string>;
}

/** Another run changed the cursor since this run read it: this run's reading is discarded. */
export class CursorConflictError extends Error {
  override name = 'CursorConflictError';
}

/** The stored cursor is not a state this version of gatewatch wrote. */
export class CursorStateError extends Error {
  override name = 'CursorStateError';
}

/** Some logs could not be read; the others were published. Thrown after the commit and the publish. */
export class LogWatchReadError extends Error {
  override name = 'LogWatchReadError';
  readonly outcome: LogWatchOutcome;

  constructor(message: string, outcome: LogWatchOutcome, options?: { cause?: unknown }) {
    super(message, options);
    this.outcome = outcome;
  }
}

// ------------------------------------------------------------------------------------------ state

const minuteMs = z
  .number()
  .int()
  .refine((ms) => ms % MINUTE_MS === 0, 'must be a minute boundary (epoch ms)');

const PendingRangeSchema = z
  .object({
    fromMs: minuteMs,
    toMs: minuteMs,
    nextToken: z.string().min(1),
    pages: z.number().int().positive(),
    counts: LogCountsSchema,
  })
  .refine((range) => range.toMs > range.fromMs, 'toMs must be after fromMs');
export type PendingRange = z.infer<typeof PendingRangeSchema>;

const LogCursorSchema = z.object({
  /** Every minute before this one (epoch ms) has been read and published. */
  doneBeforeMs: minuteMs,
  /** A range started but not finished; it begins at `doneBeforeMs`. */
  pending: PendingRangeSchema.optional(),
});
export type LogCursor = z.infer<typeof LogCursorSchema>;

export const LogWatchStateSchema = z.object({
  version: z.literal(1),
  /** By {@link WatchedLog.key}. */
  cursors: z.record(z.string(), LogCursorSchema),
});
export type LogWatchState = z.infer<typeof LogWatchStateSchema>;

/** Validates a stored state document. */
export function parseLogWatchState(document: unknown, source: string): LogWatchState {
  const result = LogWatchStateSchema.safeParse(document);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
  throw new CursorStateError(
    `${source} is not a gatewatch log-watch cursor (${problems.slice(0, 3).join('; ')}); delete it to start again from the current minute`,
  );
}

// ------------------------------------------------------------------------------------------ logs

/** One log the watcher follows. */
export interface WatchedLog {
  /** `<target>/<kind>`: the cursor's key. */
  key: string;
  target: string;
  kind: LogKind;
  /** Log group, or `<group>:<stream>`. */
  log: string;
}

/** What the watcher needs of a target: its name and its CloudWatch Logs groups. */
export interface WatchedTargetInput {
  name: string;
  aws?: { logGroups: { error: string; access?: string | undefined } } | undefined;
}

/** The logs of every target that has them in CloudWatch Logs: the access log first, then the error log. */
export function watchedLogs(targets: readonly WatchedTargetInput[]): WatchedLog[] {
  return targets.flatMap((target) => {
    const groups = target.aws?.logGroups;
    if (groups === undefined) return [];
    const logs: WatchedLog[] = [];
    if (groups.access !== undefined) {
      logs.push({ key: `${target.name}/access`, target: target.name, kind: 'access', log: groups.access });
    }
    logs.push({ key: `${target.name}/error`, target: target.name, kind: 'error', log: groups.error });
    return logs;
  });
}

// ------------------------------------------------------------------------------------------ run

export interface LogWatchOptions extends MinuteCountsOptions {
  /** How long after its end a minute is read. @default 60000 */
  settleMs?: number;
  /** Longest range (published as one). @default 5 */
  maxRangeMinutes?: number;
  /** How far behind a log may be before the watcher skips ahead. @default 180 */
  maxBacklogMinutes?: number;
  /**
   * Pages read per run, over all logs. @default 50, or two per log when there are more than 25 logs (a
   * log with traffic needs a page every minute to keep up)
   */
  maxPagesPerRun?: number;
  /** No new page is started with less than this left in the invocation (ms). @default 10000 */
  reserveMs?: number;
}

export interface LogWatchDeps {
  reader: LogPageReader;
  cursors: LogCursorStore;
  nowMs: () => number;
  /** Time left in the invocation, ms. */
  remainingMs: () => number;
  /** Publishes the metrics of the completed ranges; called once, after the cursor is committed. */
  publish: (records: MetricRecord[]) => void;
}

/** What a run did with one log. */
export interface LogProgress {
  key: string;
  log: string;
  pages: number;
  events: number;
  /** Ranges whose metrics this run published. */
  rangesCompleted: number;
  /** Every minute before this is published. */
  doneBefore: string;
  /** Whole settled minutes still to read after this run. */
  behindMinutes: number;
  /** A range left for the next run. */
  pending?: { from: string; to: string; pages: number };
  /** Minutes skipped because the log was more than `maxBacklogMinutes` behind. */
  skippedMinutes: number;
  /** Ranges read again from the start because their continuation token had expired. */
  restartedRanges: number;
  /** Largest ingestion delay seen in the ranges this run completed, ms (compare with `settleMs`). */
  maxIngestionDelayMs: number;
  /** Why the log could not be read this run. */
  error?: string;
}

export interface LogWatchOutcome {
  /**
   * `committed`: the cursor was written and the records published; `unchanged`: nothing new to read;
   * `superseded`: another run committed first, nothing was published.
   */
  status: 'committed' | 'unchanged' | 'superseded';
  /** Metric records published. */
  records: number;
  logs: LogProgress[];
}

const DEFAULTS = {
  settleMs: 60_000,
  maxRangeMinutes: 5,
  maxBacklogMinutes: 180,
  maxPagesPerRun: 50,
  reserveMs: 10_000,
} as const;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

interface ActiveRange {
  fromMs: number;
  toMs: number;
  nextToken?: string;
  pages: number;
  counter: MinuteCounter;
}

/** One run of the log watcher over `logs`. */
export async function runLogWatch(
  deps: LogWatchDeps,
  logs: readonly WatchedLog[],
  options: LogWatchOptions = {},
): Promise<LogWatchOutcome> {
  const settings = withDefaults({
    maxPagesPerRun: Math.max(DEFAULTS.maxPagesPerRun, 2 * logs.length),
    ...options,
  });
  const stored = await deps.cursors.load();
  const previous = stored.state ?? { version: 1, cursors: {} };
  const nowMs = deps.nowMs();
  const closeMs = Math.floor((nowMs - settings.settleMs) / MINUTE_MS) * MINUTE_MS;
  const oldestMs = closeMs - settings.maxBacklogMinutes * MINUTE_MS;

  const next: LogWatchState = { version: 1, cursors: {} };
  const records: MetricRecord[] = [];
  const progress: LogProgress[] = [];
  const failures: unknown[] = [];
  let pagesLeft = settings.maxPagesPerRun;

  // Start with a different log each minute, so a busy log early in the list cannot starve the others.
  const start = logs.length === 0 ? 0 : Math.floor(nowMs / MINUTE_MS) % logs.length;
  const ordered = [...logs.slice(start), ...logs.slice(0, start)];
  for (const [index, log] of ordered.entries()) {
    const saved = previous.cursors[log.key];
    // A log seen for the first time starts with the last settled minute, not with its whole history.
    let cursor: LogCursor = saved ? usableCursor(saved, log) : { doneBeforeMs: closeMs - MINUTE_MS };
    const item: LogProgress = {
      key: log.key,
      log: log.log,
      pages: 0,
      events: 0,
      rangesCompleted: 0,
      doneBefore: '',
      behindMinutes: 0,
      skippedMinutes: 0,
      restartedRanges: 0,
      maxIngestionDelayMs: 0,
    };
    if (cursor.doneBeforeMs < oldestMs) {
      item.skippedMinutes = (oldestMs - cursor.doneBeforeMs) / MINUTE_MS;
      cursor = { doneBeforeMs: oldestMs };
    }
    const share = Math.max(0, Math.floor(pagesLeft / (ordered.length - index)));
    let budget = Math.max(share, pagesLeft > 0 ? 1 : 0);
    let active: ActiveRange | undefined;
    while (budget > 0 && deps.remainingMs() > settings.reserveMs) {
      active ??= resume(log, cursor, closeMs, settings);
      if (active === undefined) break;
      let page: Awaited<ReturnType<LogPageReader['readPage']>>;
      try {
        page = await deps.reader.readPage({
          log: log.log,
          fromMs: active.fromMs,
          toMs: active.toMs,
          ...(active.nextToken === undefined ? {} : { nextToken: active.nextToken }),
        });
      } catch (error) {
        if (error instanceof PageTokenExpiredError && active.nextToken !== undefined) {
          budget--;
          pagesLeft--;
          item.restartedRanges++;
          cursor = { doneBeforeMs: cursor.doneBeforeMs };
          active = undefined;
          continue;
        }
        failures.push(error);
        item.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        break;
      }
      budget--;
      pagesLeft--;
      item.pages++;
      item.events += page.events.length;
      for (const event of page.events) active.counter.add(event);
      active.pages++;
      if (page.nextToken) {
        active.nextToken = page.nextToken;
        continue;
      }
      const counts = active.counter.toJSON();
      item.maxIngestionDelayMs = Math.max(item.maxIngestionDelayMs, counts.maxIngestionDelayMs);
      records.push(...active.counter.records(log.target));
      item.rangesCompleted++;
      cursor = { doneBeforeMs: active.toMs };
      active = undefined;
    }
    if (active?.nextToken !== undefined) {
      cursor = {
        doneBeforeMs: cursor.doneBeforeMs,
        pending: {
          fromMs: active.fromMs,
          toMs: active.toMs,
          nextToken: active.nextToken,
          pages: active.pages,
          counts: active.counter.toJSON(),
        },
      };
    }
    next.cursors[log.key] = cursor;
    item.doneBefore = iso(cursor.doneBeforeMs);
    item.behindMinutes = Math.max(0, (closeMs - cursor.doneBeforeMs) / MINUTE_MS);
    if (cursor.pending) {
      item.pending = {
        from: iso(cursor.pending.fromMs),
        to: iso(cursor.pending.toMs),
        pages: cursor.pending.pages,
      };
    }
    progress.push(item);
  }
  progress.sort((a, b) => logs.findIndex((l) => l.key === a.key) - logs.findIndex((l) => l.key === b.key));

  const outcome: LogWatchOutcome = { status: 'committed', records: records.length, logs: progress };
  if (stored.state !== undefined && sameState(previous, next)) {
    outcome.status = 'unchanged';
  } else {
    try {
      await deps.cursors.save(next, stored.version);
    } catch (error) {
      if (!(error instanceof CursorConflictError)) throw error;
      return { status: 'superseded', records: 0, logs: progress };
    }
    if (records.length > 0) deps.publish(records);
  }
  if (failures.length > 0) {
    const failed = progress
      .filter((p) => p.error !== undefined)
      .map((p) => `${p.key} (${p.log}): ${p.error}`);
    throw new LogWatchReadError(
      `could not read ${failed.length} of ${logs.length} logs; the others were published: ${failed.join('; ')}`,
      outcome,
      { cause: failures[0] },
    );
  }
  return outcome;
}

type Settings = { -readonly [K in keyof typeof DEFAULTS]: number } & MinuteCountsOptions;

function withDefaults(options: LogWatchOptions): Settings {
  const settings: Settings = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) (settings as unknown as Record<string, number>)[name] = value;
  }
  return settings;
}

/** A stored cursor, without a pending range that does not fit it (another log kind, another start). */
function usableCursor(saved: LogCursor, log: WatchedLog): LogCursor {
  const pending = saved.pending;
  if (pending !== undefined && pending.counts.kind === log.kind && pending.fromMs === saved.doneBeforeMs) {
    return structuredClone(saved);
  }
  return { doneBeforeMs: saved.doneBeforeMs };
}

/** The range a log continues with: its pending one, or the next one up to the settled minutes. */
function resume(
  log: WatchedLog,
  cursor: LogCursor,
  closeMs: number,
  settings: Settings,
): ActiveRange | undefined {
  const pending = cursor.pending;
  if (pending !== undefined) {
    return {
      fromMs: pending.fromMs,
      toMs: pending.toMs,
      nextToken: pending.nextToken,
      pages: pending.pages,
      counter: minuteCounter(log.kind, pending, pending.counts as LogCounts, settings),
    };
  }
  if (cursor.doneBeforeMs >= closeMs) return undefined;
  const range = {
    fromMs: cursor.doneBeforeMs,
    toMs: Math.min(cursor.doneBeforeMs + settings.maxRangeMinutes * MINUTE_MS, closeMs),
  };
  return { ...range, pages: 0, counter: minuteCounter(log.kind, range, undefined, settings) };
}

function sameState(a: LogWatchState, b: LogWatchState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
