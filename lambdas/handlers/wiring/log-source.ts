import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CloudWatchLogsLogSource } from '../../adapters/aws/cloudwatch-logs-log-source.ts';
import type { LogSource } from '../../ports.ts';
import type { Environment } from './environment.ts';

/**
 * Wall-clock budget of one log read in the GatherNginxEvidence Lambda (115 s): the error log and then the
 * access log each get 45 s, leaving time to store the evidence. A read that runs out is partial
 * evidence, reported as such, never a timed-out Task.
 */
export const LOG_READ_BUDGET_MS = 45_000;

/** The targets' CloudWatch Logs groups (named per target in the configuration). */
export function logSourceFromEnvironment(_env: Environment): LogSource {
  return new CloudWatchLogsLogSource(new CloudWatchLogsClient({}), { readBudgetMs: LOG_READ_BUDGET_MS });
}
