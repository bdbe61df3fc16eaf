/**
 * The log-watch Lambda, invoked every minute by an EventBridge schedule: reads the settled minutes of
 * every target's nginx access and error log groups behind the cursor in the report bucket, and writes
 * the per-minute traffic and upstream-error metrics as EMF lines on stdout (see
 * `lambdas/core/metrics/log-watch.ts` for how no minute is skipped or counted twice). A log that cannot
 * be read fails the invocation after the others were published, so the failure reaches the dead-letter
 * queue and its alarm instead of silently leaving the error-rate alarm without data.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { LAMBDA_ENV, LOG_CURSOR_KEY } from '../../lib/workflow/lambda-wiring.ts';
import { CloudWatchLogsPageReader } from '../adapters/aws/cloudwatch-logs-page-reader.ts';
import { S3LogCursorStore } from '../adapters/aws/log-cursor-store.ts';
import { emfLines } from '../core/metrics/emf.ts';
import {
  type LogCursorStore,
  type LogPageReader,
  type LogWatchOutcome,
  LogWatchReadError,
  runLogWatch,
  type WatchedLog,
  watchedLogs,
} from '../core/metrics/log-watch.ts';
import type { MetricRecord } from '../core/metrics/records.ts';
import { configFromEnvironment } from './wiring/config.ts';
import { type Environment, requireEnv } from './wiring/environment.ts';

interface LogWatchWiring {
  logs: WatchedLog[];
  reader: LogPageReader;
  cursors: LogCursorStore;
}

function wiring(env: Environment): LogWatchWiring {
  return {
    logs: watchedLogs(configFromEnvironment(env).targets),
    reader: new CloudWatchLogsPageReader(new CloudWatchLogsClient({})),
    cursors: new S3LogCursorStore(new S3Client({}), {
      bucket: requireEnv(env, LAMBDA_ENV.logCursorBucket),
      key: env[LAMBDA_ENV.logCursorKey] || LOG_CURSOR_KEY,
    }),
  };
}

/** EMF goes to stdout as raw lines: Lambda's JSON log format wraps console output, not stdout writes. */
function publish(records: MetricRecord[]): void {
  for (const line of emfLines(records)) process.stdout.write(line);
}

const logger = new Logger({ serviceName: 'gatewatch-log-watch' });
let deps: LogWatchWiring | undefined;

async function watch(_event: unknown, context: Context): Promise<LogWatchOutcome> {
  deps ??= wiring(process.env);
  try {
    const outcome = await runLogWatch(
      { ...deps, nowMs: Date.now, remainingMs: () => context.getRemainingTimeInMillis(), publish },
      deps.logs,
    );
    logger.info('log watch run', { outcome });
    return outcome;
  } catch (error) {
    const outcome = error instanceof LogWatchReadError ? error.outcome : undefined;
    logger.error('log watch run failed', { error: error as Error, outcome });
    throw error;
  }
}

export const handler = middy<unknown, LogWatchOutcome>(watch).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
