import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CloudWatchLogsLogSource } from '../../adapters/aws/cloudwatch-logs-log-source.ts';
import type { LogSource } from '../../ports.ts';
import type { Environment } from './environment.ts';

/** The targets' CloudWatch Logs groups (named per target in the configuration). */
export function logSourceFromEnvironment(_env: Environment): LogSource {
  return new CloudWatchLogsLogSource(new CloudWatchLogsClient({}));
}
