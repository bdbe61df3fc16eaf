/**
 * The log-rate Lambda, invoked every minute by an EventBridge schedule: asks CloudWatch Logs Insights for
 * per-minute request and 5xx counts of every target's access-log group (server-side `stats`, one query
 * per 50 groups, no FilterLogEvents, no cursor) and writes each target's `Status5xxShare` for the newest
 * settled minute as EMF lines on stdout — only for targets with errors, so a healthy target costs no
 * custom metric (see `lambdas/core/metrics/log-rate.ts`). A query that fails or runs out of time fails
 * the invocation after the others were published, so the failure reaches the dead-letter queue.
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
  queries: number;
  /** Targets with a published share. */
  published: string[];
  /** Batches that failed, with the reason. */
  failed: string[];
}

/** A minute is read once it ended this long ago (ingestion and Logs Insights indexing). */
export const SETTLE_MS = 60_000;
/** Stop starting queries with this much of the invocation left. */
const RESERVE_MS = 5_000;

const logger = new Logger({ serviceName: 'gatewatch-log-rate' });
let deps: { targets: LogRateTarget[]; insights: CloudWatchLogsInsights } | undefined;

function wiring(): NonNullable<typeof deps> {
  const config = configFromEnvironment(process.env);
  const definitions = alarmDefinitionsForTargets(config.targets, {
    probeIntervalSeconds: AWS_SCHEDULE_SECONDS,
  });
  return {
    targets: logRateTargets(config.targets, definitions),
    insights: new CloudWatchLogsInsights(new CloudWatchLogsClient({})),
  };
}

/** Publish one run: exported for tests, which pass their own clock and clients. */
export async function runLogRate(
  run: { targets: LogRateTarget[]; insights: CloudWatchLogsInsights },
  nowMs: number,
  deadlineMs: number,
  publish: (lines: string[]) => void,
): Promise<LogRateOutcome> {
  const minuteMs = Math.floor((nowMs - SETTLE_MS) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  const range = queryRange(run.targets, minuteMs);
  const batches = queryBatches(run.targets, (range.toMs - range.fromMs) / MINUTE_MS);
  const outcome: LogRateOutcome = {
    minute: new Date(minuteMs).toISOString(),
    queries: 0,
    published: [],
    failed: [],
  };
  for (const batch of batches) {
    if (deadlineMs - Date.now() < RESERVE_MS) {
      outcome.failed.push(`${batch.length} log group(s): no time left in this run`);
      continue;
    }
    try {
      outcome.queries++;
      const rows = await run.insights.run(
        { logGroupNames: batch, ...range, queryString: LOG_RATE_QUERY },
        deadlineMs - RESERVE_MS,
      );
      const inBatch = run.targets.filter((t) => batch.includes(t.logGroup));
      const records = logRateRecords(inBatch, minuteCountsByGroup(rows), minuteMs);
      publish(emfLines(records));
      outcome.published.push(...records.map((r) => r.dimensions.Target!));
    } catch (error) {
      outcome.failed.push(`${batch.join(', ')}: ${(error as Error).message}`);
    }
  }
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
