/**
 * The log-rate Lambda, invoked every minute by an EventBridge schedule: asks CloudWatch Logs Insights for
 * per-minute request and 5xx counts of every target's access-log group (server-side `stats`, one query
 * per 50 groups, no FilterLogEvents, no cursor) and writes each target's `Status5xxShare` as EMF lines on
 * stdout — only for targets with errors, so a healthy target costs no custom metric (see
 * `lambdas/core/metrics/log-rate.ts`).
 *
 * **Start now, collect next minute.** A Logs Insights query takes seconds, and a Lambda waiting for it is
 * billed for every one of them (at 256 MB, 3 s a minute is $0.47 a month, more than everything else a
 * one-target deployment costs). So each run starts the query for the newest settled minute and leaves it
 * running, and publishes the minute before it from the query the previous run started, which is
 * complete by then. A run that has no such query (a new execution environment, a missed run) starts one
 * for that minute and waits for it, as before. The price is one minute of detection delay.
 *
 * A query that fails or runs out of time fails the invocation after the others were published, so the
 * failure reaches the dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { AWS_SCHEDULE_SECONDS } from '../../lib/workflow/lambda-wiring.ts';
import { CloudWatchLogsInsights } from '../adapters/aws/cloudwatch-logs-insights.ts';
import { alarmDefinitionsForTargets } from '../core/alarm/definitions.ts';
import { emfLines } from '../core/metrics/emf.ts';
import { MINUTE_MS } from '../core/metrics/log-minutes.ts';
import {
  LOG_RATE_QUERY,
  type LogRateTarget,
  logRateRecords,
  logRateTargets,
  minuteCountsByGroup,
  queryBatches,
  queryRange,
} from '../core/metrics/log-rate.ts';
import { configFromEnvironment } from './wiring/config.ts';

/** What a run did. */
export interface LogRateOutcome {
  /** The minute published (ISO-8601). */
  minute: string;
  /** Queries started by this run (for this minute when waited for, and for the next one). */
  queries: number;
  /** Batches whose result this run collected from the query the previous run started. */
  collected: number;
  /** Targets with a published share. */
  published: string[];
  /** Batches that failed, with the reason. */
  failed: string[];
}

/** Queries started for a minute and left running, by batch (its log groups joined with a newline). */
export interface PendingQueries {
  minuteMs: number;
  queryIds: Map<string, string>;
}

/** A run's dependencies and what it leaves for the next run of the same execution environment. */
export interface LogRateRun {
  targets: LogRateTarget[];
  insights: CloudWatchLogsInsights;
  pending?: PendingQueries | undefined;
}

/** A minute is read once it ended this long ago (ingestion and Logs Insights indexing). */
export const SETTLE_MS = 60_000;
/** Stop starting queries with this much of the invocation left. */
const RESERVE_MS = 5_000;

const logger = new Logger({ serviceName: 'gatewatch-log-rate' });
let deps: LogRateRun | undefined;

function wiring(): LogRateRun {
  const config = configFromEnvironment(process.env);
  const definitions = alarmDefinitionsForTargets(config.targets, {
    probeIntervalSeconds: AWS_SCHEDULE_SECONDS,
  });
  return {
    targets: logRateTargets(config.targets, definitions),
    insights: new CloudWatchLogsInsights(new CloudWatchLogsClient({})),
  };
}

/**
 * Publish one run: exported for tests, which pass their own clock and clients. The minute published is
 * the one before the newest settled minute; the query for the newest is started and left in
 * `run.pending` for the next run.
 */
export async function runLogRate(
  run: LogRateRun,
  nowMs: number,
  deadlineMs: number,
  publish: (lines: string[]) => void,
): Promise<LogRateOutcome> {
  const newestMs = Math.floor((nowMs - SETTLE_MS) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  const minuteMs = newestMs - MINUTE_MS;
  const range = queryRange(run.targets, minuteMs);
  const batches = queryBatches(run.targets, (range.toMs - range.fromMs) / MINUTE_MS);
  const ready = run.pending?.minuteMs === minuteMs ? run.pending.queryIds : new Map<string, string>();
  const outcome: LogRateOutcome = {
    minute: new Date(minuteMs).toISOString(),
    queries: 0,
    collected: 0,
    published: [],
    failed: [],
  };
  for (const batch of batches) {
    if (deadlineMs - Date.now() < RESERVE_MS) {
      outcome.failed.push(`${batch.length} log group(s): no time left in this run`);
      continue;
    }
    try {
      const started = ready.get(batch.join('\n'));
      let queryId = started;
      if (queryId === undefined) {
        outcome.queries++;
        queryId = await run.insights.start({ logGroupNames: batch, ...range, queryString: LOG_RATE_QUERY });
      } else outcome.collected++;
      const rows = await run.insights.results(queryId, deadlineMs - RESERVE_MS);
      const inBatch = run.targets.filter((t) => batch.includes(t.logGroup));
      const records = logRateRecords(inBatch, minuteCountsByGroup(rows), minuteMs);
      publish(emfLines(records));
      outcome.published.push(...records.map((r) => r.dimensions.Target!));
    } catch (error) {
      outcome.failed.push(`${batch.join(', ')}: ${(error as Error).message}`);
    }
  }

  // The next minute's queries, left running for the next run to collect.
  const next: PendingQueries = { minuteMs: newestMs, queryIds: new Map() };
  const nextRange = queryRange(run.targets, newestMs);
  for (const batch of queryBatches(run.targets, (nextRange.toMs - nextRange.fromMs) / MINUTE_MS)) {
    if (deadlineMs - Date.now() < RESERVE_MS) break;
    try {
      outcome.queries++;
      next.queryIds.set(
        batch.join('\n'),
        await run.insights.start({ logGroupNames: batch, ...nextRange, queryString: LOG_RATE_QUERY }),
      );
    } catch {
      // Not a failure of this run: the next run starts this batch's query itself and waits for it.
    }
  }
  run.pending = next;
  return outcome;
}

/** The log-rate run did not read every log group. */
export class LogRateRunError extends Error {
  override name = 'LogRateRunError';
}

async function rate(_event: unknown, context: Context): Promise<LogRateOutcome> {
  deps ??= wiring();
  const now = Date.now();
  // EMF goes to stdout as raw lines: Lambda's JSON log format wraps console output, not stdout writes.
  const outcome = await runLogRate(deps, now, now + context.getRemainingTimeInMillis(), (lines) => {
    for (const line of lines) process.stdout.write(line);
  });
  logger.info('log rate run', { outcome });
  if (outcome.failed.length > 0) {
    throw new LogRateRunError(
      `could not read ${outcome.failed.length} batch(es): ${outcome.failed.join('; ')}`,
    );
  }
  return outcome;
}

export const handler = middy<unknown, LogRateOutcome>(rate).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
